"""The conventions of the handouts students get, as the lab recognises them.

    handout   CS:APP (the book's lab, CMU 15-213 before 2016)   CMU 15-213 (F16 and later)
    mm.h      int mm_init(void); team_t and `extern team_t team`   bool mm_init(void);
                                                                 bool mm_checkheap(int lineno)
    mm.c      defines mm_malloc, mm_free, mm_realloc            defines malloc, free, realloc,
                                                                 calloc, renamed to mm_* by
                                                                 `#define malloc mm_malloc`
                                                                 under -DDRIVER
    checker   int mm_checkheap(int verbose): nonzero = broken    bool: false = broken
              (or void, complaining by exiting)
    align     8 (config.h's ALIGNMENT)                          16

Both headers live in asm/malloclab/include/mm.h, one file: the CMU half is
chosen by -DEMU_HANDOUT_CMU, which the build adds when the source declares
`bool mm_init` (handout_of). Every lab build gets -DDRIVER.

What the driver calls must be called as the allocator declared it: a bool
comes back in al alone, so reading a bool mm_init's result as an int reads
garbage in the upper bits. signatures_of() reads the declared return types of
mm_init and mm_checkheap, and whether mm_calloc exists, from the program's
debug information (the compiler's word, not a guess from the text).
"""

from __future__ import annotations

import re

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from .image import RET_BOOL, RET_INT, RET_VOID, Signatures

CSAPP, CMU = "csapp", "cmu"
_BOOL_INIT = re.compile(r"\b(bool|_Bool)\s+mm_init\s*\(")
_BOOL_NAMES = {"_Bool", "bool"}
_LOOKED_FOR = {"mm_init", "mm_checkheap", "mm_calloc"}


def handout_of(source: str) -> str:
    """CMU when the allocator's source declares `bool mm_init`, else CS:APP."""
    return CMU if _BOOL_INIT.search(_without_comments(source)) else CSAPP


def _without_comments(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
    return re.sub(r"//[^\n]*", " ", source)


def signatures_of(elf_path: str, skip_units=("driver.c", "calls.c", "ranges.c", "pie.c",
                                             "memlib.c", "libc.c", "math.c")) -> Signatures:
    """The return types of mm_init and mm_checkheap as defined (not declared) in
    the program, and whether it defines mm_calloc. Without debug information:
    CS:APP's int, no checker, no calloc."""
    found = {}
    try:
        with open(elf_path, "rb") as handle:
            elf = ELFFile(handle)
            if not elf.has_dwarf_info():
                return Signatures()
            for unit in elf.get_dwarf_info().iter_CUs():
                name = unit.get_top_DIE().attributes.get("DW_AT_name")
                unit_name = name.value.decode(errors="replace") if name else ""
                if unit_name.endswith(skip_units):
                    continue
                found.update(_definitions(unit))
    except (OSError, ELFError):
        return Signatures()
    return Signatures(init_returns=found.get("mm_init", RET_INT),
                      checkheap_returns=found.get("mm_checkheap"),
                      has_calloc="mm_calloc" in found)


def _definitions(unit) -> dict[str, int]:
    """{name: RET_*} for the external functions we look for defined in `unit`."""
    out = {}
    for die in unit.iter_DIEs():
        if die.tag != "DW_TAG_subprogram":
            continue
        attrs = die.attributes
        name = attrs.get("DW_AT_name")
        if name is None or attrs.get("DW_AT_declaration") or not attrs.get("DW_AT_external"):
            continue
        text = name.value.decode(errors="replace")
        if text in _LOOKED_FOR:
            out[text] = _returns(die)
    return out


def _returns(die) -> int:
    """RET_VOID, RET_BOOL or RET_INT for a subprogram DIE (typedefs followed)."""
    if "DW_AT_type" not in die.attributes:
        return RET_VOID
    kind = die.get_DIE_from_attribute("DW_AT_type")
    for _ in range(8):
        if kind.tag not in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type") \
                or "DW_AT_type" not in kind.attributes:
            break
        kind = kind.get_DIE_from_attribute("DW_AT_type")
    name = kind.attributes.get("DW_AT_name")
    if name is not None and name.value.decode(errors="replace") in _BOOL_NAMES:
        return RET_BOOL
    return RET_INT

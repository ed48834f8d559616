"""A student allocator's block format, declared next to its mm.c, for the
detailed heap view.

Every allocator gets the payload view (what the driver knows: each live
payload, and the rest of the heap). One whose blocks start with a size word
can say so in NAME.layout.toml beside NAME.c (or any file given to --layout),
and the heap view then walks its heap block by block as `heap` does for the
project's allocators:

    # mm.layout.toml: an implicit list with CS:APP boundary tags
    first_header = 4          # bytes from mem_heap_lo() to the first header
                              # (CS:APP: a pad word, then the prologue's header)
    header_bytes = 4          # 4 or 8: how wide the header word is
    size_mask = 0xfffffff8    # header & size_mask = the block's size, header included
    allocated_bit = 0x1       # header & allocated_bit: the block is allocated

    heap_lo + first_header -> [header | payload ...........][header | ...]
                               size = header & size_mask ---^
    The walk steps from header to header by the size and stops at a block of
    size 0 (CS:APP's epilogue) or at the break; the first size that makes no
    sense ends it with a "corrupt" block saying why.

Optional keys say more, for the malloc lab's heap-checker test (corrupt.py),
which damages the heap where the declaration says the metadata is:

    footers = "free"          # "none", "free" (free blocks end with a copy of
                              # the header) or "all" (every block does)
    next_offset = 0           # a free block's next-free pointer: bytes from the
    prev_offset = 8           # payload; 8-byte pointers to the other block's
                              # payload, 0 ends a list (leave both out for an
                              # implicit list; prev_offset out for a singly
                              # linked one)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..heap import ALLOCATED, CORRUPT, FREE, Block, Memory
from ..userfiles import read_user_text

KEYS = ("first_header", "header_bytes", "size_mask", "allocated_bit")
FOOTERS = ("none", "free", "all")
OPTIONAL = ("footers", "next_offset", "prev_offset")


@dataclass(frozen=True)
class HeapLayout:
    first_header: int
    header_bytes: int
    size_mask: int
    allocated_bit: int
    source: str = ""
    footers: str = "none"
    next_offset: int | None = None
    prev_offset: int | None = None

    @property
    def has_lists(self) -> bool:
        return self.next_offset is not None

    def footer_of(self, block_address: int, size: int) -> int:
        """The address of the footer of the block whose header is at block_address."""
        return block_address + size - self.header_bytes


def find_layout(allocator: Path, given=None) -> HeapLayout | None:
    """The declaration for `allocator`: `given`, else NAME.layout.toml beside
    it, else None. UsageError ('FILE:LINE: why') when it does not parse."""
    if given is not None:
        return read_layout(Path(given))
    beside = allocator.with_suffix(".layout.toml")
    return read_layout(beside) if beside.is_file() else None


def read_layout(path: Path) -> HeapLayout:
    text = read_user_text(path, "--layout")
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        why = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise UsageError(f"{path}:{line.group(1) if line else 1}: {why}") from None
    for key, value in table.items():
        if key not in KEYS + OPTIONAL:
            raise UsageError(f"{path}:{_line_of(text, key)}: unknown key '{key}' "
                             f"(expected {', '.join(KEYS + OPTIONAL)})")
        if key == "footers":
            if value not in FOOTERS:
                raise UsageError(f"{path}:{_line_of(text, key)}: footers must be one of "
                                 f"{', '.join(FOOTERS)}, found {value!r}")
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UsageError(f"{path}:{_line_of(text, key)}: {key} must be a non-negative "
                             f"integer, found {value!r}")
    missing = [k for k in KEYS if k not in table]
    if missing:
        raise UsageError(f"{path}: missing {', '.join(missing)}")
    if table["header_bytes"] not in (4, 8):
        raise UsageError(f"{path}:{_line_of(text, 'header_bytes')}: header_bytes must be 4 or "
                         f"8, found {table['header_bytes']}")
    if "prev_offset" in table and "next_offset" not in table:
        raise UsageError(f"{path}:{_line_of(text, 'prev_offset')}: prev_offset needs "
                         f"next_offset (a list is followed through its next pointers)")
    return HeapLayout(**{k: table[k] for k in KEYS + OPTIONAL if k in table},
                      source=str(path))


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(key):
            return number
    return 1


def declared_walker(layout: HeapLayout):
    """A heap walker (emu/heap.py's signature) for a declared layout."""
    def walk(memory: Memory, _symbols, start: int, end: int):
        address = start + layout.first_header
        width = layout.header_bytes
        while address + width <= end:
            header = int.from_bytes(memory.read(address, width), "little")
            size = header & layout.size_mask
            if size == 0:
                return                                    # the epilogue
            if size < width or size % width or address + size > end:
                yield Block(address, 0, CORRUPT, note=f"corrupt block at {address:#x}: "
                            f"header {header:#x} gives size {size}")
                return
            state = ALLOCATED if header & layout.allocated_bit else FREE
            yield Block(address, size, state, address + width, size - width)
            address += size
    return walk

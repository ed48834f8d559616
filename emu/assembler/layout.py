"""Sections and the line table: where the assembled bytes go.

Sections are laid out one after the other from the base: .text, then
.rodata, .data and .bss; any other name NASM programs use for these
(.text.startup, .rodata.str) joins the section it starts with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SECTION_ORDER = (".text", ".rodata", ".data", ".bss")
SECTION_PERMS = {".text": "r-x", ".rodata": "r--", ".data": "rw-", ".bss": "rw-"}


class SectionError(Exception):
    """A section the machine does not lay out."""


@dataclass
class Section:
    name: str
    address: int = 0
    data: bytearray = field(default_factory=bytearray)
    size: int = 0                 # .bss has size but no data

    @property
    def perms(self) -> str:
        return SECTION_PERMS[self.name]

    @property
    def end(self) -> int:
        return self.address + self.size


@dataclass(frozen=True)
class LineEntry:
    """Bytes [address, address+size) came from line `line` of `file`
    (None: the program's own file)."""
    address: int
    size: int
    line: int
    file: str | None = None


def section_name(operands: list[str]) -> str:
    """The section a `section NAME attributes...` statement selects."""
    if not operands:
        raise SectionError("section needs a name")
    name = operands[0].split()[0].lower()
    for known in SECTION_ORDER:
        if name == known or name.startswith(known + "."):
            return known
    raise SectionError(f"unknown section '{name}' (use .text, .rodata, .data or .bss)")

"""The ELF64 headers emu reads, unpacked with struct.

Only what running a program needs: the file header, the program headers and
the symbol table. (pyelftools reads the rest, DWARF included, for the
debugger; importing it costs `emu run` ~50 ms, a third of its start-up.)

    elf = RawELF(raw)                 # ValueError/struct.error if the headers are cut short
    elf.entry, elf.type, elf.machine
    elf.program_headers()             # [ProgramHeader]
    elf.symbol_table()                # (Elf64_Sym tuples, string table) or None

Every offset and size is checked against the file: a header that points
outside it raises ValueError, which callers turn into "corrupt ELF file".
"""

from __future__ import annotations

import struct
from typing import NamedTuple

EI_CLASS, ELFCLASS32, ELFCLASS64, EI_DATA, ELFDATA2LSB = 4, 1, 2, 5, 1
ET_EXEC, ET_DYN = 2, 3
EM_X86_64 = 62
PT_LOAD, PT_INTERP, PT_PHDR = 1, 3, 6
PF_X, PF_W, PF_R = 1, 2, 4
SHT_SYMTAB = 2

# e_ident e_type e_machine e_version e_entry e_phoff e_shoff e_flags e_ehsize
# e_phentsize e_phnum e_shentsize e_shnum e_shstrndx
_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")       # type flags offset vaddr paddr filesz memsz align
_SHDR = struct.Struct("<IIQQQQIIQQ")     # name type flags addr offset size link info align entsize
SYMBOL = struct.Struct("<IBBHQQ")        # Elf64_Sym: name info other shndx value size


class ProgramHeader(NamedTuple):
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


class SectionHeader(NamedTuple):
    name: int            # offset in the section-name string table
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int


class RawELF:
    """A little-endian ELF64 file's headers."""

    def __init__(self, raw: bytes):
        if len(raw) < _HEADER.size:
            raise ValueError("the file header is cut short")
        (ident, self.type, self.machine, _version, self.entry, self.phoff, self.shoff, _flags,
         _ehsize, self.phentsize, self.phnum, self.shentsize, self.shnum,
         self.shstrndx) = _HEADER.unpack_from(raw)
        if ident[EI_CLASS] != ELFCLASS64 or ident[EI_DATA] != ELFDATA2LSB:
            raise ValueError("not a little-endian 64-bit ELF file")
        self.raw = raw

    def _table(self, offset: int, count: int, entsize: int, entry: struct.Struct, what: str):
        if count and entsize < entry.size:
            raise ValueError(f"{what} entries of {entsize} bytes")
        if offset + count * entsize > len(self.raw):
            raise ValueError(f"the {what} lie outside the file")
        return [entry.unpack_from(self.raw, offset + i * entsize) for i in range(count)]

    def program_headers(self) -> list[ProgramHeader]:
        return [ProgramHeader(t, f, off, vaddr, filesz, memsz)
                for t, f, off, vaddr, _paddr, filesz, memsz, _align in
                self._table(self.phoff, self.phnum, self.phentsize, _PHDR, "program headers")]

    def sections(self) -> list[SectionHeader]:
        return [SectionHeader(name, kind, flags, addr, offset, size, link)
                for name, kind, flags, addr, offset, size, link, *_ in
                self._table(self.shoff, self.shnum, self.shentsize, _SHDR, "section headers")]

    def data(self, section: SectionHeader) -> bytes:
        if section.offset + section.size > len(self.raw):
            raise ValueError("a section lies outside the file")
        return self.raw[section.offset:section.offset + section.size]

    def section_named(self, name: str, sections: list[SectionHeader]) -> SectionHeader | None:
        if not self.shstrndx < len(sections):
            return None
        names, wanted = self.data(sections[self.shstrndx]), name.encode() + b"\0"
        for section in sections:
            if names[section.name:section.name + len(wanted)] == wanted:
                return section
        return None

    def symbol_table(self):
        """(the .symtab's Elf64_Sym tuples, its string table), or None when
        there is no .symtab or it is not a symbol table."""
        sections = self.sections()
        table = self.section_named(".symtab", sections)
        if table is None or table.type != SHT_SYMTAB or not table.link < len(sections):
            return None
        raw = self.data(table)
        return list(SYMBOL.iter_unpack(raw[:len(raw) // SYMBOL.size * SYMBOL.size])), \
            self.data(sections[table.link])

"""The machine's symbol table: addresses (labels) and constants, by name.

An address is named "symbol+offset" only inside that symbol: below its end,
which is its ELF st_size when it has one, else the next symbol or the end of
its section (an asm label, or an ELF symbol of size 0). So a heap or mmap
address is never `<emu_mmap_observer+0x930>`: it is past every symbol's end.

    table = SymbolTable.for_image(image)       # a program's symbols, with their ends
    table.describe(0x401136)                   -> "main+6"
    table.describe(0x4052a0)                   -> "" (the heap)
"""

from __future__ import annotations

import bisect

from .elf_format import RawELF

UNBOUNDED = 0x10000            # how far past a symbol without a known end it names addresses
SYMBOL_KINDS = (0, 1, 2)       # STT_NOTYPE, STT_OBJECT, STT_FUNC
SHF_ALLOC = 0x2


class SymbolTable:
    """Names the machine knows: labels of loaded code, kernel addresses, constants."""

    def __init__(self):
        self._addresses: dict[str, int] = {}
        self._constants: dict[str, int] = {}
        self._sorted: list[tuple[int, str]] = []
        self._ends: dict[str, int] = {}
        self._deferred = None          # (path, bias): ELF sizes read at the first lookup

    @classmethod
    def for_image(cls, image) -> "SymbolTable":
        """The symbols of a loaded Image, each bounded: ELF st_size, or the
        next symbol / section end; a linked asm library's labels likewise."""
        table = cls()
        if image.program is not None:
            table.add_program(image.program)
            return table
        for name, value in image.symbols.items():
            table.add_address(name, value)
        for program in image.libraries:
            table.add_program(program)
        if image.elf_path:
            table._deferred = (image.elf_path, image.base)
        return table

    def _load_deferred(self) -> None:
        path, bias = self._deferred
        self._deferred = None
        for name, end in _elf_extents(path, bias).items():
            if name in self._addresses and name not in self._ends and end > self._addresses[name]:
                self._ends[name] = end

    def add_address(self, name: str, value: int, end: int | None = None) -> None:
        """A label at `value`; `end` (exclusive) bounds what it names."""
        if name in self._addresses:
            old = (self._addresses[name], name)
            i = bisect.bisect_left(self._sorted, old)
            if i < len(self._sorted) and self._sorted[i] == old:
                del self._sorted[i]
        self._addresses[name] = value
        bisect.insort(self._sorted, (value, name))
        if end is not None and end > value:
            self._ends[name] = end
        else:
            self._ends.pop(name, None)

    def add_constant(self, name: str, value: int) -> None:
        self._constants[name] = value

    def add_program(self, program) -> None:
        """Add the labels and constants an assembled Program defines; a label
        names addresses up to the next label or the end of its section."""
        labels = sorted((value, name) for name, value in program.symbols.items()
                        if name in program.labels)
        for i, (value, name) in enumerate(labels):
            section_end = next((s.end for s in program.sections
                                if s.address <= value < s.end), value + 1)
            following = labels[i + 1][0] if i + 1 < len(labels) else section_end
            self.add_address(name, value, min(section_end, max(following, value + 1)))
        for name, value in program.symbols.items():
            if name not in program.labels:
                self.add_constant(name, value)

    def get(self, name: str) -> int | None:
        if name in self._addresses:
            return self._addresses[name]
        return self._constants.get(name)

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def all(self) -> dict[str, int]:
        """Every name and value: what a newly loaded file may refer to."""
        return {**self._constants, **self._addresses}

    def addresses(self) -> dict[str, int]:
        return dict(self._addresses)

    def lookup(self, address: int, max_offset: int = UNBOUNDED) -> tuple[str, int] | None:
        """(name, offset) of the symbol holding `address`, or None: the nearest
        label at or below it, if `address` is below that label's end (or
        within max_offset of it when its end is unknown)."""
        if self._deferred is not None:
            self._load_deferred()
        i = bisect.bisect_right(self._sorted, (address, "\uffff")) - 1
        if i < 0:
            return None
        value, name = self._sorted[i]
        offset = address - value
        end = self._ends.get(name)
        if end is not None:
            return (name, offset) if address < end else None
        return None if offset > max_offset else (name, offset)

    def describe(self, address: int, max_offset: int = UNBOUNDED) -> str:
        """'name+0x12' for the symbol holding `address`, or ''."""
        found = self.lookup(address, max_offset)
        if found is None:
            return ""
        name, offset = found
        return name if offset == 0 else f"{name}+{offset:#x}"


def _elf_extents(path: str, bias: int) -> dict[str, int]:
    """name -> end of each function and object symbol of an ELF: value + st_size,
    or for size 0 the next symbol's address or its section's end."""
    try:
        with open(path, "rb") as f:
            elf = RawELF(f.read())
        table = elf.symbol_table()
        if table is None:
            return {}
        entries, strings = table
        sections = [(s.addr, s.addr + s.size) for s in elf.sections() if s.flags & SHF_ALLOC]
    except Exception:           # a malformed file: names stay unbounded
        return {}
    symbols = []
    for name_at, info, _other, shndx, value, size in entries:
        if value and shndx and info & 0xF in SYMBOL_KINDS:
            end = strings.find(b"\0", name_at)
            name = strings[name_at:end].decode(errors="replace")
            if name:
                symbols.append((name, value, size))
    starts = sorted({v for _, v, _ in symbols})
    out = {}
    for name, value, size in symbols:
        if size:
            end = value + size
        else:
            i = bisect.bisect_right(starts, value)
            following = starts[i] if i < len(starts) else None
            section = next((hi for lo, hi in sections if lo <= value < hi), value + 1)
            end = min(section, following) if following else section
        out.setdefault(name, end + bias)
    return out

"""Source lines and functions of a program: DWARF for C, the line table for asm.

    info = ProgramInfo.for_image(image)
    info.line_at(0x401136)            -> SourceLine("prog.c", 12, "/path/prog.c")
    info.addresses_of("prog.c", 12)   -> [0x401136]
    info.function_at(0x401140)        -> Function("main", 0x401130, 0x4011a0)

Lines come from the DWARF line program (pyelftools) of a C program built with
-g, or from our assembler's line table for an .asm program, or both: an asm
file linked into a C program (`--link`) brings its own lines and labels, so
its source shows and `break firstfit.asm:40` works as for a standalone .asm.
Functions come from the ELF symbol table (STT_FUNC with sizes), or from an
asm program's labels (a label up to the next one or its section's end).
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from .lines import decode


@dataclass(frozen=True)
class SourceLine:
    file: str            # the name as the program knows it (basename for display)
    line: int
    path: str            # where to read it from


@dataclass(frozen=True)
class Function:
    name: str
    start: int
    end: int


class ProgramInfo:
    """What the debugger knows about a program beyond its bytes."""

    def __init__(self, rows, functions):
        # rows: sorted (address, SourceLine | None); None ends a sequence
        self._rows = rows
        self._addresses = [r[0] for r in rows]
        self.functions = sorted(functions, key=lambda f: f.start)
        self._starts = [f.start for f in self.functions]

    @classmethod
    def for_image(cls, image) -> "ProgramInfo":
        if image.program is not None:
            return cls(*_program_parts(image.program, image.symbols))
        rows, functions = [], []
        if image.elf_path:
            rows, functions = _elf_parts(image.elf_path, image.base)
        for library in image.libraries:
            more_rows, more_functions = _program_parts(library, {
                name: library.symbols[name] for name in library.labels})
            rows, functions = _drop_shadowed_ends(rows + more_rows), functions + more_functions
        return cls(rows, functions)

    # -- queries -----------------------------------------------------------------------------

    def line_at(self, address: int) -> SourceLine | None:
        i = bisect.bisect_right(self._addresses, address) - 1
        return self._rows[i][1] if i >= 0 else None

    def row_address(self, address: int) -> int | None:
        """Where the line-table row holding `address` starts (None: no line)."""
        i = bisect.bisect_right(self._addresses, address) - 1
        return self._rows[i][0] if i >= 0 and self._rows[i][1] is not None else None

    def line_range(self, address: int) -> tuple[int, int]:
        """[start, end) of the run of rows around `address` with its line: the
        range `next` steps through (empty when there is no line)."""
        i = bisect.bisect_right(self._addresses, address) - 1
        if i < 0 or self._rows[i][1] is None:
            return address, address
        line = self._rows[i][1]
        lo = i
        while lo > 0 and self._rows[lo - 1][1] == line and \
                self._rows[lo - 1][0] < self._rows[lo][0]:
            lo -= 1
        hi = i + 1
        while hi < len(self._rows) and self._rows[hi][1] == line:
            hi += 1
        end = self._rows[hi][0] if hi < len(self._rows) else address + 1
        return self._rows[lo][0], end

    def is_row_start(self, address: int) -> bool:
        """Does a row of a different line (or the first row of a line) start here?"""
        i = bisect.bisect_left(self._addresses, address)
        if i >= len(self._addresses) or self._addresses[i] != address:
            return False
        row = self._rows[i][1]
        return row is not None and (i == 0 or self._rows[i - 1][1] != row)

    def files(self) -> list[str]:
        """The source files with lines, by the names the program knows."""
        return sorted({row.file for _, row in self._rows if row is not None})

    def path_of(self, file: str) -> str | None:
        wanted = Path(file).name
        return next((row.path for _, row in self._rows if row is not None and
                     Path(row.file).name == wanted), None)

    def addresses_of(self, file: str, line: int) -> list[int]:
        """Addresses where code for `file:line` starts (file matched by basename)."""
        wanted = Path(file).name
        out = []
        previous = None
        for address, row in self._rows:
            here = row is not None and Path(row.file).name == wanted and row.line == line
            if here and previous != (row.file, row.line):
                out.append(address)
            previous = (row.file, row.line) if row else None
        return out

    def nearest_line(self, file: str, line: int) -> int | None:
        """The first line >= `line` in `file` that has code, as gdb picks."""
        wanted = Path(file).name
        lines = sorted({r.line for _, r in self._rows if r and Path(r.file).name == wanted})
        i = bisect.bisect_left(lines, line)
        return lines[i] if i < len(lines) else None

    def function_at(self, address: int) -> Function | None:
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and address < self.functions[i].end:
            return self.functions[i]
        return None

    def function_named(self, name: str) -> Function | None:
        return next((f for f in self.functions if f.name == name), None)

    @property
    def has_lines(self) -> bool:
        return bool(self._rows)


def _program_parts(program, labels):
    """Rows and functions of an assembled Program: a row per instruction's line,
    a function per .text label that is not a local (.name) label."""
    path = str(Path(program.file).resolve())
    name = Path(program.file).name
    rows = []
    for entry in sorted(program.lines, key=lambda e: e.address):
        rows.append((entry.address, SourceLine(name, entry.line, path)))
        rows.append((entry.address + entry.size, None))
    rows = _drop_shadowed_ends(rows)
    text = program.section(".text")
    text_end = text.address + text.size
    starts = sorted((addr, label) for label, addr in labels.items()
                    if "." not in label and text.address <= addr < text_end)
    functions = []
    for i, (addr, label) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else text_end
        functions.append(Function(label, addr, max(end, addr + 1)))
    return rows, functions


def _elf_parts(path: str, base: int):
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            functions = _functions(elf, base)
            rows = _dwarf_rows(elf, base) if elf.has_dwarf_info() else []
    except Exception:     # pyelftools on malformed DWARF: run on without source lines
        return [], []
    return rows, functions


def _drop_shadowed_ends(rows):
    """Remove an end marker that sits where the next line starts."""
    rows.sort(key=lambda r: (r[0], r[1] is not None))
    out = []
    for address, row in rows:
        if out and out[-1][0] == address and out[-1][1] is None:
            out.pop()
        out.append((address, row))
    return out


def _functions(elf, base: int) -> list[Function]:
    table = elf.get_section_by_name(".symtab")
    if table is None:
        return []
    seen, out = set(), []
    for sym in table.iter_symbols():
        if sym["st_info"]["type"] == "STT_FUNC" and sym["st_value"] and sym.name:
            start = sym["st_value"] + base
            if start not in seen:
                seen.add(start)
                out.append(Function(sym.name, start, start + max(sym["st_size"], 1)))
    return out


def _dwarf_rows(elf, base: int):
    dwarf = elf.get_dwarf_info()
    rows = []
    for cu in dwarf.iter_CUs():
        program = dwarf.line_program_for_CU(cu)
        if program is None:
            continue
        top = cu.get_top_DIE()
        comp_dir = _attr(top, "DW_AT_comp_dir")
        names = _file_names(program, comp_dir)
        lines = {}
        for address, file, line, is_stmt in decode(program):
            if file is None:
                rows.append((address + base, None))
            elif is_stmt and file in names:
                key = (file, line)
                if key not in lines:
                    display, path = names[file]
                    lines[key] = SourceLine(display, line, path)
                rows.append((address + base, lines[key]))
    return _drop_shadowed_ends(rows)


def _attr(die, name: str) -> str:
    value = die.attributes.get(name)
    if value is None:
        return ""
    raw = value.value
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def _file_names(program, comp_dir: str) -> dict[int, tuple[str, str]]:
    """File index -> (display name, full path), DWARF 4 and 5 numbering alike."""
    header = program.header
    version = header["version"]
    dirs = [d.decode(errors="replace") if isinstance(d, bytes) else str(d)
            for d in header["include_directory"]]
    out = {}
    for i, entry in enumerate(header["file_entry"]):
        name = entry.name.decode(errors="replace") if isinstance(entry.name, bytes) else entry.name
        index = i if version >= 5 else i + 1
        dir_index = entry.dir_index
        if version >= 5:
            directory = dirs[dir_index] if dir_index < len(dirs) else comp_dir
        else:
            directory = comp_dir if dir_index == 0 else dirs[dir_index - 1]
        path = name if os.path.isabs(name) else os.path.join(comp_dir, directory, name)
        out[index] = (name, os.path.normpath(path))
    return out

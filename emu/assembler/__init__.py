"""A NASM-dialect assembler: our front end over keystone's encoder.

    program = assemble(source, file="x.asm", base=0x100010, symbols={...})

NASM (Debian's nasm) is the reference: what it accepts assembles to its
bytes, or to an instruction that decodes the same; what it refuses is
refused, with file:line and the line's text. The pieces, in order:

    preprocess.py   %define, %if, %macro, %rep, %include     -> lines
                    (macros.py, conditions.py, text.py)
    parse.py        labels (with or without a colon), times, prefixes,
                    mnemonics, directives, operands as text  -> statements
                    (mnemonics.py: which words are instructions)
    assembly.py     the passes: addresses until they settle, sections
                    (layout.py), times, align, output limits
    expr.py         NASM expressions (floats.py, strings.py)
    data.py         db/dw/dd/dq/dt/do
    operands.py     registers, memory references as NASM lays them out
    choices.py      NASM's encoding choices and error messages
    encode.py       keystone, with the fields it cannot be asked for
    verify.py       capstone's round trip of every instruction

Sections are laid out one after the other from `base`: .text, then .rodata,
.data and .bss. With page_aligned=True each starts on a new 4 KiB page, as a
user program needs for its permissions.

Warnings (NASM's: a value cut to fit, a label alone without a colon) are in
Program.warnings and are logged to the "emu.assembler" logger, which prints
them on stderr unless logging is configured otherwise.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AssemblyError, UsageError
from .assembly import Assembly
from .layout import LineEntry, Section
from .parse import Reader
from .preprocess import Preprocessor

__all__ = ["Program", "Section", "LineEntry", "assemble", "assemble_file",
           "declared_externs", "read_source"]

log = logging.getLogger("emu.assembler")


@dataclass
class Program:
    """The output of one assembly."""
    file: str
    sections: list[Section]
    symbols: dict[str, int]        # labels and constants defined by the source
    labels: set[str]               # the names in `symbols` that are addresses
    globals: set[str]
    lines: list[LineEntry]
    source: list[str]
    externs: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    @property
    def start(self) -> int:
        return min(s.address for s in self.sections)

    @property
    def end(self) -> int:
        return max(s.end for s in self.sections)

    @property
    def entry(self) -> int:
        """`_start` if the source defines it, else the start of .text."""
        if "_start" in self.labels:
            return self.symbols["_start"]
        return self.section(".text").address

    def section(self, name: str) -> Section:
        return next(s for s in self.sections if s.name == name)

    def image(self) -> bytes:
        """All sections as one byte string from `start` (bss as zeros)."""
        out = bytearray(self.end - self.start)
        for s in self.sections:
            out[s.address - self.start:s.address - self.start + len(s.data)] = s.data
        return bytes(out)

    def line_at(self, address: int) -> int | None:
        for entry in self.lines:
            if entry.address <= address < entry.address + entry.size:
                return entry.line
        return None


def read_source(path) -> str:
    """The text of an asm file (UsageError if it cannot be read)."""
    path = Path(path)
    try:
        return path.read_text()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None


def assemble_file(path, *, base: int, symbols: dict[str, int] | None = None,
                  page_aligned: bool = False) -> Program:
    """Assemble the file at `path` (UsageError if it cannot be read)."""
    return assemble(read_source(path), file=str(path), base=base, symbols=symbols,
                    page_aligned=page_aligned)


def declared_externs(source: str, file: str = "<asm>") -> set[str]:
    """The names a source declares `extern`: what it needs from elsewhere."""
    names = set()
    for stmt in Reader().read(Preprocessor(file).run(source)):
        if stmt.kind == "extern":
            names.update(op.split(":")[0].strip() for op in stmt.operands)
    return names


def assemble(source: str, *, file: str = "<asm>", base: int,
             symbols: dict[str, int] | None = None, page_aligned: bool = False) -> Program:
    """Assemble NASM `source` with sections laid out from `base`.

    `symbols` are names defined outside the source (kernel symbols, earlier
    programs); the source may not redefine them. Raises AssemblyError.
    """
    external = tuple(sorted((symbols or {}).items()))
    if "%include" in source.lower():            # the included files may change: no cache
        program = _assemble(source, file, base, external, page_aligned)
    else:
        digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        program = _assemble_cached(digest, source, file, base, external, page_aligned)
    for warning in program.warnings:
        log.warning("%s", warning)
    return program


@functools.lru_cache(maxsize=64)
def _assemble_cached(_digest, source, file, base, external, page_aligned) -> Program:
    return _assemble(source, file, base, external, page_aligned)


def _assemble(source, file, base, external, page_aligned) -> Program:
    if "\0" in source:
        raise AssemblyError("the source contains a NUL character (a binary file?)", file)
    run = Assembly(source, file, base, dict(external), page_aligned)
    result = run.run()
    symbols = {name: value.number for name, value in result["symbols"].items()}
    labels = {s.label for s in run.statements if s.label and s.kind != "equ"}
    lines = [entry if entry.file != file else LineEntry(entry.address, entry.size, entry.line)
             for entry in result["lines"]]
    return Program(file, list(result["sections"].values()), symbols, labels, run.globals,
                   lines, source.splitlines(), run.externs, result["warnings"])

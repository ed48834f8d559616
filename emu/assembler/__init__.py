"""A NASM-dialect assembler: our front end over keystone's encoder.

    program = assemble(source, file="x.asm", base=0x100010, symbols={...})

The front end reads NASM source (labels, local labels, `equ`, `%define`,
`db/dw/dd/dq` with strings, `times`, `resb..resq`, `align`, `section`,
`global`, `extern`, `default rel`), evaluates every expression itself, and
gives keystone one instruction at a time with plain numbers (see encode.py
for why, and for the checks every encoding goes through).

Labels may be used before they are defined: the whole file is assembled again
until no address moves (at most MAX_PASSES times). An instruction never
shrinks after the fifth pass; if its encoding got shorter it is padded with
NOPs, so the passes always settle.

Sections are laid out one after the other from `base`: .text, then .rodata,
.data and .bss. With page_aligned=True each starts on a new 4 KiB page, as a
user program needs for its permissions.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AssemblyError, UsageError
from .encode import EncodeError, Encoder
from .expr import Context, ExprError, evaluate
from .parse import DATA_SIZES, RESERVE_SIZES, Reader, Statement

MAX_PASSES = 12
FREEZE_AFTER = 5
MAX_SECTION = 1 << 30                 # a larger section is a mistake, not a program
SECTION_ORDER = (".text", ".rodata", ".data", ".bss")
SECTION_PERMS = {".text": "r-x", ".rodata": "r--", ".data": "rw-", ".bss": "rw-"}
_NOP = 0x90


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
    """Bytes [address, address+size) came from source line `line`."""
    address: int
    size: int
    line: int


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
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None


def assemble_file(path, *, base: int, symbols: dict[str, int] | None = None,
                  page_aligned: bool = False) -> Program:
    """Assemble the file at `path` (UsageError if it cannot be read)."""
    return assemble(read_source(path), file=str(path), base=base, symbols=symbols,
                    page_aligned=page_aligned)


def declared_externs(source: str, file: str = "<asm>") -> set[str]:
    """The names a source declares `extern`: what it needs from elsewhere."""
    names = set()
    for stmt in Reader(file).read(source):
        if stmt.kind == "extern":
            names.update(op.strip() for op in stmt.operands)
    return names


def assemble(source: str, *, file: str = "<asm>", base: int,
             symbols: dict[str, int] | None = None, page_aligned: bool = False) -> Program:
    """Assemble NASM `source` with sections laid out from `base`.

    `symbols` are names defined outside the source (kernel symbols, earlier
    programs); the source may not redefine them. Raises AssemblyError.
    """
    external = tuple(sorted((symbols or {}).items()))
    digest = hashlib.sha256(source.encode()).hexdigest()
    return _assemble_cached(digest, source, file, base, external, page_aligned)


@functools.lru_cache(maxsize=64)
def _assemble_cached(_digest, source, file, base, external, page_aligned) -> Program:
    return _Assembly(source, file, base, dict(external), page_aligned).run()


class _Assembly:
    """One run of the assembler over one source text."""

    def __init__(self, source, file, base, external, page_aligned):
        self.file = file
        self.base = base
        self.external = external
        self.page_aligned = page_aligned
        self.source = source.splitlines()
        self.statements = Reader(file).read(source)
        self.encoder = Encoder()
        self.defined: dict[str, int] = {}
        self.sizes: dict[int, int] = {}         # statement line -> frozen minimum size
        self.globals: set[str] = set()
        self.externs: set[str] = set()

    def error(self, stmt: Statement, message: str) -> AssemblyError:
        return AssemblyError(message, self.file, stmt.line, stmt.source)

    def run(self) -> Program:
        starts = {name: self.base for name in SECTION_ORDER}
        previous = None
        for number in range(MAX_PASSES):
            result = self._pass(starts, freeze=number >= FREEZE_AFTER)
            new_starts = self._layout(result["sections"])
            if result["symbols"] == previous and new_starts == starts:
                if result["missing"]:
                    name = sorted(result["missing"])[0]
                    raise self.error(self._first_use(name), f"undefined symbol '{name}'")
                return self._program(result)
            previous, starts = result["symbols"], new_starts
        stmt = next((s for s in self.statements if s.kind == "insn"), self.statements[0])
        raise self.error(stmt, f"addresses did not settle after {MAX_PASSES} passes")

    def _layout(self, sections: dict[str, Section]) -> dict[str, int]:
        """.text starts at the base itself; each later section on a new page
        (page_aligned) or a 16-byte boundary."""
        starts, addr = {}, self.base
        for name in SECTION_ORDER:
            if name == ".text":
                pass
            elif self.page_aligned:
                addr = (addr + 0xFFF) & ~0xFFF
            else:
                addr = (addr + 15) & ~15
            starts[name] = addr
            addr += sections[name].size
        return starts

    def _lookup_in(self, scope: str):
        """The symbol lookup for a statement whose local labels belong to `scope`."""
        def lookup(name: str):
            if name.startswith(".") and not name.startswith(".."):
                name = scope + name
            if name in self.external:
                return self.external[name]
            return self.defined.get(name)
        return lookup

    def _pass(self, starts, freeze: bool) -> dict:
        sections = {name: Section(name, starts[name]) for name in SECTION_ORDER}
        current = sections[".text"]
        symbols: dict[str, int] = {}
        missing: set[str] = set()
        lines: list[LineEntry] = []
        self.encoder.default_rel = False
        for stmt in self.statements:
            ctx = Context(self._lookup_in(stmt.scope), here=current.address + current.size,
                          section_start=current.address)
            if stmt.kind == "equ":
                self._check_new(stmt, symbols)
                symbols[stmt.label] = self._value(stmt, stmt.operands[0], ctx)
                missing |= ctx.missing
                self.defined[stmt.label] = symbols[stmt.label]
                continue
            if stmt.label is not None:
                self._check_new(stmt, symbols)
                symbols[stmt.label] = ctx.here
                self.defined[stmt.label] = ctx.here
            if stmt.kind == "section":
                current = sections[self._section_name(stmt)]
                continue
            before = current.size
            self._emit(stmt, current, ctx, freeze)
            missing |= ctx.missing
            if current.size > before:
                lines.append(LineEntry(current.address + before, current.size - before, stmt.line))
        return {"sections": sections, "symbols": symbols, "missing": missing, "lines": lines}

    def _check_new(self, stmt: Statement, symbols: dict) -> None:
        if stmt.label in self.external:
            raise self.error(stmt, f"'{stmt.label}' is already defined outside this file")
        if stmt.label in symbols:
            raise self.error(stmt, f"'{stmt.label}' is defined twice")

    def _first_use(self, name: str) -> Statement:
        for stmt in self.statements:
            if name in stmt.source:
                return stmt
        return self.statements[0]

    def _section_name(self, stmt: Statement) -> str:
        if not stmt.operands:
            raise self.error(stmt, "section needs a name")
        name = stmt.operands[0].split()[0].lower()
        for known in SECTION_ORDER:
            if name == known or name.startswith(known + "."):
                return known
        raise self.error(stmt, f"unknown section '{name}' "
                               f"(use .text, .rodata, .data or .bss)")

    def _value(self, stmt: Statement, text: str, ctx: Context) -> int:
        try:
            return evaluate(text, ctx)
        except ExprError as exc:
            raise self.error(stmt, str(exc)) from None

    # -- emitting one statement -------------------------------------------------------

    def _emit(self, stmt: Statement, section: Section, ctx: Context, freeze: bool) -> None:
        count = 1
        if stmt.times is not None:
            count = self._value(stmt, stmt.times, ctx)
            if count < 0:
                raise self.error(stmt, f"times count is negative ({count})")
            if count > MAX_SECTION:
                raise self.error(stmt, f"times count {count} is larger than any section may be")
        for _ in range(count):
            ctx.here = section.address + section.size
            self._emit_once(stmt, section, ctx, freeze)

    def _emit_once(self, stmt: Statement, section: Section, ctx: Context, freeze: bool) -> None:
        kind = stmt.kind
        if kind == "insn":
            self._instruction(stmt, section, ctx, freeze)
        elif kind == "data":
            self._put(stmt, section, self._data(stmt, ctx))
        elif kind == "reserve":
            size = RESERVE_SIZES[stmt.name] * self._count_operand(stmt, ctx)
            self._reserve(stmt, section, size)
        elif kind == "align":
            boundary = self._count_operand(stmt, ctx)
            if boundary <= 0 or boundary & (boundary - 1):
                raise self.error(stmt, f"align needs a power of two, got {boundary}")
            fill = _NOP if section.name == ".text" and stmt.name == "align" else 0
            pad = -(section.address + section.size) % boundary
            self._put(stmt, section, bytes([fill]) * pad)
        elif kind == "global":
            self.globals.update(op.split(":")[0].strip() for op in stmt.operands)
        elif kind == "extern":
            self.externs.update(op.strip() for op in stmt.operands)
        elif kind == "bits":
            if [op.strip() for op in stmt.operands] != ["64"]:
                raise self.error(stmt, "only 'bits 64' is supported")
        elif kind == "default":
            mode = " ".join(stmt.operands).lower()
            if mode not in ("rel", "abs"):
                raise self.error(stmt, f"default must be rel or abs, got '{mode}'")
            self.encoder.default_rel = mode == "rel"

    def _put(self, stmt: Statement, section: Section, data: bytes) -> None:
        if section.name == ".bss":
            if any(data):
                raise self.error(stmt, "only zeros (resb/resq, or db 0) may go in .bss")
        else:
            section.data += data
        self._grow(stmt, section, len(data))

    def _grow(self, stmt: Statement, section: Section, size: int) -> None:
        if section.size + size > MAX_SECTION:
            raise self.error(stmt, f"section {section.name} would exceed "
                                   f"{MAX_SECTION >> 20} MiB")
        section.size += size

    def _reserve(self, stmt: Statement, section: Section, size: int) -> None:
        """resb and friends: zeros, never built in memory for .bss."""
        if section.size + size > MAX_SECTION:
            self._grow(stmt, section, size)                # says what is too big
        if section.name == ".bss":
            self._grow(stmt, section, size)
        else:
            self._put(stmt, section, bytes(size))

    def _count_operand(self, stmt: Statement, ctx: Context) -> int:
        if len(stmt.operands) != 1:
            raise self.error(stmt, f"{stmt.name} needs exactly one value")
        value = self._value(stmt, stmt.operands[0], ctx)
        if value < 0:
            raise self.error(stmt, f"{stmt.name} count is negative ({value})")
        return value

    def _instruction(self, stmt: Statement, section: Section, ctx: Context, freeze: bool) -> None:
        if section.name == ".bss":
            raise self.error(stmt, "instructions cannot go in .bss")
        try:
            encoded = self.encoder.encode(stmt.name, stmt.operands, ctx)
        except EncodeError as exc:
            raise self.error(stmt, str(exc)) from None
        data = encoded.data
        if freeze:
            floor = self.sizes.get(stmt.line, 0)
            if len(data) < floor:
                data += bytes([_NOP]) * (floor - len(data))
        self.sizes[stmt.line] = max(self.sizes.get(stmt.line, 0), len(data))
        self._put(stmt, section, data)

    def _data(self, stmt: Statement, ctx: Context) -> bytes:
        unit = DATA_SIZES[stmt.name]
        if not stmt.operands:
            raise self.error(stmt, f"{stmt.name} needs at least one value")
        out = bytearray()
        for item in stmt.operands:
            text = item.strip()
            if len(text) >= 2 and text[0] in "'\"`" and text[-1] == text[0] and \
                    (unit == 1 or len(text) > 2 + unit):
                try:
                    raw = _string_bytes(text)
                except ValueError as exc:
                    raise self.error(stmt, str(exc)) from None
                out += raw + bytes(-len(raw) % unit)
                continue
            value = self._value(stmt, text, ctx)
            if not -(1 << (8 * unit - 1)) <= value < (1 << (8 * unit)):
                raise self.error(stmt, f"value {value} does not fit in {unit} byte(s)")
            out += (value & ((1 << (8 * unit)) - 1)).to_bytes(unit, "little")
        return bytes(out)

    def _program(self, result: dict) -> Program:
        sections = [s for s in result["sections"].values()]
        symbols = result["symbols"]
        labels = {s.label for s in self.statements if s.label and s.kind != "equ"}
        return Program(self.file, sections, symbols, labels, self.globals,
                       result["lines"], self.source, self.externs)


_ESCAPES = {"n": 10, "t": 9, "r": 13, "\\": 92, "'": 39, '"': 34, "`": 96, "?": 63,
            "a": 7, "b": 8, "f": 12, "v": 11, "e": 27}


def _string_bytes(text: str) -> bytes:
    r"""Bytes of a NASM string: '...' and "..." literally, `...` with C escapes:
    \n \t and friends, octal \0..\377, hex \xHH, and \uHHHH / \UHHHHHHHH as UTF-8."""
    body = text[1:-1]
    if text[0] != "`":
        return body.encode("latin-1", errors="replace")
    out, i = bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 == len(body):
            out += ch.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1]
        octal = re.match(r"[0-7]{1,3}", body[i + 1:])
        hexa = re.match(r"x([0-9a-fA-F]{1,2})", body[i + 1:])
        uni = re.match(r"(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})", body[i + 1:])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        elif hexa:
            out.append(int(hexa.group(1), 16))
            i += 1 + len(hexa.group())
        elif uni:
            out += chr(int(uni.group()[1:], 16)).encode("utf-8")
            i += 1 + len(uni.group())
        elif nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            raise ValueError(f"unknown escape \\{nxt} in {text}")
    return bytes(out)

"""The passes of one assembly: statements in, sections and symbols out.

Labels may be used before they are defined: the whole file is assembled again
until no address moves (at most MAX_PASSES times). An instruction never
shrinks after pass FREEZE_AFTER; if its encoding got shorter it is padded
with NOPs, so the passes always settle. Warnings are those of the last pass.

Work is bounded, whatever the source says: at most MAX_OUTPUT bytes of code
and data (MAX_SECTION for .bss), at most MAX_COPIES copies of a `times`
statement that must be encoded one by one (one that depends on its own
address); `times` of anything else is made once and copied.
"""

from __future__ import annotations

from ..errors import AssemblyError
from .data import DataError, data_bytes
from .encode import Encoder, EncodeError, Instruction
from .expr import Context, ExprError, Value, evaluate_value
from .layout import SECTION_ORDER, LineEntry, Section, SectionError, section_name
from .mnemonics import JUMPS
from .operands import OperandError, parse_operand
from .parse import DATA_SIZES, RESERVE_SIZES, Reader, Statement
from .preprocess import Line, Preprocessor

MAX_PASSES = 12
FREEZE_AFTER = 5
MAX_OUTPUT = 16 << 20                 # bytes of code and data: a larger image is a mistake
MAX_SECTION = 1 << 30                 # .bss may reserve up to this
MAX_COPIES = 10_000                   # of a times statement encoded copy by copy
MAX_ALIGN = 1 << 30
_ERRORS = (DataError, EncodeError, ExprError, OperandError, SectionError)


class Assembly:
    """One run of the assembler over one source text."""

    def __init__(self, source: str, file: str, base: int, external: dict[str, int],
                 page_aligned: bool, read=None):
        self.file, self.base, self.page_aligned = file, base, page_aligned
        preprocessor = Preprocessor(file, read)
        lines = preprocessor.run(source)
        reader = Reader()
        self.statements = reader.read(lines or [Line(file, 1, "", "")])
        # A name the source declares `extern` is an address, as NASM's relocations
        # are; the machine's other symbols are constants, as if defined by equ.
        declared = {op.split(":")[0].strip() for s in self.statements if s.kind == "extern"
                    for op in s.operands}
        self.external = {name: Value(value, reloc=int(name in declared))
                         for name, value in external.items()}
        self.static_warnings = preprocessor.warnings + reader.warnings
        self.encoder = Encoder()
        self._nop: bytes | None = None
        self.defined: dict[str, Value] = {}
        self.sizes: dict[int, int] = {}         # statement index -> frozen minimum size
        self.operands: dict[tuple, object] = {}  # operand text -> operand, if constant
        self.globals: set[str] = set()
        self.externs: set[str] = set()

    def error(self, stmt: Statement, message: str) -> AssemblyError:
        return AssemblyError(message, stmt.file, stmt.line, stmt.source)

    @property
    def nop(self) -> bytes:
        """The one-byte NOP, for align and for padding (encoded, never written here)."""
        if self._nop is None:
            self._nop = self.encoder.encode(Instruction("nop", [], []), 0).data
        return self._nop

    def run(self) -> dict:
        """{"sections", "symbols", "lines", "warnings"} once addresses settle."""
        starts = {name: self.base for name in SECTION_ORDER}
        previous = None
        for number in range(MAX_PASSES):
            result = _Pass(self, starts, freeze=number >= FREEZE_AFTER).run()
            new_starts = self._layout(result["sections"])
            if result["symbols"] == previous and new_starts == starts:
                if result["missing"]:
                    name = sorted(result["missing"])[0]
                    raise self.error(self._first_use(name), f"undefined symbol '{name}' "
                                     f"(not a label, a constant or a register)")
                result["warnings"] = self.static_warnings + result["warnings"]
                return result
            previous, starts = result["symbols"], new_starts
        stmt = next((s for s in self.statements if s.kind == "insn"), self.statements[0])
        raise self.error(stmt, f"addresses did not settle after {MAX_PASSES} passes")

    def _layout(self, sections: dict[str, Section]) -> dict[str, int]:
        """.text starts at the base itself; each later section on a new page
        (page_aligned) or a 16-byte boundary."""
        starts, addr = {}, self.base
        for name in SECTION_ORDER:
            if name != ".text":
                addr = (addr + 0xFFF) & ~0xFFF if self.page_aligned else (addr + 15) & ~15
            starts[name] = addr
            addr += sections[name].size
        return starts

    def lookup_in(self, scope: str):
        """The symbol lookup for a statement whose local labels belong to `scope`."""
        def lookup(name: str):
            if name.startswith(".") and not name.startswith(".."):
                name = scope + name
            if name in self.external:
                return self.external[name]
            return self.defined.get(name)
        return lookup

    def _first_use(self, name: str) -> Statement:
        short = name.rsplit(".", 1)[-1]
        for stmt in self.statements:
            if name in stmt.source or ("." + short) in stmt.source:
                return stmt
        return self.statements[0]


class _Pass:
    """One pass over every statement."""

    def __init__(self, asm: Assembly, starts: dict[str, int], freeze: bool):
        self.asm, self.freeze = asm, freeze
        self.sections = {name: Section(name, starts[name]) for name in SECTION_ORDER}
        self.current = self.sections[".text"]
        self.symbols: dict[str, Value] = {}
        self.missing: set[str] = set()
        self.lines: list[LineEntry] = []
        self.warnings: list[str] = []
        self.output = 0
        self.default_rel = False

    def run(self) -> dict:
        for index, stmt in enumerate(self.asm.statements):
            try:
                self.statement(index, stmt)
            except _ERRORS as exc:
                raise self.asm.error(stmt, str(exc)) from None
        return {"sections": self.sections, "symbols": self.symbols, "missing": self.missing,
                "lines": self.lines, "warnings": self.warnings}

    def context(self, stmt: Statement, warnings: list[str]) -> Context:
        section = self.current
        return Context(self.asm.lookup_in(stmt.scope), here=section.address + section.size,
                       section_start=section.address, missing=self.missing, warnings=warnings)

    def warn(self, stmt: Statement, messages: list[str]) -> None:
        for message in messages:
            self.warnings.append(f"{stmt.file}:{stmt.line}: warning: {message}")

    def define(self, stmt: Statement, value: Value) -> None:
        if stmt.label in self.asm.external:
            raise self.asm.error(stmt, f"'{stmt.label}' is already defined outside this file")
        if stmt.label in self.symbols:
            raise self.asm.error(stmt, f"'{stmt.label}' is defined twice")
        self.symbols[stmt.label] = value
        self.asm.defined[stmt.label] = value

    def statement(self, index: int, stmt: Statement) -> None:
        warnings: list[str] = []
        ctx = self.context(stmt, warnings)
        if stmt.kind == "equ":
            value = evaluate_value(stmt.operands[0], ctx)
            if value.regs:
                raise ExprError("an equ constant cannot hold a register")
            self.define(stmt, value)
            self.warn(stmt, warnings)
            return
        if stmt.label is not None:
            self.define(stmt, Value(ctx.here, reloc=1))
        if stmt.kind == "section":
            self.current = self.sections[section_name(stmt.operands)]
            return
        before = self.current.size
        self.emit(index, stmt, ctx)
        self.warn(stmt, warnings)
        if self.current.size > before:
            start = self.current.address + before
            self.lines.append(LineEntry(start, self.current.size - before, stmt.line,
                                        stmt.file))

    # -- emitting ------------------------------------------------------------------------

    def emit(self, index: int, stmt: Statement, ctx: Context) -> None:
        if stmt.times is None:
            self.once(index, stmt, ctx)
            return
        value = evaluate_value(stmt.times, ctx)
        count = value.number if value.scalar or value.unknown else None
        if count is None:
            raise ExprError("times needs a number, not an address")
        if count < 0:
            if value.unknown:
                return
            raise ExprError(f"times count is negative ({count})")
        self.repeat(index, stmt, ctx, count)

    def repeat(self, index: int, stmt: Statement, ctx: Context, count: int) -> None:
        """`times count stmt`. As in NASM, `$` is the start of the line in every
        copy, so copies differ only if the instruction is relative to its own
        address (a branch, [rel x]); the others are made once and copied."""
        if count == 0:
            return
        section = self.current
        before = section.size
        self.once(index, stmt, ctx)
        size = section.size - before
        if count == 1 or size == 0:
            return
        self.check_room(section, size * (count - 1))
        piece = bytes(section.data[before:])
        if stmt.kind == "insn" and not self.same_everywhere(index, stmt, ctx, piece):
            if count > MAX_COPIES:
                raise ExprError(f"times {count:,}: at most {MAX_COPIES:,} copies of an "
                                f"instruction relative to its own address")
            for _ in range(count - 1):
                self.once(index, stmt, ctx)
        elif section.name == ".bss" or stmt.kind == "reserve":
            self.reserve(section, size * (count - 1))
        else:
            self.put(section, piece * (count - 1))

    def same_everywhere(self, index: int, stmt: Statement, ctx: Context, piece: bytes) -> bool:
        """True if `stmt` encodes to `piece` at the next address too."""
        if stmt.name in JUMPS:
            return False
        section = self.current
        return self.encode(stmt, ctx, section.address + section.size)[0] == piece

    def once(self, index: int, stmt: Statement, ctx: Context) -> None:
        kind, section = stmt.kind, self.current
        if kind == "insn":
            self.instruction(index, stmt, section, ctx)
        elif kind == "data":
            warnings: list[str] = []
            self.put(section, data_bytes(DATA_SIZES[stmt.name], stmt.operands, ctx, warnings),
                     zero_ok=True)
            ctx.warnings.extend(warnings)
        elif kind == "reserve":
            size = RESERVE_SIZES[stmt.name] * self.count_operand(stmt, ctx)
            if section.name != ".bss":
                ctx.warnings.append(f"uninitialized space declared in {section.name}: zeroing")
            self.reserve(section, size)
        elif kind == "align":
            self.align(index, stmt, section, ctx)
        else:
            self.directive(stmt, ctx)

    def directive(self, stmt: Statement, ctx: Context) -> None:
        kind = stmt.kind
        if kind == "global":
            self.asm.globals.update(op.split(":")[0].strip() for op in stmt.operands)
        elif kind == "extern":
            self.asm.externs.update(op.split(":")[0].strip() for op in stmt.operands)
        elif kind == "bits":
            if [op.strip() for op in stmt.operands] != ["64"]:
                raise ExprError("only 'bits 64' is supported: this machine runs 64-bit code")
        elif kind == "default":
            mode = " ".join(stmt.operands).lower()
            if mode not in ("rel", "abs"):
                raise ExprError(f"default must be rel or abs, got '{mode}'")
            self.default_rel = mode == "rel"
        elif kind == "org":
            value = evaluate_value(" ".join(stmt.operands) or "missing", ctx)
            if value.number != self.asm.base and not value.unknown:
                raise ExprError(f"org {value.number:#x} is not where this code is placed "
                                f"({self.asm.base:#x}): drop the org, or place it there")

    def count_operand(self, stmt: Statement, ctx: Context) -> int:
        if len(stmt.operands) != 1:
            raise ExprError(f"{stmt.name} needs exactly one value")
        value = evaluate_value(stmt.operands[0], ctx)
        if not value.scalar and not value.unknown:
            raise ExprError(f"{stmt.name} needs a number, not an address or register")
        if value.number < 0:
            if value.unknown:
                return 0
            raise ExprError(f"{stmt.name} count is negative ({value.number})")
        return value.number

    def align(self, index: int, stmt: Statement, section: Section, ctx: Context) -> None:
        """NASM's align: `times (-($ - $$)) % N` of the fill (nop; resb 1 for alignb)."""
        if not stmt.operands or len(stmt.operands) > 2:
            raise ExprError(f"{stmt.name} needs a boundary (and, for align, a fill)")
        value = evaluate_value(stmt.operands[0], ctx)
        boundary = value.number
        if boundary <= 0 or boundary & (boundary - 1) or not value.scalar:
            raise ExprError(f"{stmt.name} needs a power of two, got {stmt.operands[0]}")
        if boundary > MAX_ALIGN:
            raise ExprError(f"alignment {boundary:#x} is absurdly large (at most {MAX_ALIGN:#x})")
        pad = -(ctx.here - section.address) % boundary
        fill = stmt.operands[1] if len(stmt.operands) == 2 else None
        if stmt.name == "alignb" or section.name == ".bss" and fill is None:
            self.reserve(section, pad)
        elif fill is None:
            self.check_room(section, pad)
            self.put(section, self.asm.nop * pad)
        else:
            filler = Reader().statement(Line(stmt.file, stmt.line, fill, stmt.source))
            filler.scope = stmt.scope
            self.repeat(index, filler, ctx, pad)

    def encode(self, stmt: Statement, ctx: Context, address: int) -> tuple[bytes, list]:
        """The bytes of an instruction at `address`. While a symbol it uses is not
        defined yet, an instruction that cannot be encoded with the guessed value
        is a NOP stand-in: a later pass knows the value (or reports the symbol)."""
        operands = [self.operand(text, ctx) for text in stmt.operands]
        try:
            encoded = self.asm.encoder.encode(Instruction(stmt.name, stmt.prefixes, operands),
                                              address)
        except EncodeError:
            if not any(getattr(op, "unknown", False) for op in operands):
                raise
            return self.asm.nop, []
        return encoded.data, encoded.warnings

    def operand(self, text: str, ctx: Context):
        """parse_operand(), remembered when it used no symbol, no $ and warned of
        nothing: the same text is then the same operand in every pass."""
        key = (text, self.default_rel)
        cached = self.asm.operands.get(key)
        if cached is not None:
            return cached
        uses, warned = ctx.uses, len(ctx.warnings)
        ctx.uses = set()
        try:
            operand = parse_operand(text, ctx, self.default_rel)
            if not ctx.uses and len(ctx.warnings) == warned:
                self.asm.operands[key] = operand
        finally:
            ctx.uses = uses | ctx.uses
        return operand

    def instruction(self, index: int, stmt: Statement, section: Section, ctx: Context) -> None:
        if section.name == ".bss":
            raise ExprError("instructions cannot go in .bss")
        data, warnings = self.encode(stmt, ctx, section.address + section.size)
        if not ctx.warnings or warnings[:1] != ctx.warnings[-len(warnings):][:1]:
            ctx.warnings.extend(warnings)
        if self.freeze:
            floor = self.asm.sizes.get(index, 0)
            if len(data) < floor:
                data += self.asm.nop * (floor - len(data))
        self.asm.sizes[index] = max(self.asm.sizes.get(index, 0), len(data))
        self.put(section, data)

    # -- sections ----------------------------------------------------------------------

    def check_room(self, section: Section, size: int) -> None:
        if section.size + size > MAX_SECTION:
            raise ExprError(f"section {section.name} would exceed {MAX_SECTION >> 20} MiB")
        if section.name != ".bss" and self.output + size > MAX_OUTPUT:
            raise ExprError(f"the program would exceed {MAX_OUTPUT >> 20} MiB of code and "
                            f"data (this line adds {size:,} bytes)")

    def put(self, section: Section, data: bytes, zero_ok: bool = False) -> None:
        self.check_room(section, len(data))
        if section.name == ".bss":
            if any(data):
                raise ExprError("only zeros (resb/resq, or db 0) may go in .bss")
        else:
            section.data += data
            self.output += len(data)
        section.size += len(data)

    def reserve(self, section: Section, size: int) -> None:
        """resb and friends: zeros, never built in memory for .bss."""
        self.check_room(section, size)
        if section.name == ".bss":
            section.size += size
        else:
            self.put(section, bytes(size))

"""Frames: the call stack as gdb shows it, inlined calls included.

    frames = backtrace(dbg)                    # innermost first
    frames[1].name, frames[1].line, frames[1].args_text()

A physical frame is found by unwinding (unwind.py: CFI, or the frame-pointer
chain without it). Its pc may lie inside code the compiler inlined: then
DWARF's scopes at that pc hold DW_TAG_inlined_subroutine entries, and the one
physical frame shows as several frames, innermost first:

    #0  mm_free (bp=0x4052a0) at implicit.c:120         the inlined copy
    #1  main (argc=2, ...) at demo_main.h:88             the call site (no address)
    #2  0x0000000000401a54 in __libc_start_call_main ()  the next physical frame

An inlined frame's caller is at the inlined copy's DW_AT_call_file/line. A
frame's address is shown when its pc is not where its line starts (a return
address, or a stop between lines), except in the caller of an inlined copy.

Each Frame answers what DWARF locations ask (FrameAccess): its registers by
DWARF number (an outer frame knows only rsp, rip and what was saved), memory,
the function's frame base and the CFA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import disasm
from ..errors import UnmappedAccess
from .dwarf.locations import (DWARF_REGISTERS, RBP, RIP, RSP, FrameAccess, Location,
                              LocationError, evaluate, in_list, read_location)
from .dwarf.values import Value
from .source import SourceLine
from .unwind import caller_registers

MAX_FRAMES = 64
PROT_EXEC = 4


@dataclass(eq=False)
class Frame(FrameAccess):
    level: int
    pc: int
    lookup: int                      # pc for look-ups: a return address minus 1
    regs: dict                       # DWARF number -> value, what this frame knows
    dbg: object
    scopes: list = field(default_factory=list)    # [function or inlined copy, blocks...]
    function_scope: object = None    # the physical function's scope (frame base)
    name: str = "??"
    line: object = None              # SourceLine
    inline_caller: bool = False      # the frame inner to this one is inlined into it
    physical: int = 0
    frame_cfa: int | None = None

    # -- FrameAccess -----------------------------------------------------------------------

    def reg(self, number: int) -> int | None:
        return self.regs.get(number)

    def read(self, address: int, size: int) -> bytes:
        return self.dbg.target.read(address, size)

    def cfa(self) -> int | None:
        return self.frame_cfa

    def frame_base(self) -> int | None:
        scope = self.function_scope
        if scope is None or scope.frame_base is None:
            return None
        try:
            location = evaluate(bytes(scope.frame_base), self, parser=scope.unit.parser)
        except LocationError:
            return None
        if location.kind == "register":
            return self.reg(location.register)
        return location.address if location.kind == "memory" else None

    # -- variables ----------------------------------------------------------------------------

    @property
    def scope(self):
        """The function or inlined copy this frame shows (None without DWARF)."""
        return self.scopes[0] if self.scopes else None

    def visible_variables(self) -> list:
        """Locals of the innermost block first, out to the function; then its
        parameters."""
        out, seen = [], set()
        for scope in reversed(self.scopes):
            for var in scope.variables:
                if not var.is_param and var.name not in seen:
                    seen.add(var.name)
                    out.append(var)
        return out

    def arguments(self) -> list:
        return self.scope.params if self.scope is not None else []

    def find_variable(self, name: str):
        for scope in reversed(self.scopes):
            for var in scope.variables:
                if var.name == name:
                    return var
        return None

    def value_of(self, var) -> Value:
        """The Value of a DWARF variable in this frame."""
        if var.location is None:
            if var.const_value is not None:
                return _const(var)
            return Value(var.type, optimized=True)
        location = self.location_of(var)
        size = var.type.byte_size
        if location.kind == "memory":
            return Value(var.type, address=location.address)
        if location.kind == "register" and self.level == 0 and not self.inline_caller:
            name = DWARF_REGISTERS[location.register] if location.register < len(
                DWARF_REGISTERS) else None
            if name is not None and self.physical == 0:
                return Value(var.type, register=name)
        if location.kind == "optimized":
            return Value(var.type, optimized=True)
        try:
            data = read_location(location, size, self)
        except UnmappedAccess:
            data = None
        return Value(var.type, data=data) if data is not None else Value(var.type, optimized=True)

    def location_of(self, var) -> Location:
        unit = var.unit
        expr = var.location
        if not isinstance(expr, (bytes, bytearray)):
            bias = self.dbg.dwarf.bias
            expr = in_list(expr, self.lookup - bias, unit.base - bias)
            if expr is None:
                return Location("optimized")
        try:
            return evaluate(bytes(expr), self, parser=unit.parser)
        except (LocationError, UnmappedAccess, IndexError):
            return Location("optimized")

    @property
    def show_address(self) -> bool:
        if self.inline_caller:
            return False
        return self.dbg.info.row_address(self.lookup) != self.pc


def _const(var) -> Value:
    value = var.const_value
    size = var.type.byte_size
    if isinstance(value, int):
        return Value(var.type, data=(value & ((1 << (8 * max(size, 1))) - 1)).to_bytes(
            max(size, 1), "little"))
    return Value(var.type, data=bytes(value))


# -- building the stack ----------------------------------------------------------------------

def frame_zero_registers(dbg) -> dict:
    """Every register frame 0 has, by DWARF number."""
    names = [n for n in DWARF_REGISTERS]
    values = dbg.machine.read_regs(names)
    return dict(enumerate(values))


def backtrace(dbg, limit: int = MAX_FRAMES) -> list[Frame]:
    """The frames of the stack, innermost first (virtual inlined frames included)."""
    regs = frame_zero_registers(dbg)
    frames: list[Frame] = []
    physical = 0
    while len(frames) < limit:
        pc = regs[RIP]
        lookup = pc if physical == 0 else pc - 1
        virtual = _virtual_frames(dbg, pc, lookup, regs, physical, len(frames))
        frames += virtual
        step = _unwind(dbg, regs, lookup, physical)
        if step is None:
            break
        caller, cfa = step
        for frame in virtual:
            frame.frame_cfa = cfa
        if not _plausible(dbg, regs, caller):
            break
        regs, physical = caller, physical + 1
    return frames[:limit]


def _virtual_frames(dbg, pc: int, lookup: int, regs: dict, physical: int,
                    level: int) -> list[Frame]:
    chain = dbg.dwarf.scopes_at(lookup) if dbg.dwarf is not None else []
    line = dbg.info.line_at(lookup)
    if not chain:
        function = dbg.info.function_at(lookup)
        name = function.name if function else (dbg.describe(pc).split("+")[0] or "??")
        return [Frame(level, pc, lookup, regs, dbg, name=name, line=line, physical=physical)]
    groups, current = [], []
    for scope in chain:                             # split at each inlined copy
        if scope.kind == "inlined" and current:
            groups.append(current)
            current = []
        current.append(scope)
    groups.append(current)
    while len(groups) > 1 and not _holds_line(groups[-1][0], line):
        groups.pop()                               # the pc's line is the caller's
    frames = []
    for depth, group in enumerate(reversed(groups)):
        inner = groups[len(groups) - depth] if depth else None
        frame_line = line if depth == 0 else _call_site(dbg, inner[0])
        frames.append(Frame(level + depth, pc, lookup, regs, dbg, scopes=group,
                            function_scope=chain[0], name=group[0].name or "??",
                            line=frame_line, inline_caller=depth > 0, physical=physical))
    return frames


def _holds_line(scope, line) -> bool:
    """Can `line` be in the inlined function `scope`? Optimized code gives an
    inlined copy ranges that also cover its caller's instructions; a line of
    another file, or above the function's declaration, is not its own."""
    if line is None or not scope.decl_file:
        return True
    if line.path.rsplit("/", 1)[-1] != scope.decl_file.rsplit("/", 1)[-1]:
        return False
    return line.line >= scope.decl_line


def _call_site(dbg, inlined):
    path = inlined.call_file
    if not path:
        return None
    return SourceLine(path.rsplit("/", 1)[-1], inlined.call_line, path)


def _plausible(dbg, regs: dict, caller: dict) -> bool:
    """Is the unwound caller a real frame: a return address in executable
    memory, and a stack that grew back up?"""
    rip = caller.get(RIP)
    if not rip or caller.get(RSP, 0) <= regs.get(RSP, 0):
        return False
    vma = dbg.runner.aspace.vmas.find(rip)
    return vma is not None and bool(vma.prot & PROT_EXEC)


def _unwind(dbg, regs: dict, lookup: int, physical: int):
    """(caller registers, CFA) by CFI where the program has it, else by the
    frame-pointer chain; None at the outermost frame."""
    read = dbg.target.read_u64
    try:
        row = dbg.cfi.row(lookup) if dbg.cfi is not None else None
        if row is not None:
            return caller_registers(row, regs, read)
        return _frame_pointer_step(dbg, regs, lookup, physical)
    except UnmappedAccess:
        return None


def _frame_pointer_step(dbg, regs: dict, lookup: int, physical: int):
    rsp, rbp = regs[RSP], regs.get(RBP)
    setup = frame_setup(dbg, lookup) if physical == 0 else "framed"
    if setup == "none":
        ret, fp, cfa = dbg.target.read_u64(rsp), rbp, rsp + 8
    elif setup == "pushed":
        ret, fp, cfa = dbg.target.read_u64(rsp + 8), dbg.target.read_u64(rsp), rsp + 16
    else:
        if not rbp:
            return None                             # rbp 0: _start's mark of the end
        ret, fp, cfa = dbg.target.read_u64(rbp + 8), dbg.target.read_u64(rbp), rbp + 16
    caller = {RIP: ret, RSP: cfa, RBP: fp}
    for number in (3, 12, 13, 14, 15):
        if number in regs:
            caller[number] = regs[number]
    return caller, cfa


def frame_setup(dbg, rip: int) -> str:
    """How far the function holding rip got with `push rbp; mov rbp, rsp`
    before rip: "none", "pushed" or "framed" (also when unknown)."""
    function = dbg.info.function_at(rip)
    if function is None or not function.start <= rip < function.start + 4096:
        return "framed"
    try:
        code = dbg.target.read(function.start, rip - function.start)
    except UnmappedAccess:
        return "framed"
    state = "none"
    for insn in disasm.decode_many(code, function.start):
        text = disasm.text(insn)
        if text == "push rbp":
            state = "pushed"
        elif text == "mov rbp, rsp" and state == "pushed":
            return "framed"
    return state


def current_cfa(dbg, pc: int) -> int:
    """The CFA of the function running at pc, from the registers now: its
    CFI rule, else rsp/rbp by how far its `push rbp; mov rbp, rsp` has run."""
    machine = dbg.machine
    row = dbg.cfi.row(pc) if dbg.cfi is not None else None
    if row is not None and row["cfa"].expr is None and row["cfa"].reg in (RSP, RBP):
        base = machine.reg("rsp" if row["cfa"].reg == RSP else "rbp")
        return base + row["cfa"].offset
    setup = frame_setup(dbg, pc)
    if setup == "none":
        return machine.reg("rsp") + 8
    if setup == "pushed":
        return machine.reg("rsp") + 16
    return machine.reg("rbp") + 16


def caller_of_frame0(dbg) -> tuple[int, int] | None:
    """(return address, CFA) of the innermost physical frame; None when it is
    the outermost."""
    regs = frame_zero_registers(dbg)
    step = _unwind(dbg, regs, regs[RIP], 0)
    if step is None:
        return None
    caller, cfa = step
    return caller[RIP], cfa

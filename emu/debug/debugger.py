"""gdb's execution commands over a Target: locations, source stepping, frames.

    dbg = Debugger.start(path, argv)          # loaded, stopped at the entry point
    dbg.break_at("main"); dbg.cont()
    dbg.next(); dbg.finish(); dbg.backtrace()

Every stepping command (stepi, nexti, step, next, finish, until) runs as
recorded single steps, so each can be undone with reverse-stepi or
reverse-continue within the history; continue runs at full speed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import disasm
from ..errors import UnmappedAccess, UsageError
from ..machine import Machine
from ..paging import U64
from ..loader import load_program
from ..runner import ProcessRunner
from ..symbols import SymbolTable
from .source import ProgramInfo, SourceLine
from .target import Stop, Target

MAX_STEPS = 5_000_000          # a source step that runs longer than this stops anyway
MAX_FRAMES = 64


@dataclass(frozen=True)
class Frame:
    level: int
    rip: int
    frame_pointer: int
    function: str
    line: SourceLine | None


class Debugger:
    """A program under debug: its Target, symbols and source information."""

    def __init__(self, target: Target, image, info: ProgramInfo, argv: list[str]):
        self.target = target
        self.image = image
        self.info = info
        self.argv = argv
        self.symbols = SymbolTable()
        for name, value in image.symbols.items():
            self.symbols.add_address(name, value)

    @classmethod
    def start(cls, path, argv: list[str], *, ram_mib: int = 1024, libc: str = "runtime",
              cc: str | None = None, link=(), stdin: bytes = b"", echo=None,
              history: int | None = None) -> "Debugger":
        image = load_program(path, libc=libc, cc=cc, link=link)
        runner = ProcessRunner(Machine(ram_mib=ram_mib), image, argv, stdin=stdin, echo=echo)
        target = Target(runner) if history is None else Target(runner, history)
        return cls(target, image, ProgramInfo.for_image(image), argv)

    @property
    def machine(self) -> Machine:
        return self.target.machine

    @property
    def runner(self) -> ProcessRunner:
        return self.target.runner

    # -- locations ----------------------------------------------------------------------

    def resolve(self, spec: str) -> tuple[int, str]:
        """An address and a description from 'main', '*0x401000', '0x401000',
        'file.c:12' or '12' (a line of the current file). UsageError if unknown."""
        spec = spec.strip()
        if not spec:
            raise UsageError("a location is needed: FUNCTION, FILE:LINE, LINE or *ADDRESS")
        if spec.startswith("*"):
            address = self.evaluate(spec[1:])
            return address, f"{address:#x}"
        if ":" in spec:
            file, _, line = spec.rpartition(":")
            return self._line_address(file, line, spec)
        if spec.isdigit():
            here = self.info.line_at(self.target.rip)
            if here is None:
                raise UsageError(f"no source file here to find line {spec} in")
            return self._line_address(here.file, spec, spec)
        function = self.info.function_named(spec)
        if function is not None:
            return self._after_prologue(function.start), spec
        value = self.symbols.get(spec)
        if value is None:
            try:
                value = int(spec, 0)
            except ValueError:
                raise UsageError(f"no symbol '{spec}' in the program") from None
        return value, spec

    def _line_address(self, file: str, line_text: str, spec: str) -> tuple[int, str]:
        try:
            line = int(line_text)
        except ValueError:
            raise UsageError(f"'{spec}': the line must be a number") from None
        actual = self.info.nearest_line(file, line)
        if actual is None:
            raise UsageError(f"no code at or after line {line} of '{file}'")
        return self.info.addresses_of(file, actual)[0], f"{file}:{actual}"

    def _after_prologue(self, start: int) -> int:
        """Where `break FUNCTION` goes: after the frame set-up (push rbp; mov
        rbp, rsp; pushes of saved registers; sub rsp), which every call runs
        through. Programs here keep frame pointers, so this is reliable where
        reading the line table is not (-O2 moves lines out of order)."""
        try:
            code = self.target.read(start, 64)
        except UnmappedAccess:
            return start
        address = start
        insns = disasm.decode_many(code, start, 16)
        for insn in insns:
            text = disasm.text(insn)
            if text == "push rbp" or text == "mov rbp, rsp" or \
                    (insn.mnemonic == "push" and address > start) or \
                    (insn.mnemonic == "sub" and insn.op_str.startswith("rsp,")):
                address = insn.address + insn.size
                continue
            break
        return self._first_body_line(address, insns)

    def _first_body_line(self, address: int, insns) -> int:
        """Move on to the first instruction of the body's first line when it
        follows in straight-line code (no branch on the way), as gdb reports it."""
        opening = self.info.line_at(address)
        if opening is None:
            return address
        for insn in insns:
            if insn.address < address:
                continue
            line = self.info.line_at(insn.address)
            if line is not None and line != opening and self._row_start(insn.address):
                return insn.address
            if insn.mnemonic.startswith(("j", "call", "ret", "loop")):
                break
        return address

    def _row_start(self, address: int) -> bool:
        line = self.info.line_at(address)
        return line is not None and self.info.line_at(address - 1) != line

    def evaluate(self, text: str) -> int:
        """A gdb-style expression: numbers, $registers, symbols, + - * / ( )."""
        from ..assembler.expr import Context, ExprError, evaluate
        regs = self.target.registers()

        def lookup(name: str):
            lowered = name.lower()
            if lowered in regs:
                return regs[lowered]
            if lowered in ("pc", "sp", "fp"):
                return regs[{"pc": "rip", "sp": "rsp", "fp": "rbp"}[lowered]]
            if lowered in ("fs_base", "gs_base", "eflags"):
                return self.machine.reg("rflags" if lowered == "eflags" else lowered)
            return self.symbols.get(name)
        ctx = Context(lookup)
        try:
            value = evaluate(text, ctx)
        except ExprError as exc:
            raise UsageError(str(exc)) from None
        if ctx.missing:
            raise UsageError(f"no symbol '{sorted(ctx.missing)[0]}' in the program")
        return value & U64

    def break_at(self, spec: str, temporary: bool = False):
        address, where = self.resolve(spec)
        return self.target.add_breakpoint(address, temporary=temporary, location=where)

    def describe(self, address: int) -> str:
        return self.symbols.describe(address) or self.machine.faults.describe(address)

    # -- execution ----------------------------------------------------------------------

    def stepi(self, count: int = 1) -> Stop:
        stop = Stop("step", self.target.rip)
        for _ in range(max(count, 1)):
            stop = self.target.step()
            if stop.kind != "step":
                break
        return stop

    def cont(self) -> Stop:
        return self.target.cont()

    def nexti(self, count: int = 1) -> Stop:
        stop = Stop("step", self.target.rip)
        for _ in range(max(count, 1)):
            stop = self._step_over_instruction()
            if stop.kind != "step":
                break
        return stop

    def _instruction(self, address: int):
        try:
            return disasm.decode(self.target.read(address, disasm.MAX_INSN), address)
        except UnmappedAccess:
            return None

    def _step_over_instruction(self) -> Stop:
        """One instruction, treating a call as one instruction (until it returns)."""
        insn = self._instruction(self.target.rip)
        if insn is None or insn.mnemonic != "call":
            return self.target.step()
        return_address = insn.address + insn.size
        rsp = self.target.registers()["rsp"]
        stop = self.target.step()
        steps = 0
        while stop.kind == "step" and steps < MAX_STEPS:
            regs = self.target.registers()
            if regs["rip"] == return_address and regs["rsp"] >= rsp:
                break
            stop = self.target.step()
            steps += 1
        return stop

    def step(self, count: int = 1, over_calls: bool = False) -> Stop:
        """Source-line steps (gdb's step; `next` when over_calls)."""
        stop = Stop("step", self.target.rip)
        for _ in range(max(count, 1)):
            stop = self._line_step(over_calls)
            if stop.kind != "step":
                break
        return stop

    def next(self, count: int = 1) -> Stop:
        return self.step(count, over_calls=True)

    def _line_step(self, over_calls: bool) -> Stop:
        start_line = self.info.line_at(self.target.rip)
        if start_line is None:              # no line information: one instruction
            return self._step_over_instruction() if over_calls else self.target.step()
        frame_rsp = self.target.registers()["rsp"]
        start_function = self.info.function_at(self.target.rip)
        steps = 0
        while steps < MAX_STEPS:
            insn = self._instruction(self.target.rip)
            if over_calls and insn is not None and insn.mnemonic == "call":
                stop = self._step_over_instruction()
            else:
                stop = self.target.step()
            steps += 1
            if stop.kind != "step":
                return stop
            rip = self.target.rip
            line = self.info.line_at(rip)
            if line is None:
                # in code without line information (a libc function): get out
                if self.info.function_at(rip) is not start_function:
                    stop = self.finish()
                    if stop.kind != "step":
                        return stop
                    continue
            elif line != start_line and self._row_start(rip):
                return Stop("step", rip)
            if self.target.registers()["rsp"] > frame_rsp and \
                    self.info.function_at(rip) is not start_function and line is not None:
                return Stop("step", rip)    # returned into the caller
        return Stop("step", self.target.rip, message="stopped after too many steps")

    def finish(self) -> Stop:
        """Run until the current function returns to its caller."""
        depth, steps = 0, 0
        while steps < MAX_STEPS:
            insn = self._instruction(self.target.rip)
            stop = self.target.step()
            steps += 1
            if stop.kind != "step":
                return stop
            if insn is None:
                continue
            if insn.mnemonic == "call":
                depth += 1
            elif insn.mnemonic in ("ret", "retq"):
                if depth == 0:
                    return Stop("step", self.target.rip)
                depth -= 1
        return Stop("step", self.target.rip, message="stopped after too many steps")

    def until(self) -> Stop:
        """Like next, but never stops on a line at or above the current one in
        this frame: runs a loop to its end."""
        start = self.info.line_at(self.target.rip)
        if start is None:
            return self.nexti()
        frame_rsp = self.target.registers()["rsp"]
        while True:
            stop = self.next()
            if stop.kind != "step":
                return stop
            line = self.info.line_at(self.target.rip)
            rsp = self.target.registers()["rsp"]
            if line is None or rsp > frame_rsp or line.file != start.file or line.line > start.line:
                return stop

    def reverse_stepi(self, count: int = 1) -> Stop:
        stop = Stop("step", self.target.rip)
        for _ in range(max(count, 1)):
            stop = self.target.reverse_step()
            if stop.kind != "step":
                break
        return stop

    def reverse_cont(self) -> Stop:
        return self.target.reverse_cont()

    def restart(self) -> None:
        """Load the program afresh (gdb's `run` after a first run)."""
        self.target.runner.finish()
        old = self.target
        runner = ProcessRunner(Machine(ram_mib=old.machine.ram_mib), self.image, self.argv,
                          stdin=old.runner.process.stdin, echo=old.runner.process.echo)
        target = Target(runner, old.history.limit)
        for bp in old.breakpoints.values():
            target.add_breakpoint(bp.address, bp.temporary, bp.location)
        self.target = target

    # -- frames ---------------------------------------------------------------------------

    def backtrace(self) -> list[Frame]:
        """Frames by the frame-pointer chain (programs here keep frame pointers).

        The innermost frame may not have set up its frame yet: at its start, or
        in code clang runs before the prologue (shrink wrapping), the return
        address is still at [rsp], and after `push rbp` at [rsp + 8]."""
        regs = self.target.registers()
        rip, rsp, rbp = regs["rip"], regs["rsp"], regs["rbp"]
        frames = [self._frame(0, rip, rbp)]
        setup = self._frame_setup(rip)
        try:
            if setup == "none":
                ret, fp = self.target.read_u64(rsp), rbp
            elif setup == "pushed":
                ret, fp = self.target.read_u64(rsp + 8), rbp
            else:
                ret, fp = self.target.read_u64(rbp + 8), self.target.read_u64(rbp)
            while ret and len(frames) < MAX_FRAMES:
                frames.append(self._frame(len(frames), ret, fp))
                if not fp:
                    break
                ret, fp = self.target.read_u64(fp + 8), self.target.read_u64(fp)
        except UnmappedAccess:
            pass
        return frames

    def _frame_setup(self, rip: int) -> str:
        """How far the function holding rip got with `push rbp; mov rbp, rsp`
        before rip: "none", "pushed" or "framed" (also when unknown)."""
        function = self.info.function_at(rip)
        if function is None or not function.start <= rip < function.start + 4096:
            return "framed"
        try:
            code = self.target.read(function.start, rip - function.start)
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

    def _frame(self, level: int, rip: int, fp: int) -> Frame:
        function = self.info.function_at(rip)
        lookup = rip if level == 0 else rip - 1      # a return address is after the call
        return Frame(level, rip, fp, function.name if function else self.describe(rip) or "??",
                     self.info.line_at(lookup))

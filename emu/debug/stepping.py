"""gdb's execution commands over a Target: stepi, nexti, step, next, finish, until.

Each runs as one recorded run (Target.run_recorded) with a stop_at(address)
test asked before every instruction, so each can be undone with
reverse-stepi or reverse-continue within the history. The tests are cheap
on the common path (an address in the current line's range); registers are
read only at a candidate stop.

The frame identity is the CFA (the caller's rsp: frames.current_cfa), so
recursion is told from a return. Line stepping, as gdb does it:

  * a row start of a different line in the same frame stops;
  * a call is stepped over by `next`; `step` stops after the callee's
    prologue when the callee has line information;
  * a return to the caller lands mid-line: stepping goes on to the caller's
    next line (the caller's frame header is then shown), or stops at once
    when the caller has no line information (`__libc_start_call_main ()`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import disasm
from ..errors import UnmappedAccess
from .frames import caller_of_frame0, current_cfa
from .locations import after_prologue
from .target import Stop

MAX_STEPS = 5_000_000          # a source step that runs longer than this stops anyway


@dataclass
class LineStep:
    """The state of one step/next: the line being left and the frame it is in."""
    line: object
    lo: int
    hi: int
    cfa: int
    ret: int | None
    into: bool                   # step (into calls) rather than next
    goal: int | None = None      # step: the callee's first line, once entered
    goal_cfa: int | None = None
    forward_only: bool = False   # until: never stop on an earlier line of the frame


class Stepping:
    """The execution commands of the Debugger (mixed into it)."""

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
        rsp = self.machine.reg("rsp")
        machine = self.machine
        return self.target.run_recorded(
            lambda a: a == return_address and machine.reg("rsp") >= rsp)

    def step(self, count: int = 1, over_calls: bool = False) -> Stop:
        """Source-line steps (gdb's step; `next` when over_calls)."""
        stop = Stop("step", self.target.rip)
        for _ in range(max(count, 1)):
            stop = self._line_step(into=not over_calls)
            if stop.kind != "step":
                break
        return stop

    def next(self, count: int = 1) -> Stop:
        return self.step(count, over_calls=True)

    def until(self) -> Stop:
        """Like next, but never stops on an earlier line of this frame: runs a
        loop to its end."""
        return self._line_step(into=False, forward_only=True)

    def _line_step(self, into: bool, forward_only: bool = False) -> Stop:
        rip = self.target.rip
        line = self.info.line_at(rip)
        if line is None:              # no line information: one instruction
            return self.target.step() if into else self._step_over_instruction()
        lo, hi = self.info.line_range(rip)
        caller = caller_of_frame0(self)
        state = LineStep(line, lo, hi, current_cfa(self, rip), caller[0] if caller else None,
                         into, forward_only=forward_only)
        return self.target.run_recorded(lambda address: self._line_stop(state, address))

    def _line_stop(self, s: LineStep, address: int) -> bool:
        """Stop before `address`? (the stop_at of a line step)"""
        if s.goal is not None:
            return address == s.goal and current_cfa(self, address) == s.goal_cfa
        if s.lo <= address < s.hi:
            return False
        if address == s.ret and self.machine.reg("rsp") == s.cfa:
            return self._returned(s, address)
        if not self.info.is_row_start(address):
            return False
        cfa = current_cfa(self, address)
        line = self.info.line_at(address)
        if cfa < s.cfa:                                  # a callee
            return self._entered(s, address, cfa)
        if s.forward_only and cfa == s.cfa and line is not None and \
                line.file == s.line.file and line.line < s.line.line:
            return False
        return line is not None and line != s.line

    def _entered(self, s: LineStep, address: int, cfa: int) -> bool:
        if not s.into:
            return False
        function = self.info.function_at(address)
        if function is None or function.start != address:
            return False
        goal = after_prologue(self, address)
        if goal == address:
            return True
        s.goal, s.goal_cfa = goal, cfa
        return False

    def _returned(self, s: LineStep, address: int) -> bool:
        """Back in the caller, mid-line: finish that line, unless the caller
        has no line information (then stop here)."""
        line = self.info.line_at(address)
        if line is None:
            return True
        s.line = line
        s.lo, s.hi = self.info.line_range(address)
        s.cfa = current_cfa(self, address)
        caller = caller_of_frame0(self)
        s.ret = caller[0] if caller else None
        s.forward_only = False
        return False

    def finish(self) -> Stop:
        """Run until the selected frame returns to its caller (or, for an
        inlined frame, until the code leaves the inlined copy)."""
        frames = self.backtrace()
        selected = frames[min(self.selected, len(frames) - 1)]
        if selected.scope is not None and selected.scope.kind == "inlined":
            scope, cfa = selected.scope, current_cfa(self, self.target.rip)
            return self.target.run_recorded(
                lambda a: not scope.contains(a) and current_cfa(self, a) >= cfa)
        outer = next((f for f in frames[selected.level + 1:]
                      if f.physical > selected.physical), None)
        if outer is None:
            return Stop("step", self.target.rip,
                        message='"finish" not meaningful in the outermost frame.')
        ret, cfa = outer.pc, selected.frame_cfa
        machine = self.machine
        return self.target.run_recorded(lambda a: a == ret and machine.reg("rsp") >= cfa)

    def reverse_stepi(self, count: int = 1) -> Stop:
        stop = Stop("step", self.target.rip)
        for _ in range(max(count, 1)):
            stop = self.target.reverse_step()
            if stop.kind != "step":
                break
        return stop

    def reverse_cont(self) -> Stop:
        return self.target.reverse_cont()

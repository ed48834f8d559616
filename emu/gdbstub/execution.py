"""Resuming the program: s, c, S, C, vCont, bs and bc, and gdb's Ctrl-C.

    vCont;s:3e8            step one instruction            Target.step()
    vCont;c                continue                        Target.cont()
    vCont;r1000,1010:3e8   step while rip stays in         Target.run_recorded()
                           [0x1000, 0x1010) (range stepping: one round trip per line)
    vCont;C0b              continue passing SIGSEGV        Target.deliver(), cont()
    bs / bc                reverse step / continue         Target.reverse_step/_cont()

There is one thread, so an action applies when it names no thread, ours in
any hex spelling, or all threads (-1). The signal of C/S/vCont;C/S is passed to
the process (gdb's numbering, translated to Linux's); c/s pass none, so after
a SIGSEGV, `signal 0` (or a fixed register and `continue` with the signal
not passed) runs the faulting instruction again, as on Linux.

An interrupt (Ctrl-C in gdb) arrives on the watcher thread: it raises a flag
that stepping loops check, and stops Unicorn through Machine.stop, which the
Target turns into an "interrupted" stop.

Continuing runs without recording unless the target's `recording` is on
(`emu gdbserver --record`, or `monitor record`): otherwise Target.cont() drops
the reverse history and reverse execution stops at the continue's end.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..debug.target import Stop
from .packets import E_MALFORMED, PacketError, parse_number
from .stops import linux_signal


@dataclass(frozen=True)
class Action:
    """What to do: kind "s" step, "c" continue, "r" range step [start, end)."""
    kind: str
    signal: int = 0
    start: int = 0
    end: int = 0


class Interrupted:
    """The stop request an interrupt hands to Machine.stop."""


def parse_vcont(args: bytes, ids) -> Action:
    """The action for our thread in 'ACTION[:TID];ACTION[:TID]...' (what
    follows 'vCont;'): the leftmost that applies. PacketError if none does."""
    for item in args.split(b";"):
        action, _, thread = item.partition(b":")
        if not thread or ids.matches(thread):
            return _action(action)
    raise PacketError(f"vCont: no action for thread {ids.thread} in {args[:40]!r}")


def _action(text: bytes) -> Action:
    letter, rest = text[:1], text[1:]
    if letter in (b"c", b"s") and not rest:
        return Action(letter.decode())
    if letter in (b"C", b"S"):
        return Action(letter.lower().decode(), parse_number(rest, "vCont signal"))
    if letter == b"r":
        start, comma, end = rest.partition(b",")
        if not comma:
            raise PacketError(f"vCont;r: expected START,END, found {rest[:40]!r}")
        return Action("r", start=parse_number(start, "vCont;r start"),
                      end=parse_number(end, "vCont;r end"))
    raise PacketError(f"vCont: unknown action {text[:20]!r}")


def parse_resume(letter: str, args: bytes) -> tuple[Action, int | None]:
    """s/c [ADDR] and S/C SIG[;ADDR]: the action and the address to resume at."""
    signal = 0
    if letter in "SC":
        sig, _, args = args.partition(b";")
        signal = parse_number(sig, f"{letter} signal")
    address = parse_number(args, f"{letter} address") if args else None
    return Action(letter.lower(), signal), address


class Resumer:
    """Resumes a Target on gdb's behalf; `while_running(on_interrupt)` is the
    connection's watch for Ctrl-C (a context manager)."""

    def __init__(self, target, machine, while_running):
        self.target = target
        self.machine = machine
        self.while_running = while_running
        self._interrupted = threading.Event()

    def run(self, action: Action) -> Stop:
        """Carry out a step, continue or range step, passing the action's signal
        first; the Stop says why it ended."""
        self._interrupted.clear()
        signo = linux_signal(action.signal)
        if signo is None:
            raise PacketError(f"no Linux signal for gdb's signal {action.signal}", E_MALFORMED)
        ended = self.target.deliver(signo)
        if ended is not None:
            return ended
        if action.kind == "s":
            return self.target.step()
        with self.while_running(self.interrupt):
            if action.kind == "r":
                return self.target.run_recorded(
                    lambda address: not action.start <= address < action.end)
            return self.target.cont()

    def interrupt(self) -> None:
        """From the watcher thread: stop whatever is running."""
        self._interrupted.set()
        self.machine.stop(Interrupted())

    def reverse(self, letter: str) -> Stop:
        """bs or bc."""
        if letter == "s":
            return self.target.reverse_step()
        return self.target.reverse_cont()

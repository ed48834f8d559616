"""Resuming the program: s, c, S, C, vCont, bs and bc, and gdb's Ctrl-C.

    vCont;s:1              step one instruction            Target.step()
    vCont;c                continue                        Target.cont()
    vCont;r1000,1010:1     step while rip stays in         Target.step() in a loop
                           [0x1000, 0x1010) (range stepping: one round trip per line)
    bs / bc                reverse step / continue         Target.reverse_step/_cont()

There is one thread, so an action applies when it names no thread, thread 1,
or all threads (-1). Signals passed with C/S/vCont;C are dropped: the kernel
here delivers none (a program that faulted cannot go on anyway).

An interrupt (Ctrl-C in gdb) arrives on the watcher thread: it raises a flag
that stepping loops check, and stops Unicorn through Machine.stop, which the
Target turns into an "interrupted" stop.

Continuing runs without recording, so Target.cont() drops the reverse
history: reverse execution then stops at the continue's end ("no more history").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..debug.target import Stop
from .packets import PacketError, parse_number

OUR_THREADS = (b"-1", b"0", b"1")


@dataclass(frozen=True)
class Action:
    """What to do: kind "s" step, "c" continue, "r" range step [start, end)."""
    kind: str
    signal: int = 0
    start: int = 0
    end: int = 0


class Interrupted:
    """The stop request an interrupt hands to Machine.stop."""


def parse_vcont(args: bytes) -> Action:
    """The action for our thread in 'ACTION[:TID];ACTION[:TID]...' (what
    follows 'vCont;'): the leftmost that applies. PacketError if none does."""
    for item in args.split(b";"):
        action, _, thread = item.partition(b":")
        if not thread or _is_ours(thread):
            return _action(action)
    raise PacketError(f"vCont: no action for thread 1 in {args[:40]!r}")


def _is_ours(thread: bytes) -> bool:
    if thread.startswith(b"p"):
        thread = thread.partition(b".")[2] or b"-1"
    return thread in OUR_THREADS


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
        """Carry out a step, continue or range step; the Stop says why it ended."""
        self._interrupted.clear()
        if action.kind == "s":
            return self.target.step()
        with self.while_running(self.interrupt):
            if action.kind == "r":
                return self._range_step(action.start, action.end)
            return self.target.cont()

    def interrupt(self) -> None:
        """From the watcher thread: stop whatever is running."""
        self._interrupted.set()
        self.machine.stop(Interrupted())

    def _range_step(self, start: int, end: int) -> Stop:
        while True:
            stop = self.target.step()
            if stop.kind != "step":
                return stop
            rip = self.target.rip
            breakpoint = self.target.breakpoint_at(rip)
            if breakpoint is not None:
                return Stop("breakpoint", rip, breakpoint=breakpoint)
            if self._interrupted.is_set():
                return Stop("interrupted", rip)
            if not start <= rip < end:
                return stop

    def reverse(self, letter: str) -> Stop:
        """bs or bc."""
        if letter == "s":
            return self.target.reverse_step()
        return self.target.reverse_cont()

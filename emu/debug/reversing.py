"""Going backwards, and letting go: the Target's reverse execution and detach.

    reverse_step()   undo the newest recorded instruction
    reverse_cont()   undo until a breakpoint, a watched change, or the start of
                     the log (which comes first, as in gdb)
    release()        let the process run by itself to its end (gdb's detach)

Mixed into Target (target.py), whose history, breakpoints and watchpoints
these use.
"""

from __future__ import annotations

from ..errors import UnmappedAccess
from .events import CONTINUE, Stop
from .watchpoints import Watchpoint


class Reversing:
    """Target's reverse execution and release (a mixin: see Target)."""

    def release(self) -> None:
        """Let the process run by itself to its end, as after ptrace's detach:
        breakpoints and watchpoints go, the pending signal is discarded (gdb's
        D passes none; a fault happens again, an abort() raises again) and
        signals kill again."""
        for number in {b.number for b in self.breakpoints.values()} | set(self.watchpoints):
            self.delete(number)
        self.recording = False
        self.history.stop_recording()
        self.history.clear()
        if self.alive:
            self.runner.deliver(0)
        self.runner.debugged = False
        while self.alive:
            self.runner.resume(CONTINUE)

    # -- reverse ------------------------------------------------------------------------

    def reverse_step(self) -> Stop:
        """Undo the last recorded instruction."""
        record = self.history.undo()
        if record is None:
            return Stop("history-start", self.rip,
                        message="no more reverse-execution history")
        self._refresh_watches()
        return Stop("step", self.rip)

    def reverse_cont(self) -> Stop:
        """Undo instructions until a breakpoint address or a watched change."""
        while True:
            before = {n: self._safe_read(w) for n, w in self.watchpoints.items()}
            record = self.history.undo()
            if record is None:
                return Stop("history-start", self.rip,
                            message="no more reverse-execution history")
            for number, wp in self.watchpoints.items():
                now = self._safe_read(wp)
                if now != before[number]:
                    self._refresh_watches()
                    return Stop("watchpoint", self.rip, watchpoint=wp, old=before[number],
                                new=now)
            if not self.history.records:           # the start of the log comes first, as in gdb
                self._refresh_watches()
                return Stop("history-start", self.rip,
                            message="no more reverse-execution history")
            bp = self.breakpoint_at(self.rip)
            if bp is not None:
                self._refresh_watches()
                return Stop("breakpoint", self.rip, breakpoint=bp)

    def _safe_read(self, wp: Watchpoint) -> bytes:
        if wp.sample is not None:
            return wp.old
        try:
            return self.read(wp.address, wp.length)
        except UnmappedAccess:
            return b""


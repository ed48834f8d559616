"""The debug target: one process under control, for `emu debug` and the gdb stub.

Execution:
  step()          one instruction, recorded in the history (reversible)
  run_recorded()  run, recording every instruction, until stop_at(address) says
                  so (next, finish, until) or a breakpoint/watchpoint/signal/exit
  cont()          full speed, only breakpoint and watchpoint hooks installed;
                  recorded like run_recorded() when `recording` is on (gdb's
                  `record`): reverse execution then reaches back across it
  reverse_step()  undo one recorded instruction
  reverse_cont()  undo until a breakpoint, a watchpoint, or the start of history

Breakpoints are the machine's code hooks bounded to their address, so
continuing costs nothing elsewhere. When execution resumes on a breakpoint,
its first hit is the resume itself and is skipped.

Signals: the process is debugged (runner.debugged), so a fault or a signal it
sends itself stops it with the signal pending ("signalled"); the next resume
discards the signal unless deliver(signo) passed it first, which ends the
process when the signal kills ("killed"), as gdb's `continue` and `signal 0` do.

Watchpoints (watchpoints.py) stop after the access. Unicorn stops a memory
hook with the store already done but RIP still on the instruction, so
running on would repeat it: the target puts the old bytes back and steps that
one instruction with the hooks off. The stop is then after the instruction,
with the old and new values, as gdb reports it.
"""

from __future__ import annotations

from ..errors import UnmappedAccess
from ..machine import Budget
from ..paging import PAGE_4K, pages_in
from ..runner import SIGNALLED, STEPPED, ProcessRunner
from .history import DEFAULT_LIMIT, History, ReachedEnd, ReachedStop
from .events import CONTINUE, STEP, Breakpoint, Stop, Hit
from .reversing import Reversing
from .watchpoints import LEFT_SCOPE, Watchpoint, frames_now, hook_watch, unhook_watch

class Target(Reversing):
    """A ProcessRunner under a debugger's control."""

    def __init__(self, runner: ProcessRunner, history_limit: int = DEFAULT_LIMIT):
        if runner.trace is None:
            runner.trace = _ignore          # so every syscall gets its strace line
        runner.debugged = True
        self.runner = runner
        self.machine = runner.machine
        self.history = History(runner, history_limit)
        self.recording = False              # gdb's `record`: continue is recorded too
        self.breakpoints: dict[int, Breakpoint] = {}
        self.watchpoints: dict[int, Watchpoint] = {}
        self._numbers = 0
        self._skip_breakpoint_at: int | None = None
        self._watch_enabled = True
        self._software_hit = None

    # -- state ---------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.runner.alive

    def registers(self) -> dict[str, int]:
        return self.machine.registers()

    @property
    def rip(self) -> int:
        return self.machine.reg("rip")

    def read(self, vaddr: int, length: int) -> bytes:
        """Process memory through its page tables, as ptrace reads it: a page of
        a mapping that was never touched reads as zeros (and stays unmapped).
        UnmappedAccess outside every mapping."""
        root = self.runner.aspace.root
        try:
            return self.machine.mmu.read_virtual(vaddr, length, root=root)
        except UnmappedAccess:
            pass
        out = bytearray()
        for page in pages_in(vaddr, length):
            lo, hi = max(vaddr, page), min(vaddr + length, page + PAGE_4K)
            if self.machine.mmu.walk(page, root).mapped:
                out += self.machine.mmu.read_virtual(lo, hi - lo, root=root)
            elif self.runner.aspace.vmas.find(page) is not None:
                out += bytes(hi - lo)
            else:
                raise UnmappedAccess(lo, "outside every mapping of the process")
        return bytes(out)

    def write(self, vaddr: int, data: bytes) -> None:
        """Write process memory (ptrace's poke: untouched pages of a mapping are
        mapped first). UnmappedAccess outside every mapping."""
        space = self.runner.aspace
        for page in pages_in(vaddr, len(data)):
            if not self.machine.mmu.walk(page, space.root).mapped and space.vmas.find(page):
                space.map_page(page)
        self.machine.mmu.write_virtual(vaddr, data, root=space.root)
        self.machine.code_changed()        # the bytes may be code
        self.history.discard_future()

    def read_u64(self, vaddr: int) -> int:
        return int.from_bytes(self.read(vaddr, 8), "little")

    # -- breakpoints and watchpoints ----------------------------------------------------

    def _next_number(self) -> int:
        self._numbers += 1
        return self._numbers

    def add_breakpoint(self, address: int, temporary: bool = False, location: str = "",
                       number: int | None = None) -> Breakpoint:
        """A breakpoint at `address`. With `number`, it is a location of
        breakpoint `number` (gdb's 1.1, 1.2, ...: several places, one number)."""
        bp = Breakpoint(self._next_number() if number is None else number, address,
                        temporary, location=location)
        bp.hook = self.machine.add_breakpoint(address, lambda a: self._on_breakpoint(a, bp))
        self.breakpoints[bp.number if number is None else (number, address)] = bp
        return bp

    def renumber_from(self, other: "Target") -> None:
        """Go on numbering after `other`'s numbers (a restarted program)."""
        self._numbers = max(self._numbers, other._numbers)

    def delete(self, number: int) -> bool:
        """Delete breakpoint or watchpoint `number` (every location of it);
        False if there is none."""
        keys = [k for k, b in self.breakpoints.items() if b.number == number]
        for key in keys:
            bp = self.breakpoints.pop(key)
            self.machine.remove_hook(bp.hook)
            self.machine.drop_translation(bp.address)
        if number in self.watchpoints:
            unhook_watch(self.machine, self.watchpoints.pop(number))
            return True
        return bool(keys)

    def breakpoint_at(self, address: int) -> Breakpoint | None:
        return next((b for b in self.breakpoints.values() if b.address == address and b.enabled),
                    None)

    def add_watchpoint(self, address: int, length: int, kind: str = "write",
                       expression: str = "", render=None) -> Watchpoint:
        """Watch [address, address+length); the pages must lie in the process's VMAs."""
        wp = Watchpoint(self._next_number(), address, length, kind, expression,
                        render=render)
        self._hook_watch(wp)
        wp.old = self.read(address, length)
        self.watchpoints[wp.number] = wp
        return wp

    def add_software_watch(self, expression: str, sample, render) -> Watchpoint:
        """Watch a value that is not in memory; continue then runs recorded,
        comparing sample(address) before every instruction (see watchpoints.py)."""
        wp = Watchpoint(self._next_number(), 0, 0, "write", expression, render=render,
                        sample=sample)
        wp.old = sample(self.rip) or b""
        self.watchpoints[wp.number] = wp
        return wp

    def _software_stop_at(self, watches):
        def stop_at(address: int) -> bool:
            for wp in watches:
                now = wp.sample(address)
                if now is LEFT_SCOPE or (now is not None and now != wp.old):
                    self._software_hit = (wp, now)
                    return True
            return False
        return stop_at

    def _hook_watch(self, wp: Watchpoint) -> None:
        hook_watch(self.machine, self.runner.aspace, wp, self._on_watch_write,
                   self._on_watch_read)

    def _refresh_watches(self) -> None:
        """Follow remapping: look the watched frames up again."""
        for wp in self.watchpoints.values():
            if wp.sample is None and frames_now(self.machine, self.runner.aspace, wp) != wp.frames:
                self._hook_watch(wp)

    # -- hooks --------------------------------------------------------------------------

    def _on_breakpoint(self, address: int, bp: Breakpoint) -> None:
        if not self.runner.is_current_traced():      # a child: gdb detached from it
            return
        if self._skip_breakpoint_at == address:
            self._skip_breakpoint_at = None
            return
        self._skip_breakpoint_at = None
        if bp.enabled and (bp.condition is None or bp.condition()):
            self.machine.stop(Hit(breakpoint=bp, rip=address))

    def _on_watch_write(self, paddr: int, size: int, wp: Watchpoint) -> None:
        if self._watch_enabled and wp.overlaps(paddr, size) and self.runner.is_current_traced():
            old = self.machine.ram.read(paddr, size)
            self.machine.stop(Hit(watchpoint=wp, rip=self.rip, paddr=paddr, size=size, old=old))

    def _on_watch_read(self, paddr: int, size: int, wp: Watchpoint) -> None:
        if self._watch_enabled and wp.overlaps(paddr, size) and self.runner.is_current_traced():
            self.machine.stop(Hit(watchpoint=wp, rip=self.rip, paddr=paddr, size=size, read=True))

    # -- signals ------------------------------------------------------------------------

    @property
    def pending_signal(self) -> int:
        """The signal the process stopped with (0: none)."""
        info = self.runner.pending_signal
        return info.signo if info is not None else 0

    def deliver(self, signo: int) -> Stop | None:
        """Pass `signo` (0: none) to the process before the next resume, as
        gdb's `signal N` does; the Stop if that ended the process."""
        if not self.alive:
            return self._dead_stop()
        self.runner.deliver(signo)
        return None if self.alive else self._dead_stop()

    # -- running ------------------------------------------------------------------------

    def _dead_stop(self) -> Stop:
        s = self.runner
        if s.exit_code is not None:
            return Stop("exited", self.rip, exit_code=s.exit_code,
                        message=f"process exited with status {s.exit_code}")
        if s.signal is not None:
            return Stop("killed", self.rip, message=s.message, signo=s.signal)
        return Stop(s.stopped or "fault", self.rip, message=s.message)

    def _run(self, budget: Budget, stepping: bool):
        """One resume; returns the raw request (STEPPED, SIGNALLED, Hit, None)."""
        if self.runner.pending_signal is not None:
            self.runner.deliver(0)          # resuming without deliver(): no signal
        request = self.runner.resume(budget, stepping=stepping)
        if self.watchpoints and self.alive:
            self._refresh_watches()
        return request

    def step(self, record: bool = True) -> Stop:
        """Execute one instruction (recorded for reverse stepping)."""
        if not self.alive:
            return self._dead_stop()
        self._skip_breakpoint_at = self.rip
        replaying = record and self.history.future > 0
        if record:
            self.history.begin()
        try:
            request = self._run(STEP, stepping=True)
        finally:
            if record:
                self.history.end()
        if record and isinstance(request, Hit) and request.watchpoint is not None:
            self.history.forget_last()      # _finish_watch records the real step
        stop = self._after(request, stepped=True)
        if replaying and self.history.future == 0 and stop.kind == "step":
            # The step replayed the log's last instruction: gdb's record says so
            # there ("No more reverse-execution history"); the next one runs live.
            return Stop("history-end", stop.rip, message="no more reverse-execution history")
        return stop

    def cont(self) -> Stop:
        """Run until a breakpoint, a watchpoint, a signal, exit or the time budget.

        As in gdb, a write watchpoint only stops when the value changed. Unless
        `recording`, a continue is not recorded, so the history before it can
        no longer be replayed backwards from where it stops: it is dropped."""
        software = [w for w in self.watchpoints.values() if w.sample is not None]
        if software:
            return self.run_recorded(self._software_stop_at(software))
        if self.recording or self.history.future:
            return self.run_recorded()
        self.history.clear()
        return self._until_changed(lambda: self._full_speed())

    def _full_speed(self):
        self.history.stop_recording()
        self._skip_breakpoint_at = self.rip if self.breakpoint_at(self.rip) else None
        return self._run(CONTINUE, stepping=False)

    def run_recorded(self, stop_at=None) -> Stop:
        """Run recording every instruction, until stop_at(address) (asked before
        each instruction but the first) or what stops cont()."""
        def once():
            self._skip_breakpoint_at = self.rip if self.breakpoint_at(self.rip) else None
            self.history.start_run(stop_at)
            try:
                return self._run(CONTINUE, stepping=False)
            finally:
                self.history.finish_run()
        return self._until_changed(once)

    def _until_changed(self, resume) -> Stop:
        """resume() until a stop that is not a write watchpoint seeing its old value."""
        while True:
            if not self.alive:
                return self._dead_stop()
            stop = self._after(resume(), stepped=False)
            if not (stop.kind == "watchpoint" and stop.watchpoint.kind == "write"
                    and stop.old == stop.new):
                return stop

    def _after(self, request, stepped: bool) -> Stop:
        self._skip_breakpoint_at = None
        if isinstance(request, Hit) and request.watchpoint is not None:
            return self._finish_watch(request)
        if isinstance(request, Hit):
            bp = request.breakpoint
            bp.hits += 1
            if bp.temporary:
                self.delete(bp.number)
            return Stop("breakpoint", request.rip, breakpoint=bp)
        if request == SIGNALLED:
            return Stop("signalled", self.rip, message=self.runner.fault and
                        str(self.runner.fault) or "", signo=self.pending_signal)
        if not self.alive:
            return self._dead_stop()
        if isinstance(request, ReachedStop) and self._software_hit is not None:
            return self._software_stop()
        if isinstance(request, ReachedEnd):
            return Stop("history-end", self.rip, message="no more reverse-execution history")
        if request == STEPPED or stepped or isinstance(request, ReachedStop):
            return Stop("step", self.rip)
        return Stop("interrupted", self.rip)

    def _software_stop(self) -> Stop:
        wp, now = self._software_hit
        self._software_hit = None
        if now is LEFT_SCOPE:
            self.delete(wp.number)
            return Stop("watch-scope", self.rip, watchpoint=wp)
        wp.hits += 1
        old, wp.old = wp.old, now
        return Stop("watchpoint", self.rip, watchpoint=wp, old=old, new=now)

    def _finish_watch(self, hit: Hit) -> Stop:
        """The store is done but RIP is still on the instruction: put the old
        bytes back and step it once with the watch hooks off."""
        wp = hit.watchpoint
        if not hit.read:
            self.machine.ram.write(hit.paddr, hit.old)
        self._watch_enabled = False
        try:
            after = self.step(record=True)
        finally:
            self._watch_enabled = True
        wp.hits += 1
        try:
            new = self.read(wp.address, wp.length)
        except UnmappedAccess:
            new = b""
        old, wp.old = wp.old, new
        if after.kind not in ("step", "breakpoint"):
            return after
        return Stop("watchpoint", self.rip, watchpoint=wp, old=old, new=new,
                    access_address=hit.rip)

def _ignore(_line: str) -> None:
    pass

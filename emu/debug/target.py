"""The debug target: one process under control, for `emu debug` and the gdb stub.

Execution:
  step()          one instruction, recorded in the history (reversible)
  cont()          full speed; only breakpoint and watchpoint hooks are installed
  reverse_step()  undo one recorded instruction
  reverse_cont()  undo until a breakpoint, a watchpoint, or the start of history

Breakpoints are the machine's code hooks bounded to their address, so
continuing costs nothing elsewhere. When execution resumes on a breakpoint, its first hit
is the resume itself and is skipped.

Watchpoints watch virtual ranges through the physical frames behind them
(memory hooks see physical addresses). Watched pages are kept mapped, and the
frames are looked up again after every syscall, so remapping is followed.
Unicorn matches a hook's range against an access's first byte only, so each
hook starts up to WIDEST_ACCESS bytes early (on the frame of the previous page
too, when the range starts near a page's start) and the callback keeps the
accesses that overlap the watched bytes.
Unicorn stops a memory hook with the store already done but RIP still on the
instruction, so running on would repeat it: the target puts the old bytes
back and steps that one instruction with the hooks off. The stop is then
after the instruction, with the old and new values, as gdb reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UnmappedAccess
from ..machine import Budget
from ..paging import PAGE_4K, page_align_down, pages_in
from ..runner import STEPPED, ProcessRunner
from .history import DEFAULT_LIMIT, History

WIDEST_ACCESS = 64                 # an AVX-512 store; most are 8 bytes or fewer
STEP = Budget(instructions=1)
CONTINUE = Budget(seconds=3600)


@dataclass
class Breakpoint:
    number: int
    address: int
    temporary: bool = False
    enabled: bool = True
    hits: int = 0
    location: str = ""
    hook: object = None


@dataclass
class Watchpoint:
    number: int
    address: int
    length: int
    kind: str                       # "write" | "read" | "access"
    hits: int = 0
    old: bytes = b""
    hooks: list = field(default_factory=list)
    frames: tuple = ()
    watched: list = field(default_factory=list)   # physical [lo, hi) ranges of the bytes

    def overlaps(self, paddr: int, size: int) -> bool:
        return any(paddr < hi and lo < paddr + size for lo, hi in self.watched)


@dataclass
class Stop:
    """Why the target stopped. kind: step, breakpoint, watchpoint, exited,
    fault, budget, history-start, interrupted."""
    kind: str
    rip: int = 0
    breakpoint: Breakpoint | None = None
    watchpoint: Watchpoint | None = None
    old: bytes = b""
    new: bytes = b""
    access_address: int = 0
    message: str = ""
    exit_code: int | None = None


@dataclass
class _Hit:
    """A hook's request to stop (passed through Machine.stop)."""
    breakpoint: Breakpoint | None = None
    watchpoint: Watchpoint | None = None
    rip: int = 0
    paddr: int = 0
    size: int = 0
    old: bytes = b""
    read: bool = False


class Target:
    """A ProcessRunner under a debugger's control."""

    def __init__(self, runner: ProcessRunner, history_limit: int = DEFAULT_LIMIT):
        if runner.trace is None:
            runner.trace = _ignore          # so every syscall gets its strace line
        self.runner = runner
        self.machine = runner.machine
        self.history = History(runner, history_limit)
        self.breakpoints: dict[int, Breakpoint] = {}
        self.watchpoints: dict[int, Watchpoint] = {}
        self._numbers = 0
        self._skip_breakpoint_at: int | None = None
        self._watch_enabled = True

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
        """Process memory through its page tables (UnmappedAccess if unmapped)."""
        return self.machine.mmu.read_virtual(vaddr, length, root=self.runner.aspace.root)

    def write(self, vaddr: int, data: bytes) -> None:
        self.machine.mmu.write_virtual(vaddr, data, root=self.runner.aspace.root)
        self.machine.code_changed()        # the bytes may be code

    def read_u64(self, vaddr: int) -> int:
        return int.from_bytes(self.read(vaddr, 8), "little")

    # -- breakpoints and watchpoints ----------------------------------------------------

    def _next_number(self) -> int:
        self._numbers += 1
        return self._numbers

    def add_breakpoint(self, address: int, temporary: bool = False, location: str = "") -> Breakpoint:
        bp = Breakpoint(self._next_number(), address, temporary, location=location)
        bp.hook = self.machine.add_breakpoint(address, lambda a: self._on_breakpoint(a, bp))
        self.breakpoints[bp.number] = bp
        return bp

    def delete(self, number: int) -> bool:
        """Delete breakpoint or watchpoint `number`; False if there is none."""
        if number in self.breakpoints:
            bp = self.breakpoints.pop(number)
            self.machine.remove_hook(bp.hook)
            self.machine.drop_translation(bp.address)
            return True
        if number in self.watchpoints:
            self._unhook_watch(self.watchpoints.pop(number))
            return True
        return False

    def breakpoint_at(self, address: int) -> Breakpoint | None:
        return next((b for b in self.breakpoints.values() if b.address == address and b.enabled),
                    None)

    def add_watchpoint(self, address: int, length: int, kind: str = "write") -> Watchpoint:
        """Watch [address, address+length); the pages must lie in the process's VMAs."""
        wp = Watchpoint(self._next_number(), address, length, kind)
        self._hook_watch(wp)
        wp.old = self.read(address, length)
        self.watchpoints[wp.number] = wp
        return wp

    def _hook_watch(self, wp: Watchpoint) -> None:
        """(Re)install memory hooks on the frames behind wp's range."""
        self._unhook_watch(wp)
        space, mmu = self.runner.aspace, self.machine.mmu
        first = page_align_down(wp.address)
        frames = []
        for page in pages_in(wp.address, wp.length):
            if not space.map_page(page):
                raise UnmappedAccess(page, "outside every mapping of the process")
            frames.append(mmu.translate(page, root=space.root))
        wp.watched, ranges = [], []
        for page_vaddr, frame in zip(pages_in(wp.address, wp.length), frames):
            lo = max(wp.address, page_vaddr) - page_vaddr + frame
            hi = min(wp.address + wp.length, page_vaddr + PAGE_4K) - page_vaddr + frame
            wp.watched.append((lo, hi))
            ranges.append((max(frame, lo - WIDEST_ACCESS + 1), hi - 1))
        if wp.address - first < WIDEST_ACCESS - 1:       # an access may start a page early
            before = mmu.walk(first - PAGE_4K, space.root)
            if before.mapped:
                frame = page_align_down(before.paddr)
                ranges.append((frame + PAGE_4K - (WIDEST_ACCESS - 1 - (wp.address - first)),
                               frame + PAGE_4K - 1))
        m = self.machine
        for lo, hi in ranges:
            if wp.kind in ("write", "access"):
                wp.hooks.append(m.add_memory_watch(
                    lo, hi, "write", lambda paddr, size: self._on_watch_write(paddr, size, wp)))
            if wp.kind in ("read", "access"):
                wp.hooks.append(m.add_memory_watch(
                    lo, hi, "read", lambda paddr, size: self._on_watch_read(paddr, size, wp)))
        wp.frames = tuple(frames)

    def _unhook_watch(self, wp: Watchpoint) -> None:
        for hook in wp.hooks:
            self.machine.remove_hook(hook)
        wp.hooks = []

    def _refresh_watches(self) -> None:
        """Follow remapping: look the watched frames up again."""
        space = self.runner.aspace
        for wp in self.watchpoints.values():
            pages = pages_in(wp.address, wp.length)
            current = tuple(self.machine.mmu.walk(p, space.root).paddr for p in pages)
            if current != wp.frames:
                self._hook_watch(wp)

    # -- hooks --------------------------------------------------------------------------

    def _on_breakpoint(self, address: int, bp: Breakpoint) -> None:
        if self._skip_breakpoint_at == address:
            self._skip_breakpoint_at = None
            return
        self._skip_breakpoint_at = None
        if bp.enabled:
            self.machine.stop(_Hit(breakpoint=bp, rip=address))

    def _on_watch_write(self, paddr: int, size: int, wp: Watchpoint) -> None:
        if self._watch_enabled and wp.overlaps(paddr, size):
            old = self.machine.ram.read(paddr, size)
            self.machine.stop(_Hit(watchpoint=wp, rip=self.rip, paddr=paddr, size=size, old=old))

    def _on_watch_read(self, paddr: int, size: int, wp: Watchpoint) -> None:
        if self._watch_enabled and wp.overlaps(paddr, size):
            self.machine.stop(_Hit(watchpoint=wp, rip=self.rip, paddr=paddr, size=size, read=True))

    # -- running ------------------------------------------------------------------------

    def _dead_stop(self) -> Stop:
        s = self.runner
        if s.exit_code is not None:
            return Stop("exited", self.rip, exit_code=s.exit_code,
                        message=f"process exited with status {s.exit_code}")
        return Stop(s.stopped or "fault", self.rip, message=s.message)

    def _run(self, budget: Budget, stepping: bool):
        """One resume; returns the raw request (STEPPED, _Hit, None)."""
        request = self.runner.resume(budget, stepping=stepping)
        if self.watchpoints and self.alive:
            self._refresh_watches()
        return request

    def step(self, record: bool = True) -> Stop:
        """Execute one instruction (recorded for reverse stepping)."""
        if not self.alive:
            return self._dead_stop()
        self._skip_breakpoint_at = self.rip
        if record:
            self.history.begin()
        try:
            request = self._run(STEP, stepping=True)
        finally:
            if record:
                self.history.end()
        if record and isinstance(request, _Hit) and request.watchpoint is not None:
            self.history.forget_last()      # _finish_watch records the real step
        return self._after(request, stepped=True)

    def cont(self) -> Stop:
        """Run until a breakpoint, a watchpoint, exit, a fault or the time budget.

        As in gdb, a write watchpoint only stops when the value changed. A
        continue is not recorded, so the history before it can no longer be
        replayed backwards from where it stops: it is dropped."""
        self.history.clear()
        while True:
            if not self.alive:
                return self._dead_stop()
            self.history.stop_recording()
            self._skip_breakpoint_at = self.rip if self.breakpoint_at(self.rip) else None
            request = self._run(CONTINUE, stepping=False)
            stop = self._after(request, stepped=False)
            if not (stop.kind == "watchpoint" and stop.watchpoint.kind == "write"
                    and stop.old == stop.new):
                return stop

    def _after(self, request, stepped: bool) -> Stop:
        self._skip_breakpoint_at = None
        if isinstance(request, _Hit) and request.watchpoint is not None:
            return self._finish_watch(request)
        if isinstance(request, _Hit):
            bp = request.breakpoint
            bp.hits += 1
            if bp.temporary:
                self.delete(bp.number)
            return Stop("breakpoint", request.rip, breakpoint=bp)
        if not self.alive:
            return self._dead_stop()
        if request == STEPPED or stepped:
            return Stop("step", self.rip)
        return Stop("interrupted", self.rip)

    def _finish_watch(self, hit: _Hit) -> Stop:
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
                    return Stop("watchpoint", self.rip, watchpoint=wp, old=before[number],
                                new=now)
            bp = self.breakpoint_at(self.rip)
            if bp is not None:
                return Stop("breakpoint", self.rip, breakpoint=bp)

    def _safe_read(self, wp: Watchpoint) -> bytes:
        try:
            return self.read(wp.address, wp.length)
        except UnmappedAccess:
            return b""


def _ignore(_line: str) -> None:
    pass

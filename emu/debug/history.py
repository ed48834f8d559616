"""Reverse execution: a bounded history of undo records, one per executed instruction.

A record keeps the CPU context from before its instruction and, in the order
they happened, the old bytes of every physical write made while it ran:
by the guest or by the kernel (page tables, zeroed frames, poison), both seen
by the machine's write observer, which sees physical addresses. When the
kernel is about to change its Python-side state (a syscall, demand paging),
the record also takes a copy of that state: VMAs, break, counters, frame
allocator, os_MemoryMap bytes, the process's files, signals and log.

Undoing a record writes the old bytes back, newest first, restores the kernel
state and the context: registers and memory are exactly as before it.

Records are made two ways:
  * begin() / end() around a one-instruction run (stepi);
  * a recorded run (start_run / finish_run): an instruction observer closes
    the previous record and opens the next before every instruction, so
    whole `next`s, `finish`es and (with `record` on) `continue`s are
    recorded at ~4 us an instruction instead of ~250 us for a run per step.
    `stop_at(address)` may end the run before an instruction. A record whose
    instruction did not complete (a breakpoint or watchpoint stopped it, it
    faulted, time ran out) is rolled back and dropped.

At most `limit` records are kept; the oldest go first (gdb's `record full`
with stop-at-limit off). Contexts are ~5.6 KB each and are reused.

Replay. Undone instructions are the log's future: going forward again
re-executes them (the machine is deterministic, so that is what replaying
the log would give) and, as gdb's record does, stops where the log ended
rather than running on live: `future` counts them, and a recorded run that
would go past the end stops with ReachedEnd ("No more reverse-execution
history"). The next run is live.
"""

from __future__ import annotations

from collections import deque

DEFAULT_LIMIT = 4096
MAX_HISTORY = 10_000_000                 # records kept at most (each holds a CPU context)
CONTEXT_BYTES = 5608                     # unicorn 2.1.4's x86-64 context, for the help text


class ReachedStop:
    """The stop request of a recorded run whose stop_at() said yes."""


class ReachedEnd:
    """The stop request of a replay that reached the end of the log."""


class Record:
    """One instruction's undo: the context before it, the old bytes of its
    writes (paddr, bytes), oldest first, and the kernel's state if it ran."""
    __slots__ = ("context", "rip", "writes", "kernel")

    def __init__(self, context, rip: int = 0):
        self.context = context                 # Machine.save_context()
        self.rip = rip
        self.writes: list | None = None        # made at the first write
        self.kernel: dict | None = None        # ProcessRunner.kernel_state()


class History:
    """Records the instructions a ProcessRunner executes and undoes them, newest first."""

    def __init__(self, runner, limit: int = DEFAULT_LIMIT):
        self.runner = runner
        self.machine = runner.machine
        self.limit = limit
        self.records: deque[Record] = deque()
        self._current: Record | None = None
        self._write_hook = None
        self._instruction_hook = None
        self._spare: list = []                 # contexts of dropped records, for reuse
        self._stop_at = None
        self._first = False
        self.future = 0                        # undone instructions a forward run replays
        self.recorded = 0                      # records made since the start (kept or not)
        self._replaying = False

    def __len__(self) -> int:
        return len(self.records)

    # -- one instruction ---------------------------------------------------------------

    def begin(self) -> None:
        """Start a record for the one instruction about to run."""
        self._open(self.machine.reg("rip"))
        if self._snapshot_kernel not in self.runner.kernel_entry_observers:
            self.runner.kernel_entry_observers.append(self._snapshot_kernel)
        self._watch_writes()

    def end(self) -> None:
        """Close the record of the instruction that just ran."""
        self._stop_watching_kernel()
        if self._current is not None:
            self._keep(self._current)
            self._current = None

    # -- recorded runs --------------------------------------------------------------------

    def start_run(self, stop_at=None) -> None:
        """Record every instruction of the run about to start. stop_at(address),
        asked before each instruction but the first, may end the run there."""
        self._stop_at, self._first = stop_at, True
        self._replaying = self.future > 0
        self._watch_writes()
        self.runner.kernel_entry_observers.append(self._snapshot_kernel)
        self._instruction_hook = self.machine.add_instruction_observer(self._on_instruction)

    def finish_run(self) -> None:
        """After the run: keep the last record if its instruction completed,
        roll it back otherwise; remove the observers."""
        self.machine.remove_hook(self._instruction_hook)
        self._instruction_hook = None
        self._stop_watching_kernel()
        current, self._current = self._current, None
        if current is None:
            return
        if self.machine.reg("rip") == current.rip:
            self._roll_back(current)
        else:
            self._keep(current)

    def _on_instruction(self, address: int) -> None:
        """Before every instruction of a recorded run (the hot path: ~1 us)."""
        current = self._current
        if current is not None:
            self._keep(current)
            self._current = None
        if self._replaying and self.future == 0:
            self._replaying = False
            self.machine.stop(ReachedEnd())
            return
        if self._stop_at is not None and not self._first and self._stop_at(address):
            self.machine.stop(ReachedStop())
            return
        self._first = False
        spare = self._spare
        self._current = Record(self.machine.save_context(spare.pop() if spare else None),
                               address)

    def _roll_back(self, record: Record) -> None:
        """Undo an instruction that did not complete (its kernel state is left
        alone: the runner has already recorded why it stopped)."""
        for paddr, old in reversed(record.writes or ()):
            self.machine.ram.write(paddr, old)
        if record.writes:
            self.machine.restore_context(record.context)
        self._spare.append(record.context)

    # -- the records ---------------------------------------------------------------------

    def _open(self, rip: int) -> None:
        context = self.machine.save_context(self._spare.pop() if self._spare else None)
        self._current = Record(context, rip)

    def _keep(self, record: Record) -> None:
        self.recorded += 1
        if self.future:
            self.future -= 1
        records = self.records
        if len(records) >= self.limit:
            self._spare.append(records.popleft().context)
        records.append(record)

    def _watch_writes(self) -> None:
        if self._write_hook is None:
            self._write_hook = self.machine.add_write_observer(self._on_write)

    def stop_recording(self) -> None:
        """Remove the write hook (before running at full speed)."""
        if self._write_hook is not None:
            self.machine.remove_hook(self._write_hook)
            self._write_hook = None

    def _stop_watching_kernel(self) -> None:
        if self._snapshot_kernel in self.runner.kernel_entry_observers:
            self.runner.kernel_entry_observers.remove(self._snapshot_kernel)

    def clear(self) -> None:
        self._spare.extend(r.context for r in self.records)
        self.records.clear()
        self.future = 0

    def discard_future(self) -> None:
        """The state was changed by hand while replaying: the log's future no
        longer follows; forward runs are live from here."""
        self.future = 0

    def forget_last(self) -> None:
        """Drop the newest record without undoing it."""
        if self.records:
            self._spare.append(self.records.pop().context)

    def _on_write(self, paddr: int, size: int) -> None:
        record = self._current
        if record is not None:
            old = (paddr, self.machine.ram.read(paddr, size))
            if record.writes is None:
                record.writes = [old]
            else:
                record.writes.append(old)

    def _snapshot_kernel(self) -> None:
        if self._current is not None and self._current.kernel is None:
            self._current.kernel = self.runner.kernel_state()

    # -- undoing ---------------------------------------------------------------------

    def undo(self) -> Record | None:
        """Undo the newest record; None when the history is empty."""
        if not self.records:
            return None
        record = self.records.pop()
        m = self.machine
        for paddr, old in reversed(record.writes or ()):
            m.ram.write(paddr, old)
        if record.kernel is not None:
            self.runner.restore_kernel_state(record.kernel)
        m.restore_context(record.context)
        m.mmu.flush()
        self._spare.append(record.context)
        self.future += 1
        return record

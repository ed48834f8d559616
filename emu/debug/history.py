"""Reverse execution: a bounded history of undo records, one per recorded step.

Before a step, a record keeps the CPU context. While the step runs, every
physical page that changes keeps its old contents in the record, whoever
changes it: the guest or the kernel (page tables, zeroed frames, poison), both
seen by the machine's write observer, which sees physical addresses. When the
kernel is about to change its Python-side state (a syscall, demand paging),
the record also takes a copy of that state: VMAs, break, counters, frame
allocator, os_MemoryMap bytes, the process's files and log.

Undoing a record writes the pages back, restores the kernel state and the
context: registers and memory are exactly as before the step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..paging import pages_in

DEFAULT_LIMIT = 4096
MAX_HISTORY = 10_000_000                 # records kept at most (each holds a CPU context)


@dataclass
class Record:
    context: object                          # Machine.save_context()
    pages: dict = field(default_factory=dict)   # physical page -> old bytes
    kernel: dict | None = None               # ProcessRunner.kernel_state() before the kernel ran
    rip: int = 0


class History:
    """Records steps of a ProcessRunner and undoes them, newest first."""

    def __init__(self, runner, limit: int = DEFAULT_LIMIT):
        self.runner = runner
        self.limit = limit
        self.records: deque[Record] = deque(maxlen=limit)
        self._current: Record | None = None
        self._hook = None

    def __len__(self) -> int:
        return len(self.records)

    # -- recording ---------------------------------------------------------------------

    def begin(self) -> None:
        """Start a record for the step about to run."""
        m = self.runner.machine
        self._current = Record(m.save_context(), rip=m.reg("rip"))
        self.runner.kernel_entry_observers.append(self._snapshot_kernel)
        if self._hook is None:
            self._hook = m.add_write_observer(self._on_write)

    def end(self) -> None:
        """Close the record of the step that just ran."""
        self.runner.kernel_entry_observers.remove(self._snapshot_kernel)
        if self._current is not None:
            self.records.append(self._current)
            self._current = None

    def stop_recording(self) -> None:
        """Remove the write hook (before running at full speed)."""
        if self._hook is not None:
            self.runner.machine.remove_hook(self._hook)
            self._hook = None

    def clear(self) -> None:
        self.records.clear()

    def forget_last(self) -> None:
        """Drop the newest record without undoing it."""
        if self.records:
            self.records.pop()

    def _on_write(self, paddr: int, size: int) -> None:
        record = self._current
        if record is None:
            return
        ram = self.runner.machine.ram
        for page in pages_in(paddr, size):
            if page not in record.pages:
                record.pages[page] = ram.page(page)

    def _snapshot_kernel(self) -> None:
        if self._current is not None and self._current.kernel is None:
            self._current.kernel = self.runner.kernel_state()

    # -- undoing ---------------------------------------------------------------------

    def undo(self) -> Record | None:
        """Undo the newest record; None when the history is empty."""
        if not self.records:
            return None
        record = self.records.pop()
        m = self.runner.machine
        for page, old in record.pages.items():
            m.ram.write(page, old)
        if record.kernel is not None:
            self.runner.restore_kernel_state(record.kernel)
        m.restore_context(record.context)
        m.mmu.flush()
        return record

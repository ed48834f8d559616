"""Reverse execution: a bounded history of undo records, one per recorded step.

Before a step, a record keeps the CPU context. While the step runs, every
physical page that changes keeps its old contents in the record, whoever
changes it: the guest (a UC_HOOK_MEM_WRITE over all memory, which sees physical
addresses) or the kernel (PhysicalRAM's journal: page tables, zeroed frames,
poison). When the kernel is about to change its Python-side state (a syscall,
demand paging), the record also takes a copy of that state: VMAs, break,
counters, frame allocator, os_MemoryMap bytes, the process's files and log.

Undoing a record writes the pages back, restores the kernel state and the
context: registers and memory are exactly as before the step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from unicorn import UC_HOOK_MEM_WRITE

PAGE = 0x1000
DEFAULT_LIMIT = 4096


@dataclass
class Record:
    context: object                          # uc.context_save()
    pages: dict = field(default_factory=dict)   # physical page -> old bytes
    kernel: dict | None = None               # Session.kernel_state() before the kernel ran
    rip: int = 0


class History:
    """Records steps of a Session and undoes them, newest first."""

    def __init__(self, session, limit: int = DEFAULT_LIMIT):
        self.session = session
        self.limit = limit
        self.records: deque[Record] = deque(maxlen=limit)
        self._current: Record | None = None
        self._hook = None

    def __len__(self) -> int:
        return len(self.records)

    # -- recording ---------------------------------------------------------------------

    def begin(self) -> None:
        """Start a record for the step about to run."""
        m = self.session.machine
        self._current = Record(m.uc.context_save(), rip=m.reg("rip"))
        m.ram.journal = self._current.pages
        self.session.before_kernel = self._snapshot_kernel
        if self._hook is None:
            self._hook = m.uc.hook_add(UC_HOOK_MEM_WRITE, self._on_write, None, 1, 0)

    def end(self) -> None:
        """Close the record of the step that just ran."""
        self.session.machine.ram.journal = None
        self.session.before_kernel = None
        if self._current is not None:
            self.records.append(self._current)
            self._current = None

    def stop_recording(self) -> None:
        """Remove the write hook (before running at full speed)."""
        if self._hook is not None:
            self.session.machine.uc.hook_del(self._hook)
            self._hook = None

    def clear(self) -> None:
        self.records.clear()

    def forget_last(self) -> None:
        """Drop the newest record without undoing it."""
        if self.records:
            self.records.pop()

    def _on_write(self, _uc, _access, address: int, size: int, _value, _data) -> None:
        record = self._current
        if record is None:
            return
        view = self.session.machine.ram.view
        for page in range(address & ~(PAGE - 1), address + size, PAGE):
            if page not in record.pages:
                record.pages[page] = bytes(view[page:page + PAGE])

    def _snapshot_kernel(self) -> None:
        if self._current is not None and self._current.kernel is None:
            self._current.kernel = self.session.kernel_state()

    # -- undoing ---------------------------------------------------------------------

    def undo(self) -> Record | None:
        """Undo the newest record; None when the history is empty."""
        if not self.records:
            return None
        record = self.records.pop()
        m = self.session.machine
        for page, old in record.pages.items():
            m.ram.write(page, old)
        if record.kernel is not None:
            self.session.restore_kernel_state(record.kernel)
        m.uc.context_restore(record.context)
        m.mmu.flush()
        return record

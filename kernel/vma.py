"""Virtual memory areas: the ranges a process may touch, and how.

A VMA is [start, end) with page-aligned bounds, a protection (PROT_* bits) and
a name ("[heap]", "[stack]", "[anon]" or the program's path). VMAs never
overlap; VMAList keeps them sorted by start and splits them when part of one
is unmapped or reprotected, as Linux does.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

from emu.errors import KernelPanic

PROT_NONE = 0
PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4


@dataclass(frozen=True)
class VMA:
    start: int
    end: int
    prot: int
    name: str

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def perms(self) -> str:
        """'rw-p' as /proc/self/maps prints it (every mapping here is private)."""
        return ("r" if self.prot & PROT_READ else "-") + \
               ("w" if self.prot & PROT_WRITE else "-") + \
               ("x" if self.prot & PROT_EXEC else "-") + "p"

    def allows(self, access: str) -> bool:
        """May the process make this access ('read' | 'write' | 'fetch')? On x86
        every mapping that is not PROT_NONE can be read: PROT_WRITE and
        PROT_EXEC imply PROT_READ, as Linux's page tables make them."""
        if access == "read":
            return self.prot != PROT_NONE
        needed = {"write": PROT_WRITE, "fetch": PROT_EXEC}[access]
        return bool(self.prot & needed)

    def __contains__(self, addr: int) -> bool:
        return self.start <= addr < self.end


class VMAList:
    """Non-overlapping VMAs sorted by start address."""

    def __init__(self):
        self._vmas: list[VMA] = []

    def __iter__(self):
        return iter(list(self._vmas))

    def __len__(self) -> int:
        return len(self._vmas)

    def snapshot(self) -> list[VMA]:
        return list(self._vmas)

    def restore(self, vmas: list[VMA]) -> None:
        self._vmas = list(vmas)

    def find(self, addr: int) -> VMA | None:
        """The VMA containing `addr`, or None."""
        i = bisect.bisect_right([v.start for v in self._vmas], addr) - 1
        if i >= 0 and addr < self._vmas[i].end:
            return self._vmas[i]
        return None

    def overlapping(self, start: int, end: int) -> list[VMA]:
        return [v for v in self._vmas if v.start < end and start < v.end]

    def is_free(self, start: int, end: int) -> bool:
        return not self.overlapping(start, end)

    def insert(self, vma: VMA) -> None:
        """Add `vma`; the range must be free (callers remove() first)."""
        if vma.start >= vma.end or not self.is_free(vma.start, vma.end):
            raise KernelPanic(f"vma_insert: [{vma.start:#x}, {vma.end:#x}) overlaps or is empty")
        bisect.insort(self._vmas, vma, key=lambda v: v.start)
        self._merge_around(vma)

    def remove(self, start: int, end: int) -> list[VMA]:
        """Take [start, end) out of every VMA, splitting those it cuts; returns
        the pieces removed."""
        removed, kept = [], []
        for v in self._vmas:
            if v.end <= start or end <= v.start:
                kept.append(v)
                continue
            if v.start < start:
                kept.append(replace(v, end=start))
            if end < v.end:
                kept.append(replace(v, start=end))
            removed.append(replace(v, start=max(v.start, start), end=min(v.end, end)))
        self._vmas = sorted(kept, key=lambda v: v.start)
        return removed

    def covered(self, start: int, end: int) -> bool:
        """True if every byte of [start, end) lies in some VMA."""
        addr = start
        for v in self.overlapping(start, end):
            if v.start > addr:
                return False
            addr = max(addr, v.end)
        return addr >= end

    def reprotect(self, start: int, end: int, prot: int) -> None:
        """Give [start, end) protection `prot`, splitting VMAs at the edges."""
        for piece in self.remove(start, end):
            self.insert(replace(piece, prot=prot))

    def free_gap_below(self, top: int, length: int, floor: int) -> int | None:
        """The highest start s with [s, s+length) free, floor <= s and s+length <= top;
        None if there is no such gap (top-down search, as Linux's mmap does)."""
        window_end = top
        for v in reversed(self._vmas):
            if v.start >= window_end:
                continue                      # entirely above the window
            if v.end <= window_end - length:
                break                         # the gap above v is big enough
            window_end = v.start              # the window must end below v
        start = window_end - length
        return start if start >= floor else None

    def _merge_around(self, vma: VMA) -> None:
        """Join `vma` with neighbours that touch it and match its prot and name."""
        i = self._vmas.index(vma)
        if i + 1 < len(self._vmas):
            nxt = self._vmas[i + 1]
            if nxt.start == vma.end and (nxt.prot, nxt.name) == (vma.prot, vma.name):
                vma = replace(vma, end=nxt.end)
                self._vmas[i:i + 2] = [vma]
        if i > 0:
            prev = self._vmas[i - 1]
            if prev.end == vma.start and (prev.prot, prev.name) == (vma.prot, vma.name):
                self._vmas[i - 1:i + 1] = [replace(prev, end=vma.end)]

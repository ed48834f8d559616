"""Virtual memory areas: the ranges a process may touch, and how.

A VMA is [start, end) with page-aligned bounds, a protection (PROT_* bits) and
a name ("[heap]", "[stack]", "[anon]", SHARED_NAME or the program's path).
VMAs never overlap; VMAList keeps them sorted by start and splits them when
part of one is unmapped or reprotected, as Linux does.

A shared anonymous mapping (MAP_SHARED|MAP_ANONYMOUS) is a window on a
SharedMemory object, as on Linux, where it is a window on an unnamed shmem
file: its VMA names the object and the object page its first page shows
(`pgoff`). The object's pages outlive the page-table entries that map them,
so the same page comes back after MADV_DONTNEED or after the mapping shrinks
and grows again, and two VMAs may show the same pages (mremap with
MREMAP_DONTUNMAP, or an old size of 0).

Where one VMA ends and the next begins shows through mremap, which works on
one VMA at a time, so VMAs split and merge exactly where Linux's do. Two
neighbours merge when everything Linux compares matches (VMA.continues):

    protection, VM_* flags (below), what they map (the same shared object,
    the same file, or both private anonymous: heap and anon maps are alike),
    page offsets that follow on (pgoff: a private VMA's is its address /
    PAGE_4K when made, kept when a written VMA moves), and anon_vma:
    private memory gets one at its first write (AnonVMA), two VMAs with
    different ones never merge. Linux merges with the VMA before first.
"""

from __future__ import annotations

import bisect
import operator
from typing import NamedTuple

from emu.errors import KernelPanic
from emu.paging import PAGE_4K, page_align_down

PROT_NONE = 0
PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4

SHARED_NAME = "/dev/zero (deleted)"     # what /proc/self/maps shows for shared anonymous memory
PRIVATE_ANON_NAMES = ("[heap]", "[anon]")   # the same kind of memory to Linux: they merge

# VM_* flags Linux compares when merging (the names are Linux's, the bits ours):
#   set by          mmap                   madvise                 mprotect
VM_ACCOUNT = 1 << 0       # private writable memory    -                       RO->RW sets it
VM_NORESERVE = 1 << 1     # MAP_NORESERVE, DROPPABLE   -                       -
VM_DROPPABLE = 1 << 2     # MAP_DROPPABLE              -                       -
VM_LOCKED = 1 << 3        # MAP_LOCKED                 -                       -
VM_WIPEONFORK = 1 << 4    # MAP_DROPPABLE              WIPEONFORK/KEEPONFORK   -
VM_DONTDUMP = 1 << 5      # MAP_DROPPABLE              DONTDUMP/DODUMP         -
VM_DONTCOPY = 1 << 6      # -                          DONTFORK/DOFORK         -
VM_RAND_READ = 1 << 7     # -                          RANDOM/NORMAL           -
VM_SEQ_READ = 1 << 8      # -                          SEQUENTIAL/NORMAL       -
VM_HUGEPAGE = 1 << 9      # -                          HUGEPAGE/NOHUGEPAGE     -
VM_NOHUGEPAGE = 1 << 10   # MAP_STACK                  NOHUGEPAGE/HUGEPAGE     -
VM_MERGEABLE = 1 << 11    # -                          MERGEABLE/UNMERGEABLE   -


class SharedMemory:
    """The pages of one shared anonymous mapping: page index -> frame.

    The object has the size the mapping had when it was made (`pages`); a
    mapping grown past it with mremap shows pages that fault (SIGBUS on
    Linux). Frames are added when a page is first touched and freed by the
    address space when the object is punched (MADV_REMOVE) or no VMA refers
    to it any more. Objects compare by identity.
    """

    def __init__(self, pages: int):
        self.pages = pages
        self.frames: dict[int, int] = {}


class AnonVMA:
    """Linux's anon_vma: what a private VMA gets at its first write (shared
    with a compatible neighbour's when it has one). Compares by identity."""


class VMA(NamedTuple):
    """One mapping of an address space: [start, end) with one protection and
    kind. Immutable; changes make a new one (`_replace`). A named tuple: munmap
    and mmap make several per call, and one costs a third of a frozen
    dataclass (0.8 against 2.0 us; `_replace` 2.0 against 5.2 us)."""
    start: int
    end: int
    prot: int
    name: str
    shmem: SharedMemory | None = None    # the object a shared mapping shows
    pgoff: int = 0                       # the object page at `start` (vm_pgoff)
    flags: int = 0                       # VM_* bits
    anon: AnonVMA | None = None          # set at the first write to private memory

    @property
    def droppable(self) -> bool:
        """MAP_DROPPABLE memory: Linux may drop its pages at will."""
        return bool(self.flags & VM_DROPPABLE)

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def shared(self) -> bool:
        return self.shmem is not None

    @property
    def anonymous(self) -> bool:
        """Private anonymous memory (heap, stack, anonymous maps): what
        MADV_FREE accepts. Shared memory and the program's file are not."""
        return self.shmem is None and self.name.startswith("[")

    @property
    def perms(self) -> str:
        """'rw-p' as /proc/self/maps prints it ('s' for a shared mapping)."""
        return ("r" if self.prot & PROT_READ else "-") + \
               ("w" if self.prot & PROT_WRITE else "-") + \
               ("x" if self.prot & PROT_EXEC else "-") + ("s" if self.shared else "p")

    def page_index(self, addr: int) -> int:
        """The object page that `addr` (inside this VMA) shows."""
        return self.pgoff + (addr - self.start) // PAGE_4K

    def shared_end(self) -> int:
        """Where the pages of a shared mapping's object run out (vma.end or
        beyond for a private mapping, or when the object covers it all)."""
        if self.shmem is None:
            return self.end
        return max(self.start, self.start + (self.shmem.pages - self.pgoff) * PAGE_4K)

    def clip(self, start: int, end: int) -> VMA:
        """The part of this VMA inside [start, end) (which must overlap it)."""
        lo, hi = max(self.start, start), min(self.end, end)
        # VMA(...) spelled out: _replace() costs more, and munmap clips on every call.
        return VMA(lo, hi, self.prot, self.name, self.shmem, self.page_index(lo), self.flags,
                   self.anon)

    def shifted(self, delta: int) -> VMA:
        """The same VMA `delta` bytes higher (mremap moves it)."""
        return self._replace(start=self.start + delta, end=self.end + delta)

    def follows(self, before: VMA) -> bool:
        """Does this VMA begin where `before` ends, map the same kind of memory
        with the same flags, and go on with the next page offset? (Linux's
        anon_vma_compatible(): what two VMAs need to share an anon_vma.)"""
        same_kind = before.name == self.name or \
            (before.name in PRIVATE_ANON_NAMES and self.name in PRIVATE_ANON_NAMES)
        return before.end == self.start and same_kind and before.shmem is self.shmem and \
            before.flags == self.flags and before.page_index(before.end) == self.pgoff

    def continues(self, before: VMA) -> bool:
        """Could this VMA be merged into `before` (is_mergeable_vma and
        is_mergeable_anon_vma): it follows it with the same protection, and
        their anon_vmas are the same or one has none."""
        return self.follows(before) and before.prot == self.prot and \
            (before.anon is None or self.anon is None or before.anon is self.anon)

    def joined(self, after: VMA) -> VMA:
        """This VMA and `after`, which continues it, as one."""
        return VMA(self.start, after.end, self.prot, self.name, self.shmem, self.pgoff,
                   self.flags, self.anon or after.anon)

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


_start = operator.attrgetter("start")      # the sort key of VMAList (C, not a Python call)


EVERYWHERE = (0, 1 << 64)                  # on_change's range for "anything may have changed"


class VMAList:
    """Non-overlapping VMAs sorted by start address.

    `on_change(start, end, vma)`, when given, is called after every change:
    [start, end) holds everything that changed, and `vma` is the VMA that now
    covers all of it, or None."""

    def __init__(self, on_change=None):
        self._vmas: list[VMA] = []
        self._on_change = on_change

    def _changed(self, start: int, end: int, vma: VMA | None = None) -> None:
        if self._on_change is not None:
            self._on_change(start, end, vma)

    def __iter__(self):
        return iter(list(self._vmas))

    def __len__(self) -> int:
        return len(self._vmas)

    def snapshot(self) -> list[VMA]:
        return list(self._vmas)

    def restore(self, vmas: list[VMA]) -> None:
        self._vmas = list(vmas)
        self._changed(*EVERYWHERE)

    def splice(self, start: int, end: int, vmas: list[VMA]) -> None:
        """Put `vmas` (sorted) in place of the VMAs that share a byte with
        [start, end), which holds them all, without telling on_change: what
        the C mmap and munmap made (kernel/anon_maps.py), which the MMU's
        regions already show."""
        first = max(bisect.bisect_right(self._vmas, start, key=_start) - 1, 0)
        if first < len(self._vmas) and self._vmas[first].end <= start:
            first += 1
        last = bisect.bisect_left(self._vmas, end, key=_start)
        self._vmas[first:last] = vmas

    def find(self, addr: int) -> VMA | None:
        """The VMA containing `addr`, or None."""
        i = bisect.bisect_right(self._vmas, addr, key=_start) - 1
        if i >= 0 and addr < self._vmas[i].end:
            return self._vmas[i]
        return None

    def overlapping(self, start: int, end: int) -> list[VMA]:
        """The VMAs that share a byte with [start, end), in address order."""
        i = max(bisect.bisect_right(self._vmas, start, key=_start) - 1, 0)
        found = []
        for vma in self._vmas[i:]:
            if vma.start >= end:
                break
            if start < vma.end:
                found.append(vma)
        return found

    def is_free(self, start: int, end: int) -> bool:
        """No VMA shares a byte with [start, end) (start < end): the last VMA
        that starts below `end` ends by `start`, as every one before it does."""
        i = bisect.bisect_left(self._vmas, end, key=_start)
        return i == 0 or self._vmas[i - 1].end <= start

    def insert(self, vma: VMA) -> None:
        """Add `vma`; the range must be free (callers remove() first)."""
        if vma.start >= vma.end or not self.is_free(vma.start, vma.end):
            raise KernelPanic(f"vma_insert: [{vma.start:#x}, {vma.end:#x}) overlaps or is empty")
        i = bisect.bisect_left(self._vmas, vma.start, key=_start)
        self._vmas.insert(i, vma)
        merged = self._vmas[self._merge_around(i)]
        self._changed(merged.start, merged.end, merged)

    def remove(self, start: int, end: int) -> list[VMA]:
        """Take [start, end) out of every VMA, splitting those it cuts; returns
        the pieces removed. Only the VMAs from the one holding `start` on
        are looked at (the list is sorted and the VMAs do not overlap)."""
        vmas = self._vmas
        first = max(bisect.bisect_right(vmas, start, key=_start) - 1, 0)
        removed, kept, last = [], [], first
        while last < len(vmas) and vmas[last].start < end:
            v = vmas[last]
            last += 1
            if v.end <= start:
                kept.append(v)
                continue
            if v.start < start:
                kept.append(v.clip(v.start, start))
            if end < v.end:
                kept.append(v.clip(end, v.end))
            removed.append(v.clip(start, end))
        vmas[first:last] = kept            # in address order already
        if removed:
            self._changed(start, end)
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
        self.update(start, end, lambda piece: piece._replace(prot=prot))

    def update(self, start: int, end: int, change) -> None:
        """Replace each VMA's part of [start, end) by change(part), splitting
        at the edges and merging where the results allow."""
        for piece in self.remove(start, end):
            self.insert(change(piece))

    def replace(self, old: VMA, new: VMA) -> None:
        """Put `new` (the same range) where `old` is, merging nothing (Linux
        gives a VMA its anon_vma without merging it)."""
        self._vmas[self._index(old)] = new
        self._changed(new.start, new.end, new)

    def _index(self, vma: VMA) -> int:
        """Where `vma` is in the list (found by its start: no two VMAs share one)."""
        i = bisect.bisect_left(self._vmas, vma.start, key=_start)
        if i == len(self._vmas) or self._vmas[i] != vma:
            raise KernelPanic(f"vma_index: no VMA [{vma.start:#x}, {vma.end:#x}) in the list")
        return i

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

    def _merge_around(self, i: int) -> int:
        """Join the VMA at index `i` with the neighbours it continues or that
        continue it: the one before first, then the one after if it still
        fits (Linux's vma_merge_new_range: prev and next with different
        anon_vmas leave next apart). Returns the index of the result."""
        vma = self._vmas[i]
        if i > 0 and vma.continues(self._vmas[i - 1]):
            vma = self._vmas[i - 1].joined(vma)
            self._vmas[i - 1:i + 1] = [vma]
            i -= 1
        if i + 1 < len(self._vmas) and self._vmas[i + 1].continues(vma):
            self._vmas[i:i + 2] = [vma.joined(self._vmas[i + 1])]
        return i


class GuardPages:
    """The guard pages of an address space (MADV_GUARD_INSTALL): sorted page
    addresses, each faulting on every access whatever its VMA allows."""

    def __init__(self, pages=(), on_change=None):
        self._pages: list[int] = sorted(pages)
        self.on_change = on_change        # called with no argument after every change

    def __iter__(self):
        return iter(list(self._pages))

    def __len__(self) -> int:
        return len(self._pages)

    def __contains__(self, page: int) -> bool:
        i = bisect.bisect_left(self._pages, page)
        return i < len(self._pages) and self._pages[i] == page

    def first_in(self, start: int, end: int) -> int | None:
        """The lowest guard page in [start, end), or None."""
        i = bisect.bisect_left(self._pages, page_align_down(start))
        if i < len(self._pages) and self._pages[i] < end:
            return self._pages[i]
        return None

    def add(self, start: int, end: int) -> None:
        """Every page of page-aligned [start, end) becomes a guard page."""
        self.add_pages(range(start, end, PAGE_4K))

    def add_pages(self, pages) -> None:
        before = len(self._pages)
        self._pages = sorted(set(self._pages).union(pages))
        if len(self._pages) != before and self.on_change is not None:
            self.on_change()

    def remove(self, start: int, end: int) -> list[int]:
        """Take the guard pages of [start, end) out; returns them."""
        lo, hi = bisect.bisect_left(self._pages, start), bisect.bisect_left(self._pages, end)
        taken = self._pages[lo:hi]
        del self._pages[lo:hi]
        if taken and self.on_change is not None:
            self.on_change()
        return taken

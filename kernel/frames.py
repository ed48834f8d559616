"""4 KiB physical frames, carved from 2 MiB chunks of the os_MemoryMap.

Page tables and user pages live in 4 KiB frames. The frame allocator takes a
whole chunk from the os_MemoryMap when it has no free frame left, hands its 512
frames out one at a time, and gives the chunk back as soon as all 512 are free
again, so the os_MemoryMap always shows which chunks the kernel holds.

A frame handed out has a reference count: 1 from alloc(), one more for every
share() (copy-on-write fork maps one frame in several address spaces), one
less for every free(). It goes back when the count reaches 0.

Frames are zeroed when handed out and poisoned with 0xDEADBEEF when freed, so a
use-after-free reads as poison in the debugger (xv6's kfree does the same).

The MMU's demand-zero assist (kernel/assist.py) borrows frames: lend() gives
it the whole free lists of the first chunks alloc() takes from, which it
takes from the end as alloc() would, and to which the C munmap
(emu/native/anon_maps.c) appends the frames it frees, as free() would. Most
other uses of the allocator settle the loan first (alloc() takes from it),
so every frame is handed out and taken back in the same order and counted
the same as without them.
"""

from __future__ import annotations

import heapq
import struct

from emu.errors import KernelPanic
from emu.paging import PAGE_4K

from . import layout
from .memory_map import MemoryMap

POISON = 0xDEADBEEF_DEADBEEF
_POISON_FRAME = struct.pack("<Q", POISON) * (PAGE_4K // 8)
_ZERO_FRAME = bytes(PAGE_4K)


class FrameAllocator:
    """Hands out zeroed 4 KiB frames; `alloc()` returns 0 when RAM is exhausted."""

    def __init__(self, memory_map: MemoryMap, ram):
        self._map = memory_map
        self._ram = ram
        self._free: dict[int, list[int]] = {}     # chunk index -> its free frames
        self._in_use: dict[int, int] = {}         # chunk index -> frames handed out
        self._refs: dict[int, int] = {}           # frame -> references to it
        # Chunks with a free frame, as a heap of (when taken, chunk): frames come
        # from the chunk taken first, as they always have (O(log n), not a scan).
        self._with_free: list[tuple[int, int]] = []
        self._taken: dict[int, int] = {}          # chunk -> when it was taken
        self._clock = 0
        self.version = 0                          # moves whenever available() may have
        self._shared: dict[int, set[int]] = {}    # chunk -> its frames with more than one
                                                  # reference (no empty sets)
        self._loans: list[tuple[int, list[int]]] = []   # (chunk, free list as lent)
        self._borrower = None

    LOAN_FRAMES = 512           # chunks are lent until their free frames reach this
    LOAN_CHUNKS = 16            # or this many chunks are lent

    def lend(self, borrower):
        """The free lists of the first chunks alloc() takes from, whole and
        in that order, until they hold LOAN_FRAMES frames (only the first
        while any frame is shared): ([(chunk's physical base, its free frames
        (alloc() hands out the last first))], whether any frame is shared,
        [(index, frames in use)] of each chunk taken after them), or None
        when no chunk has a free frame or a loan is out.

        The borrower takes frames from the end of the first list with any,
        zeroing each, and may put frames of a lent chunk back on the end of
        its list, poisoned, as free() would, but never the last one handed
        out (the chunk would go back to the os_MemoryMap). It may also free,
        poisoned, frames of the chunks taken after them, short of the last
        one of each: while the loan lasts they change no allocation. While
        any frame is shared it frees none (a shared frame's count drops
        instead). At the allocator's next use
        `borrower.returned()` is each lent list as it then is: what left it
        is handed out, what joined it is free; `borrower.elsewhere()` the
        frames freed into later chunks, in order; borrower.take_back() ends
        the loan."""
        if self._borrower is not None:
            return None
        if self._shared:                          # one chunk: no sort
            first = self._chunk_with_a_free_frame()
            chunks = [] if first is None else [(self._taken[first], first)]
        else:
            chunks = sorted((when, c) for c, when in self._taken.items() if self._free[c])
        if not chunks:
            return None
        lent = 0
        for when, chunk in chunks[:1 if self._shared else self.LOAN_CHUNKS]:
            if lent >= self.LOAN_FRAMES:
                break
            self._loans.append((chunk, self._free[chunk]))
            self._free[chunk] = []
            lent += len(self._loans[-1][1])
            last = when
        self._borrower = borrower
        later = [] if self._shared else \
            [(c, self._in_use[c]) for c, when in self._taken.items() if when > last]
        return [(layout.chunk_base(c), free) for c, free in self._loans], bool(self._shared), later

    def settle(self) -> None:
        """Settle the loan, if one is out (see lend): every other use of the
        allocator does this first."""
        if self._borrower is not None:
            self._settle()

    def _settle(self) -> None:
        loans, borrower, refs = self._loans, self._borrower, self._refs
        changed = borrower.changed()
        returned = borrower.returned() if changed else [free for _, free in loans]
        for (chunk, lent), free in zip(loans, returned):
            if free != lent:
                kept = _common_prefix(lent, free)   # taken and given back above it
                moved, joined = set(lent[kept:]), set(free[kept:])
                for frame in joined - moved:
                    del refs[frame]
                refs.update(dict.fromkeys(moved - joined, 1))
                self._in_use[chunk] += len(lent) - len(free)
            # Every use of the allocator settles first, so the chunk is still
            # where the heap has it even if the loan emptied its list.
            self._free[chunk] = free
        if changed:
            elsewhere = borrower.elsewhere()
            if elsewhere:
                for frame in elsewhere:
                    del refs[frame]
                self._take_back_frames(elsewhere)
        borrower.take_back()
        self._loans, self._borrower = [], None

    def alloc(self) -> int:
        """A zeroed frame's physical address (reference count 1), or 0 if no
        chunk can be had. O(1): a chunk with free frames is at hand. While
        a loan is out the borrower's next frame is the one (the loan stays
        out: a copy-on-write fault need not settle and lend again)."""
        if self._borrower is not None and self._borrower.lent:
            frame = self._borrower.take()
            self.version += 1
            self._ram.fill_page(frame, _ZERO_FRAME)
            return frame
        self.settle()
        chunk = self._chunk_with_a_free_frame()
        if chunk is None:
            base = self._map.allocate(1)
            if base == 0:
                return 0
            chunk = layout.chunk_of(base)
            # Hand frames out lowest first: the list is popped from its end.
            self._free[chunk] = [base + i * PAGE_4K
                                 for i in reversed(range(layout.FRAMES_PER_CHUNK))]
            self._in_use[chunk] = 0
            self._clock += 1
            self._taken[chunk] = self._clock
            heapq.heappush(self._with_free, (self._clock, chunk))
        frame = self._free[chunk].pop()
        self.version += 1
        self._in_use[chunk] += 1
        self._refs[frame] = 1
        self._ram.fill_page(frame, _ZERO_FRAME)
        return frame

    def _chunk_with_a_free_frame(self) -> int | None:
        """The chunk taken first that still has a free frame (stale heap
        entries, of chunks emptied or given back since, are dropped)."""
        heap = self._with_free
        while heap:
            taken, chunk = heap[0]
            if self._taken.get(chunk) == taken and self._free[chunk]:
                return chunk
            heapq.heappop(heap)
        return None

    def share(self, frame: int) -> None:
        """One more reference to a frame that is handed out (a copy-on-write
        fork maps it in one more address space)."""
        self.settle()
        if frame not in self._refs:
            raise KernelPanic(f"share_frame: {frame:#x} is not an allocated frame")
        self._refs[frame] += 1
        self._shared.setdefault(layout.chunk_of(frame), set()).add(frame)

    def refcount(self, frame: int) -> int:
        """References to `frame` (0 when it is free). A count over 1 needs no
        settling: the borrower neither takes nor frees a shared frame."""
        count = self._refs.get(frame, 0)
        if count > 1:
            return count
        self.settle()
        return self._refs.get(frame, 0)

    def free(self, frame: int) -> None:
        """Drop a reference; at the last one, poison `frame` and take it back,
        and return its chunk to the os_MemoryMap when all 512 are free.
        Dropping one of several references needs no settling (refcount)."""
        refs = self._refs.get(frame)
        if refs is None or refs == 1:
            self.settle()
            refs = self._refs.get(frame)
        if refs is None:
            raise KernelPanic(f"free_frame: {frame:#x} is not an allocated frame")
        if refs > 1:
            self._refs[frame] = refs - 1
            if refs == 2:
                self._unshare(frame)
            return
        del self._refs[frame]
        self._ram.fill_page(frame, _POISON_FRAME)
        self._take_back(frame)

    def _take_back(self, frame: int) -> None:
        """Put a poisoned frame with no reference left back on its chunk's list."""
        self._take_back_all(layout.chunk_of(frame), [frame])

    def _take_back_all(self, chunk: int, poisoned: list[int]) -> None:
        """Put poisoned frames of `chunk` with no reference left on its list,
        in order, and give the chunk back when none of it is in use."""
        self.version += 1
        frames = self._free[chunk]
        if not frames:                            # it had none: offer it again
            heapq.heappush(self._with_free, (self._taken[chunk], chunk))
        frames += poisoned
        self._in_use[chunk] -= len(poisoned)
        if self._in_use[chunk] == 0:
            del self._free[chunk], self._in_use[chunk], self._taken[chunk]
            if self._map.release(layout.chunk_base(chunk), 1) != 1:
                raise KernelPanic(f"free_frame: chunk {chunk} was not marked used")

    def free_many(self, frames: list[int]) -> None:
        """free(frame) for each of `frames`, in order, faster (munmap)."""
        self.settle()
        refs, last = self._refs, []
        for frame in frames:
            count = refs.get(frame)
            if count is None:
                raise KernelPanic(f"free_frame: {frame:#x} is not an allocated frame")
            if count > 1:
                refs[frame] = count - 1
                if count == 2:
                    self._unshare(frame)
            else:
                del refs[frame]
                last.append(frame)
        self._ram.fill_pages(last, _POISON_FRAME)
        self._take_back_frames(last)

    def _unshare(self, frame: int) -> None:
        """`frame` has one reference left."""
        chunk = layout.chunk_of(frame)
        self._shared[chunk].discard(frame)
        if not self._shared[chunk]:
            del self._shared[chunk]

    def _take_back_frames(self, poisoned: list[int]) -> None:
        """_take_back(frame) for each of `poisoned`, in order, a chunk at a time."""
        by_chunk: dict[int, list[int]] = {}       # in order within each chunk, as one by one
        for frame in poisoned:
            by_chunk.setdefault(frame >> layout.CHUNK_SHIFT, []).append(frame)
        for chunk, frames in by_chunk.items():
            self._take_back_all(chunk, frames)

    @property
    def frames_in_use(self) -> int:
        self.settle()
        return len(self._refs)

    def available(self) -> int:
        """Frames that alloc() could still hand out (lent ones the borrower
        has not taken included: asking does not settle a loan)."""
        held_free = sum(map(len, self._free.values()))
        if self._borrower is not None:
            held_free += self._borrower.lent + self._borrower.freed_elsewhere
        return held_free + self._map.free_count() * layout.FRAMES_PER_CHUNK

    @property
    def chunks_held(self) -> int:
        self.settle()
        return len(self._in_use)

    def snapshot(self):
        """The allocator's state, for the debugger's undo."""
        self.settle()
        return ({c: list(f) for c, f in self._free.items()}, dict(self._in_use),
                dict(self._refs), list(self._with_free), dict(self._taken), self._clock)

    def restore(self, state) -> None:
        self.settle()
        self.version += 1
        free, in_use, refs, with_free, taken, self._clock = state
        self._free = {c: list(f) for c, f in free.items()}
        self._in_use, self._refs = dict(in_use), dict(refs)
        self._shared = {}
        for frame, count in self._refs.items():
            if count > 1:
                self._shared.setdefault(layout.chunk_of(frame), set()).add(frame)
        self._with_free, self._taken = list(with_free), dict(taken)

    def owns(self, frame: int) -> bool:
        """True if `frame` is currently handed out by this allocator."""
        self.settle()
        return frame in self._refs


def _common_prefix(a: list[int], b: list[int]) -> int:
    """How many first items a and b share (list compares run in C)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo

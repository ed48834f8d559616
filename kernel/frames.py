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

    def alloc(self) -> int:
        """A zeroed frame's physical address (reference count 1), or 0 if no
        chunk can be had. O(1): a chunk with free frames is at hand."""
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
        if frame not in self._refs:
            raise KernelPanic(f"share_frame: {frame:#x} is not an allocated frame")
        self._refs[frame] += 1

    def refcount(self, frame: int) -> int:
        """References to `frame` (0 when it is free)."""
        return self._refs.get(frame, 0)

    def free(self, frame: int) -> None:
        """Drop a reference; at the last one, poison `frame` and take it back,
        and return its chunk to the os_MemoryMap when all 512 are free."""
        refs = self._refs.get(frame)
        if refs is None:
            raise KernelPanic(f"free_frame: {frame:#x} is not an allocated frame")
        if refs > 1:
            self._refs[frame] = refs - 1
            return
        del self._refs[frame]
        chunk = layout.chunk_of(frame)
        self._ram.fill_page(frame, _POISON_FRAME)
        frames = self._free[chunk]
        frames.append(frame)
        if len(frames) == 1:                      # it had none: offer it again
            heapq.heappush(self._with_free, (self._taken[chunk], chunk))
        self._in_use[chunk] -= 1
        if self._in_use[chunk] == 0:
            del self._free[chunk], self._in_use[chunk], self._taken[chunk]
            if self._map.release(layout.chunk_base(chunk), 1) != 1:
                raise KernelPanic(f"free_frame: chunk {chunk} was not marked used")

    @property
    def frames_in_use(self) -> int:
        return len(self._refs)

    def available(self) -> int:
        """Frames that alloc() could still hand out."""
        held_free = sum(len(frames) for frames in self._free.values())
        return held_free + self._map.free_count() * layout.FRAMES_PER_CHUNK

    @property
    def chunks_held(self) -> int:
        return len(self._in_use)

    def snapshot(self):
        """The allocator's state, for the debugger's undo."""
        return ({c: list(f) for c, f in self._free.items()}, dict(self._in_use),
                dict(self._refs), list(self._with_free), dict(self._taken), self._clock)

    def restore(self, state) -> None:
        free, in_use, refs, with_free, taken, self._clock = state
        self._free = {c: list(f) for c, f in free.items()}
        self._in_use, self._refs = dict(in_use), dict(refs)
        self._with_free, self._taken = list(with_free), dict(taken)

    def owns(self, frame: int) -> bool:
        """True if `frame` is currently handed out by this allocator."""
        return frame in self._refs

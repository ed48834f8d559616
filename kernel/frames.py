"""4 KiB physical frames, carved from 2 MiB chunks of the os_MemoryMap.

Page tables and user pages live in 4 KiB frames. The frame allocator takes a
whole chunk from the os_MemoryMap when it has no free frame left, hands its 512
frames out one at a time, and gives the chunk back as soon as all 512 are free
again, so the os_MemoryMap always shows which chunks the kernel holds.

Frames are zeroed when handed out and poisoned with 0xDEADBEEF when freed, so a
use-after-free reads as poison in the debugger (xv6's kfree does the same).
"""

from __future__ import annotations

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
        self._handed_out: set[int] = set()

    def alloc(self) -> int:
        """A zeroed frame's physical address, or 0 if no chunk can be had."""
        chunk = next((c for c, frames in self._free.items() if frames), None)
        if chunk is None:
            base = self._map.allocate(1)
            if base == 0:
                return 0
            chunk = layout.chunk_of(base)
            # Hand frames out lowest first: the list is popped from its end.
            self._free[chunk] = [base + i * PAGE_4K
                                 for i in reversed(range(layout.FRAMES_PER_CHUNK))]
            self._in_use[chunk] = 0
        frame = self._free[chunk].pop()
        self._in_use[chunk] += 1
        self._handed_out.add(frame)
        self._ram.write(frame, _ZERO_FRAME)
        return frame

    def free(self, frame: int) -> None:
        """Poison `frame` and take it back; return its chunk when all are free."""
        chunk = layout.chunk_of(frame)
        if frame not in self._handed_out:
            raise KernelPanic(f"free_frame: {frame:#x} is not an allocated frame")
        self._handed_out.remove(frame)
        self._ram.write(frame, _POISON_FRAME)
        self._free[chunk].append(frame)
        self._in_use[chunk] -= 1
        if self._in_use[chunk] == 0:
            del self._free[chunk], self._in_use[chunk]
            if self._map.release(layout.chunk_base(chunk), 1) != 1:
                raise KernelPanic(f"free_frame: chunk {chunk} was not marked used")

    @property
    def frames_in_use(self) -> int:
        return len(self._handed_out)

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
                set(self._handed_out))

    def restore(self, state) -> None:
        free, in_use, handed_out = state
        self._free = {c: list(f) for c, f in free.items()}
        self._in_use, self._handed_out = dict(in_use), set(handed_out)

    def owns(self, frame: int) -> bool:
        """True if `frame` is currently handed out by this allocator."""
        return frame in self._handed_out

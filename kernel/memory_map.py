"""The os_MemoryMap and the kernel's Python allocator on the same bytes.

os_MemoryMap is 65,536 bytes at layout.MEMORY_MAP, one byte per 2 MiB chunk of
physical memory (chunk i covers i << 21 .. (i + 1) << 21):

    0 = no RAM there   1 = free   2 = used

Only the first `chunks` entries (os_MemAmount / 2) describe RAM. This class is
the same contract as asm/os_mem_allocate.asm and asm/os_mem_release.asm, on the
same bytes; a differential test keeps the two identical.

allocate(count)  searches from the highest chunk downward for `count`
                 contiguous free chunks, marks them used and returns the
                 physical address of the lowest one; 0 when count is 0 or no
                 run fits. Every entry down to index 0 is examined.
release(addr, n) marks n chunks from addr free again and returns n, or refuses
                 and returns 0 (changing nothing) unless addr is a nonzero chunk
                 boundary and all n chunks are inside RAM and currently used.
"""

from __future__ import annotations

from dataclasses import dataclass

from emu.errors import KernelPanic

from . import layout


@dataclass(frozen=True)
class Run:
    """A maximal run of equal entries: chunks [first, first + count)."""
    state: int
    first: int
    count: int

    @property
    def start(self) -> int:
        return layout.chunk_base(self.first)

    @property
    def end(self) -> int:
        return layout.chunk_base(self.first + self.count)


STATE_NAMES = {layout.CHUNK_ABSENT: "absent", layout.CHUNK_FREE: "free",
               layout.CHUNK_USED: "used"}


class MemoryMap:
    """Allocator of 2 MiB chunks over an os_MemoryMap held in `entries`.

    `entries` is a writable buffer of at least `chunks` bytes (guest RAM through
    a memoryview, or a bytearray in tests); `chunks` is the number of entries
    that describe RAM.
    """

    def __init__(self, entries, chunks: int):
        if chunks > len(entries):
            raise KernelPanic(f"memory_map: {chunks} chunks but only {len(entries)} entries")
        self.entries = entries
        self.chunks = chunks

    def format(self) -> None:
        """Boot-time state: chunk 0 used (the kernel's), the rest of RAM free,
        entries beyond RAM absent."""
        self.entries[:len(self.entries)] = bytes(len(self.entries))
        self.entries[:self.chunks] = bytes([layout.CHUNK_FREE]) * self.chunks
        self.entries[0] = layout.CHUNK_USED

    def allocate(self, count: int) -> int:
        """Take `count` contiguous free chunks, the highest run that fits.

        Returns the physical address of the lowest chunk taken, or 0.
        """
        if count <= 0 or count > self.chunks:
            return 0
        view = bytes(self.entries[:self.chunks])
        first = view.rfind(bytes([layout.CHUNK_FREE]) * count)
        if first < 0:
            return 0
        self.entries[first:first + count] = bytes([layout.CHUNK_USED]) * count
        return layout.chunk_base(first)

    def release(self, address: int, count: int) -> int:
        """Give back `count` chunks starting at `address`; returns count or 0."""
        if address <= 0 or address % layout.CHUNK_SIZE or count <= 0:
            return 0
        first = layout.chunk_of(address)
        if first + count > self.chunks:
            return 0
        if bytes(self.entries[first:first + count]) != bytes([layout.CHUNK_USED]) * count:
            return 0
        self.entries[first:first + count] = bytes([layout.CHUNK_FREE]) * count
        return count

    def snapshot(self) -> bytes:
        return bytes(self.entries[:self.chunks])

    def restore(self, entries: bytes) -> None:
        self.entries[:self.chunks] = entries

    def state(self, index: int) -> int:
        return self.entries[index]

    def free_count(self) -> int:
        return bytes(self.entries[:self.chunks]).count(layout.CHUNK_FREE)

    def used_count(self) -> int:
        return bytes(self.entries[:self.chunks]).count(layout.CHUNK_USED)

    def runs(self) -> list[Run]:
        """The map as maximal runs of equal entries over RAM, lowest first."""
        view = bytes(self.entries[:self.chunks])
        runs: list[Run] = []
        first = 0
        for i in range(1, self.chunks + 1):
            if i == self.chunks or view[i] != view[first]:
                runs.append(Run(view[first], first, i - first))
                first = i
        return runs

    def summary(self) -> dict:
        """Counts as the CLI's --json prints them."""
        return {"chunk_bytes": layout.CHUNK_SIZE, "total": self.chunks,
                "free": self.free_count(), "used": self.used_count()}

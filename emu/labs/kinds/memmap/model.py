"""The memmap lab's model: kernel/memory_map.py, parameterized by the variant.

The kernel's MemoryMap is the shipped contract (highest fit, all-or-nothing
release, get_free counts free chunks). A variant may change three rules, and
this subclass changes exactly those, on the same bytes:

    policy     highest-fit       the highest run of COUNT free chunks (the kernel's)
               lowest-first-fit  the lowest run of COUNT free chunks
               best-fit          among the maximal free runs of at least COUNT
                                 chunks, the shortest (the lowest of equals);
                                 its lowest COUNT chunks are taken
    release    all-or-nothing    refuse unless every chunk is used (the kernel's)
               best-effort       free the used chunks of the range and return how
                                 many that was (0 when none); the range must still
                                 be a nonzero chunk boundary inside RAM
    get_free   free-count        the number of free chunks (the kernel's)
               largest-run       the length of the longest run of free chunks

Entry 0 is the kernel's chunk and always used; every rule examines entry 1.
"""

from __future__ import annotations

from kernel import layout
from kernel.memory_map import MemoryMap

POLICIES = ("highest-fit", "lowest-first-fit", "best-fit")
RELEASE_RULES = ("all-or-nothing", "best-effort")
GET_FREE_RULES = ("free-count", "largest-run")
FREE, USED = layout.CHUNK_FREE, layout.CHUNK_USED


def free_runs(entries: bytes) -> list[tuple[int, int]]:
    """The maximal runs of free entries as (first, length), lowest first."""
    runs, first = [], None
    for index, value in enumerate(entries):
        if value == FREE and first is None:
            first = index
        elif value != FREE and first is not None:
            runs.append((first, index - first))
            first = None
    if first is not None:
        runs.append((first, len(entries) - first))
    return runs


class VariantMemoryMap(MemoryMap):
    """MemoryMap with the variant's policy, release rule and get_free rule."""

    def __init__(self, entries, chunks: int, policy: str, release: str, get_free: str):
        super().__init__(entries, chunks)
        self.policy, self.release_rule, self.get_free_rule = policy, release, get_free

    def allocate(self, count: int) -> int:
        if self.policy == "highest-fit":
            return super().allocate(count)
        if count <= 0 or count > self.chunks:
            return 0
        first = self._lowest_fit(count) if self.policy == "lowest-first-fit" \
            else self._best_fit(count)
        if first is None:
            return 0
        self.entries[first:first + count] = bytes([USED]) * count
        return layout.chunk_base(first)

    def _lowest_fit(self, count: int) -> int | None:
        found = bytes(self.entries[:self.chunks]).find(bytes([FREE]) * count)
        return None if found < 0 else found

    def _best_fit(self, count: int) -> int | None:
        fitting = [(length, first) for first, length in free_runs(self.snapshot())
                   if length >= count]
        return min(fitting)[1] if fitting else None

    def release(self, address: int, count: int) -> int:
        if self.release_rule == "all-or-nothing":
            return super().release(address, count)
        if address <= 0 or address % layout.CHUNK_SIZE or count <= 0:
            return 0
        first = layout.chunk_of(address)
        if first + count > self.chunks:
            return 0
        released = 0
        for index in range(first, first + count):
            if self.entries[index] == USED:
                self.entries[index] = FREE
                released += 1
        return released

    def get_free(self) -> int:
        """What os_mem_get_free returns under the variant's rule."""
        if self.get_free_rule == "free-count":
            return self.free_count()
        return max((length for _, length in free_runs(self.snapshot())), default=0)

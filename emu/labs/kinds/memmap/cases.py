"""Seeded maps and operations for the memmap lab's tests.

A Case is a starting os_MemoryMap (one byte per chunk of RAM) and the calls
to make on it. Every generator takes a Prng and the number of chunks, so a
variant's cases are the same on every machine.

Chunk 0 is the kernel's and always used. In the random maps chunk 1 is used
too ("the firmware's"), so that skipping entry 1, the 2014 original's bug, is
caught by the tests made for it (entries_cases, edge_cases) and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel import layout

from .model import FREE, USED, free_runs

ALLOCATE, RELEASE, GET_FREE = "allocate", "release", "get_free"
RELEASE_TAKEN = "release_taken"     # (RELEASE_TAKEN, k, how): the k-th allocation so far


@dataclass
class Case:
    title: str
    entries: bytes                    # entries 0 .. chunks-1
    ops: list = field(default_factory=list)   # (ALLOCATE, n) | (RELEASE, addr, n) | (GET_FREE,)
                                              # | (RELEASE_TAKEN, k, "whole" | "part")


def random_map(rng, chunks: int, used_percent: int = 45, longest: int = 12) -> bytes:
    """Alternating runs of used and free chunks; entries 0 and 1 used."""
    entries = bytearray([USED, USED])
    state = FREE if rng.chance(1, 2) else USED
    while len(entries) < chunks:
        weight = used_percent if state == USED else 100 - used_percent
        length = 1 + rng.below(max(1, longest * weight // 50))
        entries += bytes([state]) * length
        state = FREE if state == USED else USED
    return bytes(entries[:chunks])


def start_map(runs: list, chunks: int) -> bytes:
    """The variant's starting map: `runs` of used chunks [[first, count], ...]."""
    entries = bytearray([FREE]) * chunks
    entries[0] = USED
    for first, count in runs:
        entries[first:first + count] = bytes([USED]) * count
    return bytes(entries)


def draw_start_runs(rng, chunks: int) -> list:
    """The used runs of a variant's starting map (chunk 1 among them)."""
    entries = random_map(rng, chunks, used_percent=35, longest=6)
    runs = [[max(first, 1), count - (first == 0)] for first, count in _used_runs(entries)]
    return [run for run in runs if run[1] > 0]


def _used_runs(entries: bytes) -> list[tuple[int, int]]:
    flipped = bytes(FREE if e == USED else USED for e in entries)
    return free_runs(flipped)


def largest_free(entries: bytes) -> int:
    return max((n for _, n in free_runs(entries)), default=0)


def allocate_counts(rng, entries: bytes, chunks: int) -> list[int]:
    """Counts worth asking for on `entries`: small ones, exact fits, too many."""
    largest = largest_free(entries)
    counts = [1, 2, rng.between(1, 6), largest, largest + 1, 0, chunks, chunks + 1]
    return counts + [rng.between(1, max(1, largest)) for _ in range(4)]


def allocate_cases(rng, chunks: int, count: int = 24) -> list[Case]:
    cases = []
    for i in range(count):
        entries = random_map(rng, chunks)
        cases.append(Case(f"allocate case {i + 1}", entries,
                          [(ALLOCATE, n) for n in allocate_counts(rng, entries, chunks)]))
    return cases


def release_ops(rng, entries: bytes, chunks: int) -> list:
    """Releases of used ranges, partly used ones, free ones, and malformed ones."""
    used = [(f, n) for f, n in _used_runs(entries) if f >= 2]
    ops = []
    for first, length in rng.sample(used, min(4, len(used))):
        start = first + rng.below(length)
        ops.append((RELEASE, layout.chunk_base(start), rng.between(1, first + length - start)))
    ops.append((RELEASE, layout.chunk_base(rng.between(2, chunks - 1)), rng.between(1, 4)))
    ops += [(RELEASE, ops[0][1], ops[0][2]) if used else (RELEASE, 0, 1),   # twice
            (RELEASE, 0, 1), (RELEASE, layout.chunk_base(3) + 0x1000, 1),
            (RELEASE, layout.chunk_base(chunks - 1), 2), (RELEASE, layout.chunk_base(2), 0),
            (RELEASE, layout.chunk_base(chunks), 1)]
    return ops


def release_cases(rng, chunks: int, count: int = 24) -> list[Case]:
    cases = []
    for i in range(count):
        entries = random_map(rng, chunks)
        cases.append(Case(f"release case {i + 1}", entries, release_ops(rng, entries, chunks)))
    return cases


def get_free_cases(rng, chunks: int, count: int = 16) -> list[Case]:
    return [Case(f"get_free case {i + 1}",
                 random_map(rng, chunks, used_percent=rng.between(10, 90)), [(GET_FREE,)])
            for i in range(count)]


def sequence(rng, entries: bytes, chunks: int, length: int) -> list:
    """A mixed sequence: allocations, releases of what was allocated (whole,
    twice, in part), stray releases and get_free calls."""
    ops, allocations = [], 0
    for _ in range(length):
        roll = rng.below(10)
        if roll < 4:
            n = rng.choice([1, 1, 2, 3, rng.between(1, 8), rng.between(1, max(2, chunks // 8))])
            ops.append((ALLOCATE, n))
            allocations += 1
        elif roll < 7 and allocations:
            ops.append((RELEASE_TAKEN, rng.below(allocations),
                        rng.choice(["whole", "whole", "whole", "part"])))
        elif roll < 8:
            ops.append((RELEASE, layout.chunk_base(rng.between(2, chunks - 1)),
                        rng.between(1, 3)))
        else:
            ops.append((GET_FREE,))
    return ops


def sequence_cases(rng, entries: bytes, chunks: int, count: int, length: int,
                   title: str) -> list[Case]:
    """`count` sequences of `length` calls, each from `entries`."""
    return [Case(f"{title} {i + 1}", entries, sequence(rng, entries, chunks, length))
            for i in range(count)]

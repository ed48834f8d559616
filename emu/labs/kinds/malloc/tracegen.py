"""Seeded malloc-lab traces with the shapes of the classic set, never its files.

Each family reproduces one statistical shape of the traces courses have used
since CS:APP (measured on them: op mix, size distribution, live blocks), at a
size the grader replays in about a second:

    program     a compiler-like run: one popular page-sized request (about 2/3
                of the allocations), a few popular small sizes, a tail of odd
                ones; frees mostly newest-first, in phases
    binary      small and large blocks interleaved, every large one freed, then
                slightly larger requests: free space in holes too small
    coalescing  two equal neighbours freed, then one block of both sizes:
                only merging reuses the space
    random      sizes uniform up to a bound, allocations and frees at random
    realloc     a few vectors grown step by step by realloc, a small block
                allocated and freed between steps (it gets in the way)
    large       a large heap: blocks of 64 KiB to 1 MiB, some grown, up to
                about 12 MiB live

generate(family, rng, ops) is a pure function of the Prng's state: the same
seed gives the same bytes on every machine (the labs' Prng, not `random`).
Every trace is balanced (all freed at the end) and valid for traces.py.
"""

from __future__ import annotations

from ....errors import UsageError
from ....malloclab.traces import Trace, TraceWriter, parse_trace

FAMILIES = ("program", "binary", "coalescing", "random", "realloc", "large")


def _program(rng, ops: int) -> TraceWriter:
    t = TraceWriter()
    page = rng.between(3800, 4100)
    small = [rng.between(2, 24) * 8 for _ in range(3)]
    stack: list[int] = []
    while len(t.ops) < ops - len(stack):
        if stack and (rng.chance(2, 5) or len(stack) > ops // 6):
            for _ in range(rng.between(1, 4)):
                if stack:
                    t.free(stack.pop(len(stack) - 1 - rng.below(min(3, len(stack)))))
            continue
        pick = rng.below(100)
        size = page if pick < 65 else rng.choice(small) if pick < 90 else rng.between(1, 20000)
        stack.append(t.alloc(size))
    t.free_all(rng.shuffle)
    return t


def _binary(rng, ops: int) -> TraceWriter:
    t = TraceWriter()
    little, big = rng.between(1, 8) * 8, rng.between(24, 60) * 8
    pairs = ops // 5
    larges = []
    for _ in range(pairs):
        t.alloc(little)
        larges.append(t.alloc(big))
    for ident in larges:
        t.free(ident)
    for _ in range(pairs // 2):
        t.alloc(big + rng.between(1, 8) * 8)
    t.free_all(rng.shuffle)
    return t


def _coalescing(rng, ops: int) -> TraceWriter:
    t = TraceWriter()
    size = rng.between(128, 512) * 8 - rng.below(8)
    for _ in range(ops // 6):
        first, second = t.alloc(size), t.alloc(size)
        t.free(first)
        t.free(second)
        t.free(t.alloc(2 * size))
    return t


def _random(rng, ops: int) -> TraceWriter:
    t = TraceWriter()
    bound = rng.choice((512, 4096, 32768))
    while len(t.ops) < ops - len(t.live):
        if t.live and (len(t.live) > ops // 5 or rng.chance(9, 20)):
            t.free(rng.choice(sorted(t.live)))
        else:
            t.alloc(rng.between(1, bound))
    t.free_all(rng.shuffle)
    return t


def _realloc(rng, ops: int) -> TraceWriter:
    t = TraceWriter()
    vectors = [t.alloc(rng.between(2, 16) * 8) for _ in range(rng.between(1, 3))]
    step = rng.between(4, 32) * 8
    while len(t.ops) < ops - len(t.live) - 3:
        vector = rng.choice(vectors)
        blocker = t.alloc(rng.choice((16, 24, 128)))
        t.realloc(vector, t.live[vector] + step + rng.below(step))
        t.free(blocker)
    t.free_all(rng.shuffle)
    return t


def _large(rng, ops: int) -> TraceWriter:
    t = TraceWriter()
    live_bytes, target = 0, 12 << 20
    while len(t.ops) < ops - len(t.live):
        if live_bytes > target or t.live and rng.chance(1, 4):
            ident = rng.choice(sorted(t.live))
            live_bytes -= t.live[ident]
            if rng.chance(1, 3):
                grown = t.live[ident] + rng.between(1, 64) * 1024
                t.realloc(ident, grown)
                live_bytes += grown
            else:
                t.free(ident)
        else:
            size = rng.between(64, 1024) * 1024 - rng.below(64)
            t.alloc(size)
            live_bytes += size
    t.free_all(rng.shuffle)
    return t


BUILDERS = {"program": _program, "binary": _binary, "coalescing": _coalescing,
            "random": _random, "realloc": _realloc, "large": _large}


def generate_text(family: str, rng, ops: int) -> str:
    """The .rep text of a `family` trace of about `ops` ops (a few more when
    the frees at the end need them)."""
    builder = BUILDERS.get(family)
    if builder is None:
        raise UsageError(f"unknown trace family '{family}' (families: {', '.join(FAMILIES)})")
    if ops < 12:
        raise UsageError(f"a generated trace needs at least 12 ops, got {ops}")
    return builder(rng, ops).text()


def generate(family: str, rng, ops: int, name: str) -> Trace:
    """A parsed generated trace called `name` (its path in messages is `name`.rep)."""
    return parse_trace(generate_text(family, rng, ops), f"{name}.rep")

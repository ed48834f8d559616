"""Generate the project's own malloc-lab traces (CS:APP .rep format), seeded.

    .venv/bin/python examples/traces/make_traces.py      # rewrites examples/traces/*.rep

Each trace stresses one thing an allocator has to get right; every trace is
balanced (it frees all it allocates), and the same seed gives the same bytes
(a test checks that the committed files match this script).
"""

from __future__ import annotations

import random
from pathlib import Path

from emu.malloclab.traces import TraceWriter

HERE = Path(__file__).resolve().parent
SEED = 20261123


def small_random(rng: random.Random) -> TraceWriter:
    """Small blocks (1..512 B) allocated and freed at random, about 100 live."""
    t = TraceWriter()
    for _ in range(1500):
        if t.live and (len(t.live) > 100 or rng.random() < 0.45):
            t.free(rng.choice(sorted(t.live)))
        else:
            t.alloc(rng.randint(1, 512))
    t.free_all(lambda ids: rng.sample(ids, len(ids)))
    return t


def mixed_sizes(rng: random.Random) -> TraceWriter:
    """Sizes spread over four orders of magnitude (8 B .. 64 KiB)."""
    t = TraceWriter()
    for _ in range(2000):
        if t.live and (len(t.live) > 200 or rng.random() < 0.48):
            t.free(rng.choice(sorted(t.live)))
        else:
            t.alloc(int(8 * 2 ** rng.uniform(0, 13)))
    t.free_all(lambda ids: rng.sample(ids, len(ids)))
    return t


def phases(rng: random.Random) -> TraceWriter:
    """Fill with small blocks, free every other one, then ask for larger ones:
    free space exists but in holes too small (external fragmentation)."""
    t = TraceWriter()
    for _round in range(3):
        small = [t.alloc(rng.choice((24, 40, 56))) for _ in range(400)]
        for ident in small[::2]:
            t.free(ident)
        for _ in range(150):
            t.alloc(rng.choice((200, 300, 400)))
    t.free_all(lambda ids: rng.sample(ids, len(ids)))
    return t


def realloc_growth(rng: random.Random) -> TraceWriter:
    """Growing arrays: 30 vectors each realloc'ed up in steps, with small
    allocations in between that get in the way of growing in place."""
    t = TraceWriter()
    vectors = [t.alloc(16) for _ in range(30)]
    size = {v: 16 for v in vectors}
    for step in range(1200):
        v = rng.choice(vectors)
        size[v] += rng.randint(8, 200)
        t.realloc(v, size[v])
        if step % 4 == 0:
            t.alloc(rng.randint(16, 64))
    t.free_all(lambda ids: rng.sample(ids, len(ids)))
    return t


def lifo(rng: random.Random) -> TraceWriter:
    """Stack discipline: the newest block is freed first (an easy case)."""
    t = TraceWriter()
    stack = []
    for _ in range(2000):
        if stack and (len(stack) > 300 or rng.random() < 0.5):
            t.free(stack.pop())
        else:
            stack.append(t.alloc(rng.randint(1, 1024)))
    while stack:
        t.free(stack.pop())
    return t


TRACES = {
    "small-random": small_random,
    "mixed-sizes": mixed_sizes,
    "phases": phases,
    "realloc-growth": realloc_growth,
    "lifo": lifo,
}


def generate() -> dict[str, str]:
    """The text of every trace, from one seeded generator per trace."""
    return {name: make(random.Random(f"{SEED}-{name}")).text() for name, make in TRACES.items()}


def main() -> None:
    for name, text in generate().items():
        (HERE / f"{name}.rep").write_text(text)
        print(f"{name}.rep: {text.count(chr(10)) - 4} ops")


if __name__ == "__main__":
    main()

"""The heap map's data: rows of blocks over an address range, and their raster.

Two views of a trace's heap, one row per op shown (top to bottom), addresses
left to right:

  payload view (any allocator)   from what the driver knows: every live payload
                                 after each op (the address each op returned,
                                 replayed over the trace), and the heap up to
                                 its end; the rest is "not payload": headers,
                                 padding or free space, only the allocator knows
  block view (known layouts)     heap walks at sample ops (emu/heap.py: the
                                 project's allocators, or a declared layout)

A row is a list of (address, size, state). raster() turns rows into an image
of `bins` columns whose pixels are the states' colours mixed by how much of
the bin each covers: a 100,000-op trace becomes a few hundred rows of pixels,
which is why the pictures stay small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..heap import ALLOCATED, CORRUPT, FREE, OVERHEAD, HeapWalk
from .traces import OP_FREE

PAYLOAD, NOT_PAYLOAD = "payload", "not payload"
COLOURS = {PAYLOAD: "#3b6fb6", NOT_PAYLOAD: "#d0d0d0", ALLOCATED: "#3b6fb6",
           FREE: "#a6d96a", OVERHEAD: "#8c8c8c", CORRUPT: "#d7191c"}
BACKGROUND = "#ffffff"          # beyond the heap's end
MAX_ROWS = 600
FAR_AWAY = 16                   # payloads further than 16 heap-spans away are not drawn


@dataclass
class HeapMap:
    title: str
    start: int                  # the address at x = 0 (mem_heap_lo for the payload view)
    span: int                   # bytes from start drawn
    ops: list[int]              # the op index of each row
    rows: list[list[tuple[int, int, str]]]
    states: tuple[str, ...]     # the states in the legend, in order
    failed_op: int | None = None
    left_out: int = 0           # payloads not drawn (in mappings far from the heap)


def rows_to_show(done: int, failed_op: int | None, max_rows: int = MAX_ROWS) -> list[int]:
    """Op indexes for the rows: every op of a short trace, else evenly spread,
    always the last and the failing op."""
    if done <= 0:
        return []
    if done <= max_rows:
        chosen = set(range(done))
    else:
        chosen = set(np.linspace(0, done - 1, max_rows).round().astype(int).tolist())
    if failed_op is not None and failed_op < done:
        chosen.add(failed_op)
    return sorted(chosen)


def live_payloads(trace, addrs: list[int], wanted: list[int]) -> dict[int, list[tuple[int, int]]]:
    """{op index: [(address, size)] live after that op} for each op in `wanted`,
    replaying the trace with the addresses the driver recorded."""
    live: dict[int, tuple[int, int]] = {}
    out, want = {}, set(wanted)
    for index, address in enumerate(addrs):
        op = trace.ops[index]
        if op.kind == OP_FREE or op.size == 0 or address == 0:
            live.pop(op.id, None)
        else:
            live[op.id] = (address, op.size)
        if index in want:
            out[index] = sorted(live.values())
    return out


def payload_map(result, max_rows: int = MAX_ROWS) -> HeapMap:
    """The payload view of a TraceResult (valid or not)."""
    done = len(result.addrs)
    ops = rows_to_show(done, result.failed_op, max_rows)
    payloads = live_payloads(result.trace, result.addrs, ops)
    heap_top = max((footprint for _, footprint in result.series), default=0)
    start, span = result.heap_start, heap_top
    everything = [p for index in ops for p in payloads[index]]
    if everything and heap_top == 0:          # a heap made of mappings only
        start = min(a for a, _ in everything)
        span = max(a + n for a, n in everything) - start
    limit = start + max(span, 1) * FAR_AWAY
    rows, left_out = [], 0
    for index in ops:
        row = [(start, result.series[index][1] if heap_top else span, NOT_PAYLOAD)]
        for address, size in payloads[index]:
            if start <= address < limit:
                row.append((address, size, PAYLOAD))
            else:
                left_out += 1
        rows.append(row)
    drawn = [a + n for row in rows for a, n, _ in row]
    span = max([span, *(d - start for d in drawn)]) if drawn else span
    return HeapMap(f"{result.name}: heap map, payload view", start, max(span, 1), ops, rows,
                   (PAYLOAD, NOT_PAYLOAD), result.failed_op, left_out)


def block_map(result) -> HeapMap | None:
    """The block view from a TraceResult's heap walks, or None without any."""
    samples = [s for s in result.samples if s.blocks]
    if not samples:
        return None
    start = min(b.address for s in samples for b in s.blocks)
    end = max(b.address + b.size for s in samples for b in s.blocks)
    rows = [[(b.address, b.size, b.state) for b in s.blocks] for s in samples]
    return HeapMap(f"{result.name}: heap map, block view", start, max(end - start, 1),
                   [s.op_index for s in samples], rows, (ALLOCATED, FREE, OVERHEAD, CORRUPT),
                   result.failed_op)


def snapshot_map(walk: HeapWalk, title: str = "heap") -> HeapMap:
    """One row: a heap walk as the debugger's `heap` sees it."""
    rows = [[(b.address, b.size, b.state) for b in walk.blocks]]
    if not walk.blocks:
        rows = [[(walk.start, max(walk.end - walk.start, 0), OVERHEAD)]]
    return HeapMap(title, walk.start, max(walk.end - walk.start, 1), [0], rows,
                   (ALLOCATED, FREE, OVERHEAD, CORRUPT))


def coverage(starts: np.ndarray, ends: np.ndarray, bins: int) -> np.ndarray:
    """How much of each of `bins` unit-wide bins the intervals [starts, ends)
    (in bin units, clipped to [0, bins]) cover, summed: fractions, 0..n."""
    a = np.clip(starts, 0, bins).astype(float)
    b = np.clip(ends, 0, bins).astype(float)
    keep = b > a
    a, b = a[keep], b[keep]
    out = np.zeros(bins + 1)
    first, last = np.floor(a).astype(int), np.floor(b).astype(int)
    same = first == last
    np.add.at(out, first[same], (b - a)[same])
    split = ~same
    np.add.at(out, first[split], (first + 1 - a)[split])
    np.add.at(out, last[split], (b - last)[split])
    runs = np.zeros(bins + 2)                    # whole bins strictly between
    np.add.at(runs, first[split] + 1, 1)
    np.add.at(runs, last[split], -1)
    out += np.cumsum(runs)[:bins + 1]
    return out[:bins]


def raster(heap_map: HeapMap, bins: int) -> np.ndarray:
    """The map as an RGB image (rows x bins x 3, floats 0..1): each pixel the
    states' colours mixed by coverage, the rest the background. Later states
    in a row are drawn over earlier ones (payloads over "not payload")."""
    image = np.zeros((len(heap_map.rows), bins, 3))
    scale = bins / heap_map.span
    colours = {s: np.array(_rgb(c)) for s, c in COLOURS.items()}
    background = np.array(_rgb(BACKGROUND))
    for r, row in enumerate(heap_map.rows):
        covered = np.zeros(bins)
        layers = []
        for state in dict.fromkeys(s for _, _, s in row):
            items = [(a, n) for a, n, s in row if s == state]
            starts = (np.array([a for a, _ in items]) - heap_map.start) * scale
            ends = starts + np.array([n for _, n in items]) * scale
            layers.append((state, np.minimum(coverage(starts, ends, bins), 1.0)))
        for state, amount in reversed(layers):          # the last drawn is on top
            amount = np.minimum(amount, 1.0 - covered)
            image[r] += amount[:, None] * colours[state]
            covered += amount
        image[r] += (1.0 - covered)[:, None] * background
    return image


def _rgb(colour: str) -> tuple[float, float, float]:
    value = int(colour.lstrip("#"), 16)
    return ((value >> 16) / 255, ((value >> 8) & 0xFF) / 255, (value & 0xFF) / 255)

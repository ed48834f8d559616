"""The malloc lab's pictures, checked through their data and labels (never
pixels): a student allocator's payloads where it put them, the standard
traces' heap maps small and labelled, the failing op marked."""

from types import SimpleNamespace

import numpy as np
import pytest

from emu.heap import walk_heap
from emu.machine import Budget
from emu.malloclab.heapmap import (COLOURS, NOT_PAYLOAD, PAYLOAD, block_map, payload_map)
from emu.malloclab.image import Settings
from emu.malloclab.lab import Lab
from emu.malloclab.plot import heap_figure, util_figure, write_heap_snapshot, write_plots
from emu.malloclab.traces import parse_trace, read_trace
from tests.conftest import ALL_STANDARD, EXAMPLES, HANDOUTS, STANDARD_TRACES

MEGABYTE = 1 << 20
SMALL = "0\n3\n4\n1\na 0 100\na 1 200\nf 0\na 2 50\n"


def _rgb(colour):
    return np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])


def test_the_heap_plot_of_a_student_allocator_shows_its_payloads(tmp_path):
    """The CS:APP fixture (no layout declaration) puts its first block's payload
    at heap_lo + 16 (pad, prologue, header) and fits op 3 into the freed one."""
    trace_file = tmp_path / "small.rep"
    trace_file.write_text(SMALL)
    result = Lab.for_allocator(str(HANDOUTS / "csapp" / "mm.c")).run(
        read_trace(trace_file), Settings(align=8))
    assert result.valid, result.error
    lo = result.heap_start
    heap_map = payload_map(result)
    payloads = [[(a - lo, n) for a, n, s in row if s == PAYLOAD] for row in heap_map.rows]
    assert payloads == [[(16, 100)], [(16, 100), (128, 200)], [(128, 200)],
                        [(16, 50), (128, 200)]]
    fig = heap_figure(heap_map, bins=heap_map.span)              # one byte per column
    image = fig.axes[0].images[0].get_array()
    assert image.shape[:2] == (4, heap_map.span)
    row = image[3]
    assert np.allclose(row[16:66], _rgb(COLOURS[PAYLOAD]))       # id 2's 50 bytes
    assert np.allclose(row[66:128], _rgb(COLOURS[NOT_PAYLOAD]))  # the rest of the hole
    assert np.allclose(row[128:328], _rgb(COLOURS[PAYLOAD]))     # id 1's 200 bytes
    assert fig.axes[0].get_xlabel() == f"address - {lo:#x} (KiB)"


def test_a_declared_layout_gives_the_block_view_and_it_agrees_with_the_payloads():
    lab = Lab.for_allocator(str(HANDOUTS / "cmu_f18" / "mm.c"))
    assert lab.program.layout is not None and lab.program.knows_layout
    result = lab.run(read_trace(EXAMPLES / "traces" / "phases.rep"), Settings(sample_every=100))
    blocks, payloads = block_map(result), payload_map(result, max_rows=10 ** 6)
    assert blocks is not None and len(blocks.rows) == 33
    by_op = dict(zip(payloads.ops, payloads.rows))
    for op, row in zip(blocks.ops, blocks.rows):
        allocated = [(a, n) for a, n, s in row if s == "allocated"]
        live = [(a, n) for a, n, s in by_op[op] if s == PAYLOAD]
        assert len(allocated) == len(live)               # one payload in each allocated block
        for (block, size), (payload, length) in zip(allocated, live):
            assert block + 8 == payload and length <= size - 16


def test_a_failed_trace_marks_its_op(tmp_path):
    result = Lab.for_allocator(str(HANDOUTS / "int_pointers" / "mm.c")).run(
        read_trace(EXAMPLES / "traces" / "lifo.rep"), Settings(align=8))
    assert not result.valid and result.failed_op is not None
    for fig in (util_figure(result), heap_figure(payload_map(result))):
        labels = [line.get_label() for line in fig.axes[0].get_lines()]
        assert f"op {result.failed_op} failed" in labels
    written = write_plots(result, tmp_path)
    assert sorted(p.name for p in written) == ["lifo-heap.svg", "lifo-util.svg"]


def _fake_result(num_ops: int):
    """A TraceResult-shaped record of a long run: blocks appear and go, the heap grows."""
    rng = np.random.default_rng(7)
    lines, live, addrs, series, top = [], {}, [], [], 0
    for i in range(num_ops):
        if live and (len(live) > 2000 or rng.random() < 0.45):
            ident = next(iter(live))
            lines.append(f"f {ident}")
            del live[ident]
            addrs.append(0)
        else:
            size = int(rng.integers(1, 4000))
            lines.append(f"a {i} {size}")
            live[i] = size
            addrs.append(0x5555_0000_0000 + top)
            top += size + 16
        series.append((sum(live.values()), top))
    text = f"0\n{num_ops}\n{num_ops}\n1\n" + "\n".join(lines) + "\n"
    trace = parse_trace(text, "long.rep")
    return SimpleNamespace(trace=trace, name="long", addrs=addrs, series=series, ops=num_ops,
                           heap_start=0x5555_0000_0000, failed_op=None, util=0.5, valid=True,
                           samples=[], insns=None)


def test_a_100000_op_picture_stays_under_a_megabyte(tmp_path):
    result = _fake_result(100_000)
    for name, fig in (("heap", heap_figure(payload_map(result))), ("util", util_figure(result))):
        path = tmp_path / f"long-{name}.svg"
        fig.savefig(path)
        assert path.stat().st_size < MEGABYTE, (name, path.stat().st_size)


@pytest.mark.skipif(not STANDARD_TRACES.is_dir(), reason="no ../shared/malloclab-traces")
def test_the_heap_maps_of_the_standard_traces_are_small_and_labelled(tmp_path):
    lab = Lab.for_allocator("implicit")
    for name in ALL_STANDARD:                # all eleven: the issue-10 acceptance
        result = lab.run(read_trace(STANDARD_TRACES / f"{name}.rep"))
        heap_map = payload_map(result)
        fig = heap_figure(heap_map)
        ax = fig.axes[0]
        assert ax.get_xlabel().startswith(f"address - {result.heap_start:#x} (")
        assert ax.get_ylabel() == "op index" and len(ax.get_xticks()) > 2
        image = ax.images[0].get_array()
        assert image.shape[0] == len(heap_map.ops) and image.shape[1] == 1000
        path = tmp_path / f"{name}-heap.svg"
        fig.savefig(path)
        assert path.stat().st_size < MEGABYTE, (name, path.stat().st_size)


def test_the_debugger_can_draw_the_heap_it_walks(tmp_path):
    lab = Lab.for_allocator("implicit")
    runner = lab.start(read_trace(EXAMPLES / "traces" / "lifo.rep"), Settings())
    runner.resume(Budget(instructions=2_000_000))          # part of the way through
    space = runner.aspace
    read = lambda vaddr, n: runner.machine.mmu.read_virtual(vaddr, n, root=space.root)
    walk = walk_heap(read, lab.image.symbols, space.brk_start, space.brk)
    runner.finish()
    path = write_heap_snapshot(walk, tmp_path / "heap.png")
    assert path.stat().st_size > 1000 and walk.blocks


def test_a_trace_that_fails_at_its_first_op_still_gets_its_plots(tmp_path):
    allocator = tmp_path / "nullmm.c"            # every malloc returns NULL: op 0 fails
    allocator.write_text(
        "#include <stddef.h>\nint mm_init(void) { return 0; }\n"
        "void *mm_malloc(size_t size) { (void)size; return NULL; }\n"
        "void mm_free(void *p) { (void)p; }\n"
        "void *mm_realloc(void *p, size_t size) { (void)p; (void)size; return NULL; }\n")
    result = Lab.for_allocator(str(allocator)).run(read_trace(EXAMPLES / "traces" / "lifo.rep"))
    assert not result.valid and result.failed_op == 0
    fig = heap_figure(payload_map(result))
    assert not fig.axes[0].images                # nothing to draw, and said so
    assert "no operation completed" in fig.axes[0].texts[0].get_text()
    paths = write_plots(result, tmp_path / "plots")
    assert [p.name for p in paths][:2] == ["lifo-util.svg", "lifo-heap.svg"]

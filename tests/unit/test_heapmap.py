"""The heap map's data, without a machine: coverage of bins, live payloads
replayed from the driver's addresses, rows chosen, and the raster's colours."""

import numpy as np
import pytest

from emu.heap import HeapWalk, payload_view
from emu.malloclab.heapmap import (COLOURS, NOT_PAYLOAD, PAYLOAD, HeapMap, coverage,
                                   live_payloads, raster, rows_to_show)
from emu.malloclab.traces import parse_trace

TRACE = parse_trace("0\n3\n5\n1\na 0 100\na 1 200\nf 0\na 2 50\nr 1 300\n")


def test_coverage_adds_up_partial_and_whole_bins():
    out = coverage(np.array([0.5, 2.0]), np.array([1.25, 5.0]), 6)
    assert out.tolist() == pytest.approx([0.5, 0.25, 1.0, 1.0, 1.0, 0.0])


def test_coverage_clips_to_the_bins():
    assert coverage(np.array([-3.0]), np.array([9.0]), 4).tolist() == [1.0] * 4


def test_live_payloads_replay_the_trace_with_the_recorded_addresses():
    addrs = [0x1000, 0x2000, 0, 0x1000, 0x3000]
    live = live_payloads(TRACE, addrs, [0, 2, 3, 4])
    assert live == {0: [(0x1000, 100)], 2: [(0x2000, 200)],
                    3: [(0x1000, 50), (0x2000, 200)], 4: [(0x1000, 50), (0x3000, 300)]}


def test_rows_are_every_op_of_a_short_trace_and_a_spread_of_a_long_one():
    assert rows_to_show(5, None) == [0, 1, 2, 3, 4]
    rows = rows_to_show(100_000, 31_337, max_rows=100)
    assert len(rows) == 101 and rows[0] == 0 and rows[-1] == 99_999 and 31_337 in rows


def test_the_raster_paints_payloads_over_the_rest_of_the_heap():
    heap_map = HeapMap("t", 0, 8, [0], [[(0, 6, NOT_PAYLOAD), (2, 2, PAYLOAD)]],
                       (PAYLOAD, NOT_PAYLOAD))
    image = raster(heap_map, 8)
    blue, grey, white = (np.array([int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)])
                         for c in (COLOURS[PAYLOAD], COLOURS[NOT_PAYLOAD], "#ffffff"))
    assert np.allclose(image[0, 2:4], blue) and np.allclose(image[0, [0, 1, 4, 5]], grey)
    assert np.allclose(image[0, 6:], white)


def test_payload_view_fills_the_gaps_with_not_payload():
    blocks = payload_view(0x100, 0x200, [(0x120, 0x10), (0x180, 0x20)])
    assert [(b.address, b.size, b.state) for b in blocks] == [
        (0x100, 0x20, "overhead"), (0x120, 0x10, "allocated"), (0x130, 0x50, "overhead"),
        (0x180, 0x20, "allocated"), (0x1a0, 0x60, "overhead")]
    assert HeapWalk("", 0x100, 0x200, blocks).totals()["allocated"] == 0x30

"""kernel/memory_map.py on a plain bytearray: the allocator's contract."""

from kernel import layout
from kernel.memory_map import MemoryMap

FREE, USED = layout.CHUNK_FREE, layout.CHUNK_USED


def fresh(chunks=16):
    m = MemoryMap(bytearray(layout.MEMORY_MAP_ENTRIES), chunks)
    m.format()
    return m


def test_format_marks_chunk_zero_used_and_the_rest_free():
    m = fresh(16)
    assert m.state(0) == USED
    assert m.free_count() == 15
    assert m.entries[16] == layout.CHUNK_ABSENT


def test_allocate_takes_the_highest_run():
    m = fresh(16)
    assert m.allocate(3) == 13 << 21
    assert bytes(m.entries[13:16]) == bytes([USED]) * 3


def test_count_zero_and_too_large_return_zero_and_change_nothing():
    m = fresh(16)
    before = bytes(m.entries)
    assert m.allocate(0) == 0
    assert m.allocate(16) == 0          # only 15 are free
    assert bytes(m.entries) == before


def test_exactly_all_free_chunks_reaches_chunk_one():
    m = fresh(16)
    assert m.allocate(15) == 1 << 21
    assert m.free_count() == 0


def test_fragmented_map_uses_the_lower_run_that_fits():
    m = fresh(16)
    entries = [USED] + [FREE] * 3 + [USED, FREE, USED, FREE, FREE] + [USED] * 7
    m.entries[:16] = bytes(entries)
    assert m.allocate(3) == 1 << 21
    assert m.allocate(2) == 7 << 21


def test_release_gives_back_and_refuses_what_is_not_allocated():
    m = fresh(16)
    addr = m.allocate(2)
    assert m.release(addr, 2) == 2
    assert m.release(addr, 2) == 0           # already free
    assert m.release(0, 1) == 0              # the kernel's chunk / failed allocate
    assert m.release(addr + 4096, 1) == 0    # not a chunk boundary
    assert m.release(15 << 21, 2) == 0       # runs past RAM
    assert m.free_count() == 15


def test_release_is_all_or_nothing():
    m = fresh(16)
    addr = m.allocate(1)                     # chunk 15
    before = bytes(m.entries)
    assert m.release(addr - (1 << 21), 2) == 0   # chunk 14 is free
    assert bytes(m.entries) == before


def test_runs_describe_the_map():
    m = fresh(8)
    m.allocate(2)
    assert [(r.state, r.first, r.count) for r in m.runs()] == [(USED, 0, 1), (FREE, 1, 5),
                                                               (USED, 6, 2)]

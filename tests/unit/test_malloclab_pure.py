"""Pure pieces of the malloc lab: handout detection, crash hints, the lab
image's round trip, per-op instruction counts, layout declarations."""

import pytest

from emu.errors import UsageError
from emu.malloclab.conventions import CMU, CSAPP, handout_of
from emu.malloclab.crash import cut_to_32_bits, hints, looks_like_fill, past_the_heap
from emu.malloclab.image import (HEADER, LAB_MAGIC, RESULTS, RESULTS_OFFSET, STATUS_FAILED,
                                 LabResults, Settings, layout, pack, unpack_results)
from emu.malloclab.lab import _per_op, pattern
from emu.malloclab.layout import read_layout
from emu.malloclab.traces import parse_trace

TRACE = parse_trace("0\n2\n3\n1\na 0 10\na 1 20\nf 0\n")
HEAP = (0x5555_5555_f000, 0x5555_5556_3000)


def test_bool_mm_init_means_the_cmu_handout():
    assert handout_of("bool mm_init(void)\n{") == CMU
    assert handout_of("int mm_init(void) { return 0; }") == CSAPP
    assert handout_of("/* bool mm_init(void) was the old one */ int mm_init(void);") == CSAPP


def test_the_fill_pattern_is_recognised_in_an_address():
    block = pattern(17, 40, 48)                       # 8 payload bytes read as an address
    assert looks_like_fill(int.from_bytes(block, "little"))
    assert looks_like_fill(int.from_bytes(block, "little") + 24)     # [reg + 24]
    assert not looks_like_fill(0x5555_5555_f018)


def test_a_heap_address_cut_to_32_bits_is_told_apart():
    start, end = HEAP
    assert cut_to_32_bits(0x5555_f018, start, end)
    assert cut_to_32_bits(0xFFFF_FFFF_5555_f018 & ((1 << 64) - 1), start, end)  # sign-extended
    assert not cut_to_32_bits(0x1234, start, end)
    assert not cut_to_32_bits(0x5555_f018, 0x50_0000, 0x60_0000)     # a heap below 4 GiB


def test_an_address_just_past_the_break_is_past_the_heap():
    assert past_the_heap(HEAP[1] + 8, HEAP[1]) and not past_the_heap(HEAP[1] - 8, HEAP[1])
    assert "past the heap's end (mem_sbrk)" in hints(HEAP[1] + 16, HEAP)[0]


def test_the_image_round_trips_the_settings_and_the_results():
    image = bytearray(pack(TRACE, Settings(align=8, check_heap=True, debug_op=2)))
    header = HEADER.unpack_from(image)
    assert header[0] == LAB_MAGIC and header[10:12] == (8, 1) and header[14] == 2
    RESULTS.pack_into(image, RESULTS_OFFSET, STATUS_FAILED, 1, 30, 64, 64, 0, 1, 1, 2, 20, 0)
    where = layout(TRACE)
    image[where["addrs"]:where["addrs"] + 8] = (0x5000).to_bytes(8, "little")
    results = unpack_results(lambda a, n: bytes(image[a:a + n]), 0, TRACE)
    assert isinstance(results, LabResults) and results.failed_op == 1
    assert results.addrs == [0x5000] and results.call_text() == "mm_malloc(20)"


def test_settings_refuse_an_alignment_the_handouts_do_not_use():
    with pytest.raises(UsageError, match="--align must be 8 or 16"):
        Settings(align=4)


def test_each_op_costs_its_span_less_the_marks_own():
    assert _per_op([7, 107, 57, 7]) == [100, 50, 0]
    assert _per_op([]) == []


def test_a_layout_declaration_names_its_mistakes_by_line(tmp_path):
    path = tmp_path / "mm.layout.toml"
    path.write_text("first_header = 4\nheader_bytes = 3\nsize_mask = 0xfff8\nallocated_bit = 1\n")
    with pytest.raises(UsageError, match=r"mm.layout.toml:2: header_bytes must be 4 or 8"):
        read_layout(path)
    path.write_text("first_header = 4\nheader_size = 4\n")
    with pytest.raises(UsageError, match=r"mm.layout.toml:2: unknown key 'header_size'"):
        read_layout(path)
    path.write_text("first_header = \n")
    with pytest.raises(UsageError, match=r"mm.layout.toml:1: "):
        read_layout(path)

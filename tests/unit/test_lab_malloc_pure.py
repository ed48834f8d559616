"""The malloc lab's pure parts: the performance index, the trace generator,
the layout declaration's new keys, which damages a layout allows."""

from __future__ import annotations

import pytest

from emu.errors import UsageError
from emu.labs.kinds.malloc import scoring
from emu.labs.kinds.malloc.tracegen import FAMILIES, generate, generate_text
from emu.labs.prng import Prng
from emu.malloclab.corrupt import KINDS, applicable_kinds
from emu.malloclab.layout import HeapLayout, read_layout
from emu.malloclab.traces import OP_ALLOC, OP_FREE
from tests.conftest import EXAMPLES

LIMITS = scoring.Thresholds(util_low=0.6, util_high=0.8, ipo_target=200, ipo_zero=600,
                            util_weight=0.6, util_floor=0.65)


def test_the_index_is_full_at_the_targets_and_zero_at_the_zero_points():
    assert scoring.index([0.8, 0.9], 200 * 10, 10, LIMITS).value == pytest.approx(1.0)
    assert scoring.index([0.5], 700 * 10, 10, LIMITS).value == 0.0


def test_the_index_weighs_utilization_and_instructions_linearly_between():
    index = scoring.index([0.7], 400 * 100, 100, LIMITS)        # u = 0.5, t = 0.5
    assert (index.util_part, index.ipo_part) == (pytest.approx(0.5), pytest.approx(0.5))
    assert index.value == pytest.approx(0.5)
    assert scoring.points(index.value, 15) == 7


def test_instructions_per_op_weigh_each_op_once_across_traces():
    assert scoring.index([1.0, 1.0], 1000 + 300, 10 + 1, LIMITS).ipo == pytest.approx(1300 / 11)


def test_bad_scoring_tables_are_one_line_errors():
    with pytest.raises(UsageError, match="util_high"):
        scoring.thresholds({"scoring": {"util_low": 0.6}})
    with pytest.raises(UsageError, match="ipo_target < ipo_zero"):
        scoring.thresholds({"scoring": {"util_low": 0.6, "util_high": 0.8, "ipo_target": 700,
                                        "ipo_zero": 600, "util_weight": 0.6, "util_floor": 0.6}})


@pytest.mark.parametrize("family", FAMILIES)
def test_a_generated_trace_is_balanced_valid_and_repeats_for_its_seed(family):
    ops = 120 if family == "large" else 400
    one = generate_text(family, Prng.from_bytes(b"seed"), ops)
    assert one == generate_text(family, Prng.from_bytes(b"seed"), ops)
    assert one != generate_text(family, Prng.from_bytes(b"other"), ops)
    trace = generate(family, Prng.from_bytes(b"seed"), ops, family)    # parse_trace checks it
    allocated = {op.id for op in trace.ops if op.kind == OP_ALLOC}
    freed = {op.id for op in trace.ops if op.kind == OP_FREE}
    assert allocated == freed and abs(trace.num_ops - ops) <= ops // 2


def test_a_generated_trace_is_pinned_byte_for_byte():
    """A seed's trace never changes unnoticed: the hidden traces of a course
    must be the same at grading as when the handouts went out."""
    text = generate_text("random", Prng.from_bytes(b"pinned"), 40)
    assert text.splitlines()[:8] == PINNED_RANDOM


PINNED_RANDOM = ['0', '20', '40', '1', 'a 0 1790', 'a 1 1131', 'a 2 2794', 'f 2']


def test_the_public_traces_are_what_the_generator_writes():
    import importlib.util
    path = EXAMPLES / "labs" / "malloc" / "instructor" / "make_public_traces.py"
    spec = importlib.util.spec_from_file_location("make_public_traces", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.public_texts().items():
        assert (EXAMPLES / "labs" / "malloc" / "tests" / name).read_text() == text, name


def test_the_large_family_reaches_a_large_heap():
    trace = generate("large", Prng.from_bytes(b"large"), 120, "large")
    live, peak, sizes = 0, 0, {}
    for op in trace.ops:
        live -= sizes.pop(op.id, 0)
        if op.kind != OP_FREE:
            sizes[op.id] = op.size
            live += op.size
        peak = max(peak, live)
    assert peak > 10 << 20


def test_the_layout_declares_footers_and_links(tmp_path):
    path = tmp_path / "mm.layout.toml"
    path.write_text("first_header = 8\nheader_bytes = 8\nsize_mask = 0xfffffff0\n"
                    "allocated_bit = 1\nfooters = \"free\"\nnext_offset = 0\nprev_offset = 8\n")
    layout = read_layout(path)
    assert (layout.footers, layout.next_offset, layout.prev_offset) == ("free", 0, 8)
    assert layout.footer_of(0x1000, 0x40) == 0x1038


@pytest.mark.parametrize("line,complaint", [
    ("footers = \"some\"", "mm.layout.toml:5: footers must be one of none, free, all"),
    ("prev_offset = 8", "prev_offset needs next_offset"),
    ("next_offset = -8", "next_offset must be a non-negative integer"),
])
def test_a_wrong_layout_is_one_line_naming_the_key(tmp_path, line, complaint):
    path = tmp_path / "mm.layout.toml"
    path.write_text("first_header = 8\nheader_bytes = 8\nsize_mask = 0xfffffff0\n"
                    f"allocated_bit = 1\n{line}\n")
    with pytest.raises(UsageError, match=complaint):
        read_layout(path)


def test_damages_need_what_they_damage():
    implicit = HeapLayout(8, 8, 0xFFFFFFF0, 1, footers="all")
    bare = HeapLayout(8, 8, 0xFFFFFFF0, 1)
    listed = HeapLayout(8, 8, 0xFFFFFFF0, 1, footers="free", next_offset=0, prev_offset=8)
    assert applicable_kinds(listed) == list(KINDS)
    assert applicable_kinds(implicit) == ["allocated-bit", "size", "footer", "adjacent-free"]
    assert applicable_kinds(bare) == ["adjacent-free"]


def test_each_plan_slot_is_its_category_or_a_damage_the_layout_allows():
    from emu.labs.kinds.malloc.checks import CATEGORIES, kind_for
    listed = HeapLayout(8, 8, 0xFFFFFFF0, 1, footers="free", next_offset=0, prev_offset=8)
    implicit = HeapLayout(8, 8, 0xFFFFFFF0, 1, footers="all")
    seed = "00" * 16
    assert [kind_for(slot, seed, listed) in CATEGORIES[slot] for slot in range(5)] == [True] * 5
    assert kind_for(2, seed, implicit) in applicable_kinds(implicit)       # no list to unlink
    assert kind_for(2, seed, implicit) == kind_for(2, seed, implicit)      # the seed decides

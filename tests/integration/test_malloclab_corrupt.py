"""The heap-checker test's machinery: each damage lands where the declared
layout says, the reference checker catches every one, a checker that refuses
clean heaps is a false alarm, and a layout that does not fit the heap says so."""

from __future__ import annotations

import shutil

import pytest

from emu.labs.kinds.malloc.tracegen import generate
from emu.labs.prng import Prng
from emu.malloclab.build import build_lab
from emu.malloclab.corrupt import KINDS, run_corruption
from emu.malloclab.lab import Lab
from tests.conftest import EXAMPLES

SOLUTION = EXAMPLES / "labs" / "malloc" / "instructor" / "solution"
TRACE = generate("random", Prng.from_bytes(b"corrupt-tests"), 160, "small-random")


def allocator(tmp_path, edit=None, layout_edit=None) -> Lab:
    folder = tmp_path / "sub"
    shutil.copytree(SOLUTION, folder)
    if edit:
        source = folder / "mm.c"
        source.write_text(edit(source.read_text()))
    if layout_edit:
        layout = folder / "mm.layout.toml"
        layout.write_text(layout_edit(layout.read_text()))
    return Lab(build_lab(str(folder / "mm.c")), spec="mm.c")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return allocator(tmp_path_factory.mktemp("reference"))


@pytest.mark.parametrize("kind", KINDS)
def test_the_reference_checker_catches_each_damage(reference, kind):
    result = run_corruption(reference, TRACE, kind, 60, Prng.from_bytes(kind.encode()))
    assert result.verdict == "caught", result.message
    assert result.op is not None and result.op >= 60
    assert result.damage and result.message.startswith("caught")


def test_a_checker_that_refuses_a_clean_heap_is_a_false_alarm(tmp_path):
    lab = allocator(tmp_path, lambda text: text.replace(
        "    return check_blocks(&free_blocks) && check_lists(free_blocks);",
        "    (void)check_blocks, (void)check_lists, (void)free_blocks;\n    return false;"))
    result = run_corruption(lab, TRACE, "size", 60, Prng.from_bytes(b"x"))
    assert result.verdict == "false-alarm"
    assert "returned false on a clean heap after op 60" in result.message


def test_a_layout_that_does_not_fit_the_heap_is_named(tmp_path):
    lab = allocator(tmp_path, layout_edit=lambda text: text.replace("first_header = 8",
                                                                    "first_header = 12"))
    result = run_corruption(lab, TRACE, "size", 60, Prng.from_bytes(b"x"))
    assert result.verdict == "layout-mismatch"
    assert "does not match your mm.layout.toml" in result.message


def test_a_checker_that_follows_a_wild_pointer_crashes_and_is_told_why(tmp_path):
    lab = allocator(tmp_path, lambda text: text.replace(
        "            if (!in_heap(bp) || (uintptr_t)bp % ALIGNMENT)\n"
        "                return complain(\"a free-list pointer points outside the heap\", bp);\n",
        "            (void)in_heap;\n"))
    result = run_corruption(lab, TRACE, "outside-pointer", 60, Prng.from_bytes(b"wild"))
    assert result.verdict == "crashed", result.message
    assert "mm_checkheap crashed after the grader pointed the next pointer" in result.message
    assert "Check a pointer lies in the heap before following it" in result.message


def test_footers_must_be_declared_as_they_are(tmp_path):
    lab = allocator(tmp_path, layout_edit=lambda text: text.replace('footers = "all"',
                                                                    'footers = "none"'))
    result = run_corruption(lab, TRACE, "adjacent-free", 60, Prng.from_bytes(b"x"))
    assert result.verdict == "layout-mismatch"
    assert "declare your footers" in result.message

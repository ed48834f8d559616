"""The cow lab (issue 14, part 3): copy-on-write in the student's page-fault handler.

Held to what every lab must do (issue 13): the reference scores 100, the
starter what its handout says, each wrong solution loses exactly the points
of the tests it should fail with a message that helps, two students get
different variants, one student twice gets identical handouts and grades,
and a failure reopens in emu debug at the handler. What the tests grade is
read from the machine (checkpoints through the page tables, frame counts,
exit statuses), never from printed lines: the last test shows the program
prints nothing at all.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from emu.labs.catalog import load_lab
from emu.labs.handout import handout_files, write_handout
from emu.labs.kinds.cow.run import run_scenario
from emu.labs.kinds.cow.scenarios import Scenario
from emu.labs.runner import grade
from emu.labs.variants import public_variant, student_variant
from emu.loader import load_program
from tests.integration.test_cli import emu
from tests.integration.test_lab_acceptance import KEY, reference_submission

LAB = load_lab("cow")
BUDGETS = {"run": 60_000_000, "handler": 200_000, "seconds": 60}


def test_the_reference_handler_scores_full_marks_for_a_student_and_a_public_seed(tmp_path):
    for variant in (student_variant("cow", "grace@example.edu", KEY), public_variant("cow", 42)):
        folder = reference_submission(LAB, variant, tmp_path / variant.id)
        report = grade(LAB, folder, variant, hidden=True)
        assert report.failures() == [], [(t.name, t.message) for t in report.failures()]
        assert report.points == LAB.config.max_points == 100
        assert report.notes == []


def test_the_unchanged_starter_scores_what_the_handout_says(tmp_path):
    variant = student_variant("cow", "linus@example.edu", KEY)
    write_handout(LAB, variant, tmp_path / "handout")
    report = grade(LAB, tmp_path / "handout", variant, hidden=True)
    assert report.points == LAB.config.starter_score == 0
    assert "The starter scores 0 of 100" in (tmp_path / "handout" / "README.md").read_text()
    # It refuses every present fault: the parent's first write after fork kills it.
    assert "write to read-only" in report.tests[0].message


WRONG = [wrong.name for wrong in LAB.wrong_solutions()]


def test_there_are_the_wrong_solutions_the_issue_names():
    # a leak, a shared frame written (the parent's data not protected), a frame
    # freed while still mapped; and two more
    assert {"leaks-old-frame", "writes-shared-frame", "frees-last-reference"} <= set(WRONG)
    assert len(WRONG) >= 3


@pytest.mark.parametrize("wrong", WRONG)
def test_each_wrong_handler_loses_exactly_the_points_of_its_tests(wrong, tmp_path):
    folder = LAB.root / "instructor" / "wrong" / wrong
    expect = tomllib.loads((folder / "expect.toml").read_text())
    report = grade(LAB, LAB.wrong_submission(folder, tmp_path / "sub"),
                   public_variant("cow", expect["seed"]), hidden=True)
    failed = report.failures()
    assert [t.name for t in failed] == expect["fails"]
    assert all(t.points == 0 for t in failed)
    assert report.points == 100 - sum(LAB.config.test(name).points for name in expect["fails"])
    assert expect["message"] in failed[0].message, failed[0].message


def test_two_students_get_different_runs():
    ada = handout_files(LAB, student_variant("cow", "ada@example.edu", KEY))
    bob = handout_files(LAB, student_variant("cow", "bob@example.edu", KEY))
    assert ada.keys() == bob.keys()
    assert ada["README.md"] != bob["README.md"]
    params = [LAB.kind.draw_params(LAB.config, student_variant("cow", s, KEY))
              for s in ("ada@example.edu", "bob@example.edu")]
    assert params[0] != params[1]


def test_the_same_student_twice_gets_identical_handouts_and_grades(tmp_path):
    for folder in ("one", "two"):
        write_handout(LAB, student_variant("cow", "Ada@Example.edu ", KEY), tmp_path / folder)
    one = {p.relative_to(tmp_path / "one"): p.read_bytes()
           for p in (tmp_path / "one").rglob("*") if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes()
           for p in (tmp_path / "two").rglob("*") if p.is_file()}
    assert one == two
    variant = student_variant("cow", "ada@example.edu", KEY)
    sub = LAB.wrong_submission(LAB.root / "instructor" / "wrong" / "leaks-old-frame",
                               tmp_path / "sub")
    reports = [json.dumps(grade(LAB, sub, variant, hidden=True).to_json()) for _ in range(2)]
    assert reports[0] == reports[1]


def test_a_public_variant_is_pinned():
    params = LAB.kind.draw_params(LAB.config, public_variant("cow", 7))
    assert params["simple-fork"] == [{"name": "simple", "seed": 94800, "n": 118}]


def test_the_checkpoints_read_sharing_and_copies_from_the_page_tables():
    """simple: at 100 the child shares every page with the parent, read-only;
    at 101 it has copied the pages it wrote (writable, its own); at 1 the
    parent's pages are its own again, read-only until it writes; at 2, all
    writable, none shared. The program printed nothing of this."""
    image = load_program(LAB.root / "tests" / "cowtests.c")
    seen = run_scenario(LAB.solution, image, Scenario("simple", 11, 24), BUDGETS)
    points = seen.checkpoints
    assert (points[100].shared, points[100].writable) == (24, 0)
    assert 0 < points[101].writable < 24
    assert points[101].shared == 24 - points[101].writable
    assert (points[1].shared, points[1].writable) == (0, 0)
    assert (points[2].shared, points[2].writable) == (0, 24)
    assert points[100].digest == points[1].digest != points[101].digest
    assert seen.statuses == {1000: 0, 1001: 0} and seen.leaked == 0


def test_a_missing_or_broken_handler_is_not_gradable_with_one_clear_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    report = grade(LAB, empty, public_variant("cow", 1), hidden=False)
    assert not report.gradable
    assert report.format_errors == ["os_page_fault.asm is missing: your handler goes there "
                                    "(or, in C, in os_page_fault.c)"]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "os_page_fault.asm").write_text("os_page_fault:\n  jmp nowhere\n")
    report = grade(LAB, broken, public_variant("cow", 1), hidden=False)
    assert not report.gradable
    assert any("nowhere" in line for line in report.format_errors), report.format_errors


def test_a_handler_in_c_is_graded_the_same():
    report = grade(LAB, LAB.root / "instructor" / "solution-c", public_variant("cow", 3),
                   hidden=True)
    assert report.points == 100, [(t.name, t.message) for t in report.failures()]


def test_a_failure_reopens_in_emu_debug_stopped_at_the_handler(tmp_path):
    folder = tmp_path / "handout"
    emu("lab", "init", "cow", "--seed", "5", "--dir", folder)
    check = emu("lab", "check", folder, ok=False)
    assert "emu lab repro simple-fork" in check.stdout
    repro = emu("lab", "repro", "simple-fork", "--dir", folder, "--batch",
                "-x", Path(folder) / "tests" / "cow-fault.gdb")
    out = repro.stdout
    assert "in os_page_fault.present" in out
    assert "rsi           0x7" in out               # a write to a present page: copy-on-write

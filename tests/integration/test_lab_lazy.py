"""The lazy lab (issue 14, part 2): the student's page-fault handler.

Held to what every lab must do (issue 13): the reference scores 100, the
starter what its handout says, each wrong solution loses exactly the points
of the tests it should fail with a message that helps, two students get
different variants, one student twice gets identical handouts and grades,
and a failure reopens in emu debug at the handler. The checks themselves are
on machine state: exit status, fault records, page and fault counts, frames.
"""

from __future__ import annotations

import json
import tomllib

import pytest

from emu.labs.catalog import load_lab
from emu.labs.handout import handout_files, write_handout
from emu.labs.runner import grade
from emu.labs.variants import public_variant, student_variant
from tests.integration.test_cli import emu
from tests.integration.test_lab_acceptance import KEY, reference_submission

LAB = load_lab("lazy")


def test_the_reference_handler_scores_full_marks_for_a_student_and_a_public_seed(tmp_path):
    for variant in (student_variant("lazy", "grace@example.edu", KEY), public_variant("lazy", 42)):
        folder = reference_submission(LAB, variant, tmp_path / variant.id)
        report = grade(LAB, folder, variant, hidden=True)
        assert report.failures() == [], [(t.name, t.message) for t in report.failures()]
        assert report.points == LAB.config.max_points == 100
        assert report.notes == []


def test_the_unchanged_starter_scores_what_the_handout_says(tmp_path):
    variant = student_variant("lazy", "linus@example.edu", KEY)
    write_handout(LAB, variant, tmp_path / "handout")
    report = grade(LAB, tmp_path / "handout", variant, hidden=True)
    assert report.points == LAB.config.starter_score == 0
    readme = (tmp_path / "handout" / "README.md").read_text()
    assert "The starter scores 0 of 100" in readme
    # It refuses everything, so the first fault of every run kills it, and says so.
    heap = next(t for t in report.tests if t.name == "heap-sbrk")
    assert "refused (returned nonzero) a fault it should have mapped" in heap.message


WRONG = [wrong.name for wrong in LAB.wrong_solutions()]


def test_there_are_at_least_the_three_wrong_solutions_the_issue_names():
    assert {"ignores-permissions", "no-stack-growth", "no-zero"} <= set(WRONG)


@pytest.mark.parametrize("wrong", WRONG)
def test_each_wrong_handler_loses_exactly_the_points_of_its_tests(wrong, tmp_path):
    folder = LAB.root / "instructor" / "wrong" / wrong
    expect = tomllib.loads((folder / "expect.toml").read_text())
    report = grade(LAB, LAB.wrong_submission(folder, tmp_path / "sub"),
                   public_variant("lazy", expect["seed"]), hidden=True)
    failed = report.failures()
    assert [t.name for t in failed] == expect["fails"]
    assert all(t.points == 0 for t in failed)
    assert report.points == 100 - sum(LAB.config.test(name).points for name in expect["fails"])
    assert expect["message"] in failed[0].message, failed[0].message


def test_two_students_get_different_stack_limits_and_runs():
    ada = handout_files(LAB, student_variant("lazy", "ada@example.edu", KEY))
    bob = handout_files(LAB, student_variant("lazy", "bob@example.edu", KEY))
    assert ada.keys() == bob.keys()
    assert ada["variant.inc"] != bob["variant.inc"]
    assert ada["README.md"] != bob["README.md"]


def test_the_same_student_twice_gets_identical_handouts_and_grades(tmp_path):
    for folder in ("one", "two"):
        write_handout(LAB, student_variant("lazy", "Ada@Example.edu ", KEY), tmp_path / folder)
    one = {p.relative_to(tmp_path / "one"): p.read_bytes()
           for p in (tmp_path / "one").rglob("*") if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes()
           for p in (tmp_path / "two").rglob("*") if p.is_file()}
    assert one == two
    # A wrong handler: its messages (with fault addresses) must repeat too.
    variant = student_variant("lazy", "ada@example.edu", KEY)
    sub = LAB.wrong_submission(LAB.root / "instructor" / "wrong" / "ignores-permissions",
                               tmp_path / "sub")
    reports = [json.dumps(grade(LAB, sub, variant, hidden=True).to_json()) for _ in range(2)]
    assert reports[0] == reports[1]


def test_a_missing_or_broken_handler_is_not_gradable_with_one_clear_line(tmp_path):
    variant = public_variant("lazy", 1)
    empty = tmp_path / "empty"
    empty.mkdir()
    report = grade(LAB, empty, variant, hidden=False)
    assert not report.gradable
    assert report.format_errors == ["os_page_fault.asm is missing: your handler goes there "
                                    "(or, in C, in os_page_fault.c)"]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "os_page_fault.asm").write_text("os_page_fault:\n  mvo eax, 1\n  ret\n")
    report = grade(LAB, broken, variant, hidden=False)
    assert not report.gradable
    assert any("os_page_fault.asm" in line and "mvo" in line for line in report.format_errors), \
        report.format_errors
    assert all("Traceback" not in line for line in report.format_errors)


def test_a_handler_in_c_is_graded_the_same_and_its_compile_errors_are_format_errors(tmp_path):
    variant = public_variant("lazy", 3)
    report = grade(LAB, LAB.root / "instructor" / "solution-c", variant, hidden=True)
    assert report.points == 100, [(t.name, t.message) for t in report.failures()]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "os_page_fault.c").write_text(
        '#include "emu_kernel.h"\nlong os_page_fault(uint64_t a) { return a +; }\n')
    report = grade(LAB, broken, variant, hidden=False)
    assert not report.gradable
    assert report.format_errors[0] == "os_page_fault.c:2:44: error: expected expression"


def test_a_failure_reopens_in_emu_debug_stopped_at_the_handler(tmp_path):
    folder = tmp_path / "handout"
    emu("lab", "init", "lazy", "--seed", "5", "--dir", folder)
    check = emu("lab", "check", folder, ok=False)
    assert "emu lab repro heap-sbrk" in check.stdout
    repro = emu("lab", "repro", "heap-sbrk", "--dir", folder, "--batch",
                "-ex", "info registers rdi rsi", "-ex", "pt $rdi")
    out = repro.stdout
    assert "Breakpoint 1" in out and "in os_page_fault" in out
    assert "rsi           0x6" in out                   # a user write to a page not present
    assert "=> not mapped: not present at PT" in out     # the starter maps nothing


def test_a_public_variant_is_pinned():
    """Seed 7's stack limit and first run never change unnoticed (PRNG, draws)."""
    from emu.labs.kinds.lazy.scenarios import Scenario, scenarios_for
    variant = public_variant("lazy", 7)
    params = LAB.kind.draw_params(LAB.config, variant)
    assert params == {"stack_limit_pages": 25}
    assert scenarios_for("heap-sbrk", variant.stream("heap-sbrk"), 25) == \
        [Scenario("heap", 434616, 20)]

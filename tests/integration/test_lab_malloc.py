"""The malloc lab's acceptance: the reference scores full marks, the starter
what its handout says, each wrong solution loses exactly the points of the
tests it should (with a message that helps), variants differ between students
and repeat for one, a build error costs no attempt, a failure reopens in the
debugger, and grading one submission stays far inside PrairieLearn's 600 s.

Each submission is graded once per module (the gradings are the slow part:
about 10 s each) and the tests read the reports."""

from __future__ import annotations

import base64
import json
import shutil
import time
import tomllib
from pathlib import Path

import pytest

from emu.labs import platforms
from emu.labs.catalog import load_lab
from emu.labs.handout import handout_files, write_handout
from emu.labs.kinds.malloc import MallocKind, _hidden
from emu.labs.runner import grade
from emu.labs.variants import public_variant, student_variant

KEY = b"acceptance-test-course-key-0123456789"
LAB = load_lab("malloc")
WRONG = [wrong.name for wrong in LAB.wrong_solutions()]
GRADING_LIMIT_SECONDS = 120          # PrairieLearn allows 600


class Gradings:
    """Each submission graded once; the repro records of its failures kept."""

    def __init__(self, root: Path):
        self.root = root
        self.reports, self.records, self.seconds = {}, {}, {}

    def grade(self, name: str, folder: Path, variant):
        if name not in self.reports:
            records = []

            def keep(spec, record):
                records.append(record)
                return spec.name
            start = time.monotonic()
            self.reports[name] = grade(LAB, folder, variant, hidden=True, label_failure=keep)
            self.seconds[name] = time.monotonic() - start
            self.records[name] = records
        return self.reports[name]


@pytest.fixture(scope="module")
def gradings(tmp_path_factory):
    return Gradings(tmp_path_factory.mktemp("malloc"))


def submission(root: Path, *sources: Path) -> Path:
    """A folder with the files of `sources`, later ones on top."""
    root.mkdir(parents=True, exist_ok=True)
    for source in sources:
        for path in source.iterdir():
            if path.name != "expect.toml":
                shutil.copy(path, root / path.name)
    return root


def reference(gradings, variant):
    folder = submission(gradings.root / f"reference-{variant.id}", LAB.solution)
    return gradings.grade(f"reference-{variant.id}", folder, variant), folder


def test_the_reference_solution_scores_full_marks_for_a_student_and_a_public_seed(gradings):
    for variant in (student_variant("malloc", "grace@example.edu", KEY),
                    public_variant("malloc", 42)):
        report, _ = reference(gradings, variant)
        assert report.failures() == [], [(t.name, t.message) for t in report.failures()]
        assert report.points == LAB.config.max_points == 100


def test_grading_one_submission_stays_well_inside_prairielearns_limit(gradings):
    variant = student_variant("malloc", "grace@example.edu", KEY)
    reference(gradings, variant)
    assert gradings.seconds[f"reference-{variant.id}"] < GRADING_LIMIT_SECONDS


def test_the_unchanged_starter_scores_what_the_handout_says(gradings):
    variant = student_variant("malloc", "linus@example.edu", KEY)
    folder = gradings.root / "starter"
    write_handout(LAB, variant, folder)
    report = gradings.grade("starter", folder, variant)
    assert report.points == LAB.config.starter_score == 40
    readme = (folder / "README.md").read_text()
    assert f"The starter scores {LAB.config.starter_score} of 100" in readme
    assert "{{" not in readme


def test_there_are_at_least_three_wrong_solutions():
    assert len(WRONG) >= 3
    assert {"no-coalescing", "align-8", "checker-always-true", "realloc-no-copy"} <= set(WRONG)


@pytest.mark.parametrize("wrong", WRONG)
def test_each_wrong_solution_loses_exactly_the_points_of_its_tests(gradings, wrong):
    folder = LAB.root / "instructor" / "wrong" / wrong
    expect = tomllib.loads((folder / "expect.toml").read_text())
    sub = LAB.wrong_submission(folder, gradings.root / f"wrong-{wrong}")
    report = gradings.grade(wrong, sub, public_variant("malloc", expect["seed"]))
    failed = report.failures()
    assert [t.name for t in failed] == expect["fails"], [(t.name, t.message) for t in failed]
    lost = expect.get("points_lost", sum(LAB.config.test(t).points for t in expect["fails"]))
    assert report.points == LAB.config.max_points - lost
    assert expect["message"] in failed[0].message, failed[0].message


def test_the_checker_that_always_says_yes_is_told_which_damage_it_missed(gradings):
    report = gradings.reports.get("checker-always-true")
    if report is None:
        pytest.skip("needs the wrong-solution grading above")
    damage = next(t for t in report.tests if t.name == "checker-catches-damage")
    assert damage.points == 0
    for kind in ("allocated-bit", "unlink", "adjacent-free", "outside-pointer"):
        assert kind in damage.output
    assert "said the heap was fine after the grader" in damage.message


def test_two_students_get_different_variants_and_hidden_traces():
    ada = student_variant("malloc", "ada@example.edu", KEY)
    bob = student_variant("malloc", "bob@example.edu", KEY)
    files = [handout_files(LAB, v) for v in (ada, bob)]
    assert files[0]["tests/yours.rep"] != files[1]["tests/yours.rep"]
    kind = MallocKind()
    assert kind.draw_params(LAB.config, ada) != kind.draw_params(LAB.config, bob)
    hidden = [[t.ops for t in _hidden(LAB.config, v)[0]] for v in (ada, bob)]
    assert hidden[0] != hidden[1]


def test_the_same_student_twice_gets_identical_handouts_and_grades(gradings, tmp_path):
    variant = student_variant("malloc", "Grace@Example.edu ", KEY)
    for folder in ("one", "two"):
        write_handout(LAB, variant, tmp_path / folder)
    one = {p.relative_to(tmp_path / "one"): p.read_bytes()
           for p in (tmp_path / "one").rglob("*") if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes()
           for p in (tmp_path / "two").rglob("*") if p.is_file()}
    assert one == two
    first, folder = reference(gradings, student_variant("malloc", "grace@example.edu", KEY))
    again = grade(LAB, folder, variant, hidden=True)
    assert json.dumps(again.to_json()) == json.dumps(first.to_json())
    assert again.leaderboard == first.leaderboard


def test_prairielearn_gets_heap_pictures_and_the_leaderboard_reaches_gradescope(gradings):
    report, _ = reference(gradings, public_variant("malloc", 42))
    results = json.loads(platforms.render(report, "prairielearn", {}, True))
    pictures = [test for test in results["tests"] if test.get("images")]
    assert len(pictures) == 1 and len(pictures[0]["images"]) == 6      # one per public trace
    image = pictures[0]["images"][0]
    assert image["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(image["url"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    board = json.loads(platforms.render(report, "gradescope", {}, True))["leaderboard"]
    assert [entry["name"] for entry in board] == ["utilization (%)", "instructions per op"]
    assert [entry["order"] for entry in board] == ["desc", "asc"]
    assert 75 < board[0]["value"] <= 100 and 50 < board[1]["value"] < 200


def test_a_syntax_error_is_not_gradable_and_costs_no_attempt(tmp_path):
    folder = submission(tmp_path / "broken", LAB.solution)
    source = folder / "mm.c"
    source.write_text(source.read_text().replace("int mm_init(void)\n{", "int mm_init(void)\n{ oops", 1))
    report = grade(LAB, folder, public_variant("malloc", 1), hidden=True)
    assert not report.gradable
    assert any(line.startswith("mm.c:") and "error" in line for line in report.format_errors)
    assert str(tmp_path) not in "\n".join(report.format_errors)     # no machine's paths
    results = json.loads(platforms.render(report, "prairielearn", {}, True))
    assert results["gradable"] is False and results["format_errors"]
    assert "score" not in results


def test_a_missing_mm_c_is_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    report = grade(LAB, tmp_path / "empty", public_variant("malloc", 1), hidden=False)
    assert report.format_errors == ["missing file: mm.c (or mm.asm) in empty"]


def test_a_failed_trace_reopens_in_the_debugger_at_its_op(gradings):
    if "realloc-no-copy" not in gradings.records:
        pytest.skip("needs the wrong-solution grading above")
    record = next(r for r in gradings.records["realloc-no-copy"]
                  if r["test"] == "public-correctness")
    assert record["case"]["trace"] == "realloc" and record["case"]["op"] == 4
    folder = gradings.root / "wrong-realloc-no-copy"
    session = LAB.kind.repro(LAB, record, folder)
    text = "\n".join(session.banner)
    assert "realloc, op 4 (r 0 132)" in text and "entering mm_realloc" in text
    dbg = session.kernel_call
    assert dbg.describe(dbg.machine.reg("rip")).startswith("mm_realloc")
    dbg.runner.finish()


def test_a_wrong_layout_declaration_is_one_line_naming_the_file_and_key(tmp_path):
    folder = submission(tmp_path / "layout", LAB.solution)
    (folder / "mm.layout.toml").write_text("first_header = 8\nheader_bytes = 6\n"
                                           "size_mask = 0xfffffff0\nallocated_bit = 1\n")
    report = grade(LAB, folder, public_variant("malloc", 1), hidden=False)
    assert not report.gradable
    assert report.format_errors == ["mm.layout.toml:2: header_bytes must be 4 or 8, found 6"]


def test_prairielearns_grader_marks_a_syntax_error_not_gradable_in_a_fake_grade_tree(tmp_path):
    """The platform's own entrypoint (examples/labs/platforms/prairielearn/run.sh)."""
    import os
    import subprocess
    import sys
    from tests.conftest import EXAMPLES
    root = tmp_path / "grade"
    server = root / "serverFilesCourse" / "emu"
    server.mkdir(parents=True)
    shutil.copy(EXAMPLES / "labs" / "platforms" / "prairielearn" / "run.sh", server)
    (server / "course.key").write_text(KEY.decode())
    write_handout(LAB, student_variant("malloc", "ada@example.edu", KEY), root / "student")
    source = root / "student" / "mm.c"
    source.write_text(source.read_text().replace("int mm_init(void)\n{", "int mm_init(void)\n{ x", 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMU_LAB_KEY")}
    env |= {"GRADE_ROOT": str(root),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([str(server / "run.sh"), "malloc"], env=env, capture_output=True, text=True,
                   timeout=300, check=True)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["gradable"] is False and "score" not in results
    assert any(e.startswith("mm.c:") and "error" in e for e in results["format_errors"])


def test_a_public_variant_is_pinned():
    """A seed's trace and damage plan never change unnoticed (the PRNG, the draws)."""
    params = MallocKind().draw_params(LAB.config, public_variant("malloc", 7))
    assert params["yours"] == {"family": "random", "ops": 600,
                               "seed": "f89f704349eb9b42f94dcc3dc5238ee0"}
    assert [(d["slot"], d["trace"], d["at"]) for d in params["damage"]] == [
        (0, "random", 256), (1, "yours", 515), (2, "yours", 352), (3, "yours", 513),
        (4, "program", 589)]

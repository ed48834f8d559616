"""The malloc lab's own checks; its acceptance (reference 100, starter 40, the
wrong solutions, variants) is in test_lab_acceptance.py with the other labs'.

Here: grading one submission stays far inside PrairieLearn's 600 s, the
reports carry heap pictures and a leaderboard, a build error costs no attempt
(also through PrairieLearn's own entrypoint), a failed trace reopens in the
debugger at its op, a checker that always says yes is told what it missed,
the hidden traces differ between students, and a public variant is pinned."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from emu.debug.commands.heap import HEAP
from emu.labs import platforms
from emu.labs.catalog import load_lab
from emu.labs.handout import write_handout
from emu.labs.kinds.malloc import MallocKind, _hidden
from emu.labs.runner import grade
from emu.labs.variants import public_variant, student_variant
from tests.conftest import EXAMPLES

KEY = b"acceptance-test-course-key-0123456789"
LAB = load_lab("malloc")
GRADING_LIMIT_SECONDS = 120          # PrairieLearn allows 600


def submission(root: Path, source: Path) -> Path:
    """A copy of the files of `source`."""
    shutil.copytree(source, root)
    return root


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The reference graded once for a student, all tests, with its wall time."""
    variant = student_variant("malloc", "grace@example.edu", KEY)
    folder = submission(tmp_path_factory.mktemp("malloc") / "reference", LAB.solution)
    start = time.monotonic()
    report = grade(LAB, folder, variant, hidden=True)
    return report, time.monotonic() - start


def graded_wrong(name: str, folder: Path):
    """A wrong solution graded on its public tests, its failure records kept."""
    expect_seed = 3
    records = []

    def keep(spec, record):
        records.append(record)
        return spec.name
    sub = LAB.wrong_submission(LAB.root / "instructor" / "wrong" / name, folder)
    report = grade(LAB, sub, public_variant("malloc", expect_seed), hidden=False,
                   label_failure=keep)
    return report, records, sub


def test_grading_one_submission_stays_well_inside_prairielearns_limit(reference):
    report, seconds = reference
    assert report.points == 100
    assert seconds < GRADING_LIMIT_SECONDS


def test_prairielearn_gets_heap_pictures_and_the_leaderboard_reaches_gradescope(reference):
    report, _ = reference
    results = json.loads(platforms.render(report, "prairielearn", {}, True))
    pictures = [test for test in results["tests"] if test.get("images")]
    assert len(pictures) == 1 and len(pictures[0]["images"]) == 6      # one per public trace
    image = pictures[0]["images"][0]
    assert image["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(image["url"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    board = json.loads(platforms.render(report, "gradescope", {}, True))["leaderboard"]
    assert [entry["name"] for entry in board] == ["utilization (%)", "instructions per op"]
    assert [entry["order"] for entry in board] == ["desc", "asc"]
    assert 75 < board[0]["value"] <= 100 and 50 < board[1]["value"] < 330
    autolab = json.loads(platforms.render(report, "autolab", {}, True).splitlines()[-1])
    assert autolab["scores"] == {"checkpoint": 30, "final": 70}
    assert autolab["scoreboard"][:3] == [100, 30, 70] and len(autolab["scoreboard"]) == 5


def test_the_checker_that_always_says_yes_is_told_which_damage_it_missed(tmp_path):
    report, _, _ = graded_wrong("checker-always-true", tmp_path / "sub")
    damage = next(t for t in report.tests if t.name == "checker-catches-damage")
    assert damage.points == 0 and report.points == 65 - 20
    for kind in ("allocated-bit", "unlink", "adjacent-free", "outside-pointer"):
        assert kind in damage.output
    assert "said the heap was fine after the grader" in damage.message


def test_a_failed_trace_reopens_in_the_debugger_at_its_op(tmp_path):
    report, records, folder = graded_wrong("realloc-no-copy", tmp_path / "sub")
    record = next(r for r in records if r["test"] == "public-correctness")
    assert record["case"]["trace"] == "realloc" and record["case"]["op"] == 4
    session = LAB.kind.repro(LAB, record, folder)
    text = "\n".join(session.banner)
    assert "realloc, op 4 (r 0 132)" in text and "entering mm_realloc" in text
    dbg = session.kernel_call
    assert dbg.describe(dbg.machine.reg("rip")).startswith("mm_realloc")
    lines = "\n".join(HEAP.run(SimpleNamespace(dbg=dbg), "3"))     # `heap 3` in the session
    assert "declared layout" in lines and "allocated" in lines      # walked with mm.layout.toml
    dbg.runner.finish()


def test_two_students_get_different_hidden_traces():
    traces = [[t.ops for t in _hidden(LAB.config, student_variant("malloc", who, KEY))[0]]
              for who in ("ada@example.edu", "bob@example.edu")]
    assert traces[0] != traces[1]


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


def test_prairielearns_grader_marks_a_syntax_error_not_gradable_in_a_fake_grade_tree(tmp_path):
    """The platform's own entrypoint (examples/labs/platforms/prairielearn/run.sh)."""
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


def test_a_missing_mm_c_is_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    report = grade(LAB, tmp_path / "empty", public_variant("malloc", 1), hidden=False)
    assert report.format_errors == ["missing file: mm.c (or mm.asm) in empty"]


def test_a_wrong_layout_declaration_is_one_line_naming_the_file_and_key(tmp_path):
    folder = submission(tmp_path / "layout", LAB.solution)
    (folder / "mm.layout.toml").write_text("first_header = 8\nheader_bytes = 6\n"
                                           "size_mask = 0xfffffff0\nallocated_bit = 1\n")
    report = grade(LAB, folder, public_variant("malloc", 1), hidden=False)
    assert not report.gradable
    assert report.format_errors == ["mm.layout.toml:2: header_bytes must be 4 or 8, found 6"]


def test_a_public_variant_is_pinned():
    """A seed's trace and damage plan never change unnoticed (the PRNG, the draws)."""
    params = MallocKind().draw_params(LAB.config, public_variant("malloc", 7))
    assert params["yours"] == {"family": "random", "ops": 600,
                               "seed": "f89f704349eb9b42f94dcc3dc5238ee0"}
    assert [(d["slot"], d["trace"], d["at"]) for d in params["damage"]] == [
        (0, "random", 256), (1, "yours", 515), (2, "yours", 352), (3, "yours", 513),
        (4, "program", 589)]

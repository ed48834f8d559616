"""Grades are counted in guest instructions, so they do not depend on the machine or
its load: the same submission graded twice, once with the CPU loaded, gives
byte-identical reports, an endless loop included. And the largest lab grades well
inside PrairieLearn's 600-second limit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

from emu.labs.catalog import load_lab
from emu.labs.runner import grade
from emu.labs.variants import student_variant
from tests.integration.test_lab_acceptance import reference_submission

KEY = b"determinism-test-course-key-0123456789"
BURN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"
PRAIRIELEARN_LIMIT = 600


def graded_json(lab, folder, variant) -> str:
    return json.dumps(grade(lab, folder, variant, hidden=True).to_json(), sort_keys=True)


def test_the_same_submission_grades_the_same_with_a_loaded_cpu(tmp_path):
    lab = load_lab("memmap")
    variant = student_variant("memmap", "ada@example.edu", KEY)
    folder = tmp_path / "sub"
    folder.mkdir()
    for routine in lab.solution.glob("*.asm"):
        shutil.copy(routine, folder)
    (folder / "os_mem_get_free.asm").write_text(
        "os_mem_get_free:\nos_mem_get_free_spin:\n        jmp os_mem_get_free_spin\n")
    quiet = graded_json(lab, folder, variant)
    burners = [subprocess.Popen([sys.executable, "-c", BURN.format(seconds=60)])
               for _ in range(2)]
    try:
        loaded = graded_json(lab, folder, variant)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert loaded == quiet
    report = json.loads(quiet)
    spinning = next(t for t in report["tests"] if t["name"] == "get-free-matches-model")
    assert "did not return within" in spinning["message"] and spinning["points"] == 0
    assert next(t for t in report["tests"] if t["name"] == "performance")["points"] == 6


def test_the_largest_lab_grades_well_inside_prairielearns_limit(tmp_path):
    lab = load_lab("pagewalk")
    variant = student_variant("pagewalk", "ada@example.edu", KEY)
    folder = reference_submission(lab, variant, tmp_path / "sub")
    started = time.perf_counter()
    report = grade(lab, folder, variant, hidden=True)
    seconds = time.perf_counter() - started
    assert report.points == 100
    assert seconds < PRAIRIELEARN_LIMIT / 10, f"{seconds:.1f} s"

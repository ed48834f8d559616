"""Each platform's grader, end to end in a fake copy of its directory layout,
and each writer's output against the fields its platform documents."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path


from emu.labs.catalog import load_lab
from emu.labs.handout import write_handout
from emu.labs.variants import student_variant
from tests.conftest import EXAMPLES, ROOT

KEY = "course-key-for-the-platform-tests-0123456789"
PLATFORMS = EXAMPLES / "labs" / "platforms"
BIN = Path(sys.executable).parent
STUDENT = "ada@example.edu"


def environment() -> dict:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    # Tango runs make at the top level; under `make test` the inherited MAKELEVEL
    # would make the inner make print "Leaving directory" after the autoresult.
    for name in ("EMU_LAB_KEY", "EMU_LAB_KEY_FILE", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"):
        env.pop(name, None)
    return env


def memmap_submission(folder: Path, broken: bool = False) -> Path:
    """A student's handout folder with the reference routines in it."""
    lab = load_lab("memmap")
    write_handout(lab, student_variant("memmap", STUDENT, KEY.encode()), folder)
    for routine in lab.solution.glob("*.asm"):
        shutil.copy(routine, folder / routine.name)
    if broken:
        (folder / "os_mem_get_free.asm").write_text("os_mem_get_free:\n    mvo rcx, 1\n")
    return folder


def check_gradescope_fields(results: dict, tests: int) -> None:
    """Gradescope's results.json spec: score, output, visibility fields, tests[]."""
    assert isinstance(results["score"], (int, float))
    assert results["stdout_visibility"] in ("hidden", "visible")
    assert len(results["tests"]) == tests
    for test in results["tests"]:
        assert set(test) >= {"name", "number", "score", "max_score", "status", "output",
                             "output_format", "visibility", "tags"}
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert 0 <= test["score"] <= test["max_score"]
    assert results["score"] == sum(t["score"] for t in results["tests"])


def test_run_autograder_grades_in_a_fake_autograder_tree(tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    for name in ("run_autograder", "setup.sh"):
        shutil.copy(PLATFORMS / "gradescope" / name, root / "source" / name)
    (root / "source" / "lab.conf").write_text("LAB=memmap\nID_FIELD=email\n")
    (root / "source" / "course.key").write_text(KEY)
    memmap_submission(root / "submission")
    (root / "submission" / "emu-lab.json").unlink()          # Gradescope says who it is
    (root / "submission_metadata.json").write_text(json.dumps({
        "id": 1, "users": [{"email": STUDENT, "id": 7, "name": "Ada"}],
        "assignment": {"title": "memmap", "total_points": "100.0"}}))
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=environment() | {
        "AUTOGRADER_ROOT": str(root)}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    check_gradescope_fields(results, tests=11)
    assert results["score"] == 100
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_due_date"}
    assert results["extra_data"]["who"] == f"student {STUDENT}"


def test_gradescope_results_are_rewritten_after_every_test(tmp_path, monkeypatch):
    """Partial results: a timeout after test k still leaves k tests on the page."""
    from emu.labs import commands, platforms
    memmap_submission(tmp_path / "sub")
    written = []
    real = platforms.write_whole
    monkeypatch.setattr(platforms, "write_whole",
                        lambda path, text: (written.append(len(json.loads(text)["tests"])),
                                            real(path, text)))
    monkeypatch.setenv("EMU_LAB_KEY", KEY)
    request = commands.GradeRequest(tmp_path / "sub", "memmap", None, None, "gradescope")
    commands.grade_one(request, tmp_path / "results.json")
    assert written == list(range(1, 12)) + [11]


def test_prairielearn_grader_in_a_fake_grade_tree(tmp_path):
    root = tmp_path / "grade"
    (root / "serverFilesCourse" / "emu").mkdir(parents=True)
    shutil.copy(PLATFORMS / "prairielearn" / "run.sh", root / "serverFilesCourse" / "emu")
    (root / "serverFilesCourse" / "emu" / "course.key").write_text(KEY)
    (root / "data").mkdir()
    (root / "data" / "data.json").write_text(json.dumps({"params": {}, "submitted_answers": {}}))
    memmap_submission(root / "student")
    run = [str(root / "serverFilesCourse" / "emu" / "run.sh"), "memmap"]
    env = environment() | {"GRADE_ROOT": str(root)}
    proc = subprocess.run(run, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["gradable"] is True and 0.0 <= results["score"] <= 1.0
    assert results["score"] == 1.0
    for test in results["tests"]:
        assert set(test) >= {"name", "description", "points", "max_points", "message", "output"}


def test_prairielearn_marks_code_that_does_not_assemble_not_gradable(tmp_path):
    root = tmp_path / "grade"
    (root / "serverFilesCourse" / "emu").mkdir(parents=True)
    shutil.copy(PLATFORMS / "prairielearn" / "run.sh", root / "serverFilesCourse" / "emu")
    (root / "serverFilesCourse" / "emu" / "course.key").write_text(KEY)
    memmap_submission(root / "student", broken=True)
    env = environment() | {"GRADE_ROOT": str(root)}
    subprocess.run([str(root / "serverFilesCourse" / "emu" / "run.sh"), "memmap"], env=env,
                   capture_output=True, text=True, timeout=600, check=True)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["gradable"] is False and "score" not in results
    assert any("os_mem_get_free.asm:2" in e and "mvo" in e for e in results["format_errors"])


def test_prairielearn_without_the_handout_marker_is_not_gradable_and_says_why(tmp_path):
    root = tmp_path / "grade"
    (root / "serverFilesCourse" / "emu").mkdir(parents=True)
    shutil.copy(PLATFORMS / "prairielearn" / "run.sh", root / "serverFilesCourse" / "emu")
    (root / "serverFilesCourse" / "emu" / "course.key").write_text(KEY)
    memmap_submission(root / "student")
    (root / "student" / "emu-lab.json").unlink()
    env = environment() | {"GRADE_ROOT": str(root)}
    subprocess.run([str(root / "serverFilesCourse" / "emu" / "run.sh"), "memmap"], env=env,
                   capture_output=True, text=True, timeout=600, check=True)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["gradable"] is False
    assert any("emu-lab.json" in e for e in results["format_errors"])


def test_autolab_makefile_prints_the_autoresult_last(tmp_path):
    work = tmp_path / "tango"
    work.mkdir()
    shutil.copy(PLATFORMS / "autolab" / "autograde-Makefile", work / "Makefile")
    (tmp_path / "key").write_text(KEY)
    subprocess.run([str(PLATFORMS / "autolab" / "make_autograde_tar.sh"), "memmap",
                    str(tmp_path / "key"), str(work / "autograde.tar")], check=True,
                   capture_output=True)
    folder = memmap_submission(tmp_path / "handin")
    with tarfile.open(work / "handin.tar", "w") as tar:
        for path in folder.iterdir():
            tar.add(path, arcname=path.name)
    proc = subprocess.run(["make"], cwd=work, env=environment(), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    lab = load_lab("memmap")
    assert list(last["scores"]) == ["model", "contract", "performance", "hidden"]
    assert sum(last["scores"].values()) == lab.config.max_points == last["scoreboard"][0]


def test_gradescope_zip_holds_what_the_platform_needs(tmp_path):
    (tmp_path / "key").write_text(KEY)
    out = tmp_path / "autograder.zip"
    subprocess.run([str(PLATFORMS / "gradescope" / "make_autograder.sh"), "bomb",
                    str(tmp_path / "key"), str(out)], check=True, capture_output=True,
                   cwd=tmp_path)
    names = subprocess.run(["unzip", "-Z1", str(out)], capture_output=True, text=True,
                           check=True).stdout.split()
    assert {"setup.sh", "run_autograder", "lab.conf", "course.key",
            "emu/pyproject.toml", "emu/examples/labs/bomb/lab.toml"} <= set(names)
    assert not any("/.venv/" in n for n in names)


def test_the_dockerfile_installs_the_pinned_engines_in_place():
    """The image installs emu editable (it finds asm/ and the labs beside it) with the
    versions of constraints.txt, which are the ones this project is tested with."""
    docker = (PLATFORMS / "Dockerfile").read_text()
    assert "pip install -c examples/labs/platforms/constraints.txt -e ." in docker
    pins = dict(line.split("==") for line in (PLATFORMS / "constraints.txt").read_text()
                .splitlines() if "==" in line)
    from importlib.metadata import version
    for name, pinned in pins.items():
        assert version(name) == pinned, name
    assert "FROM python:3.11" in docker and ROOT.joinpath("pyproject.toml").is_file()

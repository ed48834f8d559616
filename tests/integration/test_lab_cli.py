"""`emu lab` from the command line: handouts, check, repro into emu debug, grade,
solve, and one-line errors (exit 2) for a user's mistakes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emu.labs.catalog import load_lab
from tests.conftest import ROOT

KEY = "cli-test-course-key-0123456789abcdef"


def emu(*args, cwd=None, key: bool = False, timeout=600):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    if key:
        env["EMU_LAB_KEY"] = KEY
    return subprocess.run([sys.executable, "-m", "emu", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_list_names_every_lab_with_its_points():
    out = emu("lab", "list").stdout
    for name in ("pagewalk", "memmap", "bomb"):
        assert name in out
    assert "100 points" in out


def test_init_needs_a_student_or_a_seed_and_never_copies_instructor_files(tmp_path):
    proc = emu("lab", "init", "memmap", "--dir", tmp_path / "x")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    proc = emu("lab", "init", "memmap", "--student", "ada", "--dir", tmp_path / "x")
    assert proc.returncode == 2 and "course key" in proc.stderr
    assert emu("lab", "init", "memmap", "--seed", "4", "--dir", tmp_path / "h").returncode == 0
    files = {p.relative_to(tmp_path / "h").as_posix() for p in (tmp_path / "h").rglob("*")}
    assert "os_mem_allocate.asm" in files and "emu-lab.json" in files
    assert not any("instructor" in f or "expect.toml" in f for f in files)
    proc = emu("lab", "init", "memmap", "--seed", "4", "--dir", tmp_path / "h")
    assert proc.returncode == 2 and "not empty" in proc.stderr


def test_init_writes_one_handout_per_roster_line(tmp_path):
    (tmp_path / "roster.txt").write_text("# the class\nada@example.edu\nbob@example.edu\n")
    proc = emu("lab", "init", "bomb", "--roster", tmp_path / "roster.txt", "--dir",
               tmp_path / "out", key=True)
    assert proc.returncode == 0, proc.stderr
    bombs = [(tmp_path / "out" / s / "bomb.asm").read_text()
             for s in ("ada@example.edu", "bob@example.edu")]
    assert bombs[0] != bombs[1]


def test_check_runs_the_public_tests_and_saves_each_failure(tmp_path):
    emu("lab", "init", "memmap", "--seed", "4", "--dir", tmp_path / "h")
    proc = emu("lab", "check", cwd=tmp_path / "h")
    assert proc.returncode == 1
    assert "Score: 0/78" in proc.stdout and "emu lab repro allocate-matches-model" in proc.stdout
    assert (tmp_path / "h" / ".emu-lab" / "failures" / "allocate-matches-model.json").is_file()
    for routine in load_lab("memmap").solution.glob("*.asm"):
        shutil.copy(routine, tmp_path / "h")
    proc = emu("lab", "check", "--all", tmp_path / "h")
    assert proc.returncode == 0 and "Score: 100/100" in proc.stdout
    assert not list((tmp_path / "h" / ".emu-lab" / "failures").glob("*.json"))


def test_repro_opens_emu_debug_on_the_failing_kernel_call(tmp_path):
    emu("lab", "init", "memmap", "--seed", "3", "--dir", tmp_path / "h")
    lab = load_lab("memmap")
    wrong = lab.wrong_submission(lab.root / "instructor" / "wrong" / "skips-entry-1",
                                 tmp_path / "wrong")
    for routine in wrong.glob("*.asm"):
        shutil.copy(routine, tmp_path / "h")
    emu("lab", "check", cwd=tmp_path / "h")
    proc = emu("lab", "repro", "entries-0-and-1", "-x", "tests/walkthrough.gdb", "--batch",
               cwd=tmp_path / "h")
    assert proc.returncode == 0, proc.stderr
    assert "os_mem_allocate(rcx=1)" in proc.stdout
    assert "Undefined command" not in proc.stdout and "no symbol" not in proc.stdout
    assert "0x10000 <os_MemoryMap>:" in proc.stdout              # x/16bx os_MemoryMap
    assert "chunks     1..1" in proc.stdout                         # memmap: chunk 1 is free
    assert "exited normally" in proc.stdout                         # finish: the routine returned


def test_repro_of_a_user_program_walks_the_students_tables(tmp_path):
    emu("lab", "init", "pagewalk", "--seed", "3", "--dir", tmp_path / "h")
    lab = load_lab("pagewalk")
    wrong = lab.wrong_submission(lab.root / "instructor" / "wrong" / "tables-without-us",
                                 tmp_path / "wrong")
    shutil.copy(wrong / "map_page.asm", tmp_path / "h")
    emu("lab", "check", cwd=tmp_path / "h")
    proc = emu("lab", "repro", "map-user-program", "-x", "tests/program.gdb", "--batch",
               cwd=tmp_path / "h")
    assert proc.returncode == 0, proc.stderr
    assert "user access to supervisor page" in proc.stdout
    assert "PML4[" in proc.stdout and "Undefined command" not in proc.stdout


def test_repro_of_a_bomb_phase_opens_the_bomb_at_that_phase(tmp_path):
    emu("lab", "init", "bomb", "--seed", "3", "--dir", tmp_path / "h")
    (tmp_path / "h" / "answers.txt").write_text("phase_1: 0x1\n")
    emu("lab", "check", cwd=tmp_path / "h")
    proc = emu("lab", "repro", "phase-1", "-ex", "pt bomb_key", "--batch", cwd=tmp_path / "h")
    assert proc.returncode == 0, proc.stderr
    assert "Breakpoint 1, " in proc.stdout and "phase_1 () at bomb.asm" in proc.stdout
    assert "=> physical 0x" in proc.stdout


@pytest.mark.parametrize("lab,walkthrough", [("bomb", "tests/tour.gdb")])
def test_the_bomb_tour_runs_in_emu_debug(tmp_path, lab, walkthrough):
    emu("lab", "init", lab, "--seed", "3", "--dir", tmp_path / "h")
    proc = emu("debug", "bomb.asm", "-x", walkthrough, "--batch", "--no-context",
               cwd=tmp_path / "h")
    assert proc.returncode == 0, proc.stderr
    assert "Undefined command" not in proc.stdout and "Old value = 0\n" in proc.stdout
    assert "[heap]" in proc.stdout and "brk(NULL)" in proc.stdout


def test_solve_prints_the_answers_of_a_public_seed():
    out = emu("lab", "solve", "bomb", "--seed", "3").stdout
    solution = (load_lab("bomb").solution / "answers.txt").read_text()
    for line in out.splitlines()[1:]:
        assert line in solution
    assert "Q12:" in emu("lab", "solve", "pagewalk", "--seed", "3").stdout


def test_grade_many_submissions_with_jobs(tmp_path):
    lab = load_lab("memmap")
    subs = []
    for i, student in enumerate(("ada", "bob", "cy")):
        emu("lab", "init", "memmap", "--student", student, "--dir", tmp_path / student, key=True)
        if i != 1:
            for routine in lab.solution.glob("*.asm"):
                shutil.copy(routine, tmp_path / student)
        subs.append(tmp_path / student)
    proc = emu("lab", "grade", *subs, "--jobs", "2", "--format", "json", "--output",
               tmp_path / "reports", key=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "100/100" in lines[1] and "0/100" in lines[2] and "100/100" in lines[3]
    assert "student bob" in lines[2]
    report = json.loads((tmp_path / "reports" / "cy.json").read_text())
    assert report["who"] == "student cy" and report["points"] == 100


def test_user_mistakes_are_one_line_and_exit_2(tmp_path):
    for args in (("lab", "init", "nosuchlab", "--seed", "1"),
                 ("lab", "check", tmp_path),
                 ("lab", "repro", "emu1.garbage"),
                 ("lab", "grade", tmp_path),
                 ("lab", "solve", "bomb", "--seed", "-3")):
        proc = emu(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, args

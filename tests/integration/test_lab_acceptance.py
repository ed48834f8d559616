"""Every lab's acceptance: the reference scores full marks, the starter scores what
its handout says, each wrong solution loses exactly the tests it should (with a
message that helps), variants differ between students and repeat for one."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from emu.errors import UsageError
from emu.labs.catalog import lab_names, load_lab
from emu.labs.handout import handout_files, write_handout
from emu.labs.runner import grade
from emu.labs.variants import public_variant, student_variant

KEY = b"acceptance-test-course-key-0123456789"
LABS = ("pagewalk", "memmap", "bomb", "adbits", "malloc")


def test_every_lab_held_to_acceptance_here_exists():
    assert set(LABS) <= set(lab_names())


def reference_submission(lab, variant, folder: Path) -> Path:
    """The instructor's solution, with this variant's answers where the lab has some."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in lab.solution.iterdir():
        if path.name != "answers.txt":
            shutil.copy(path, folder / path.name)
    if "answers.txt" in lab.config.submit:
        params = lab.kind.draw_params(lab.config, variant)
        (folder / "answers.txt").write_text("\n".join(lab.kind.solve(lab, variant, params)) + "\n")
    return folder


@pytest.mark.parametrize("name", LABS)
def test_the_reference_solution_scores_full_marks(name, tmp_path):
    lab = load_lab(name)
    for variant in (student_variant(name, "grace@example.edu", KEY), public_variant(name, 42)):
        folder = reference_submission(lab, variant, tmp_path / variant.id)
        report = grade(lab, folder, variant, hidden=True)
        assert report.failures() == [], [(t.name, t.message) for t in report.failures()]
        assert report.points == lab.config.max_points == 100


@pytest.mark.parametrize("name", LABS)
def test_the_unchanged_starter_scores_what_the_handout_says(name, tmp_path):
    lab = load_lab(name)
    variant = student_variant(name, "linus@example.edu", KEY)
    write_handout(lab, variant, tmp_path / "handout")
    report = grade(lab, tmp_path / "handout", variant, hidden=True)
    assert report.points == lab.config.starter_score
    readme = (tmp_path / "handout" / "README.md").read_text()
    assert f"The starter scores {lab.config.starter_score} of 100" in readme


WRONG = [(name, wrong.name) for name in LABS for wrong in load_lab(name).wrong_solutions()]


def test_every_lab_has_at_least_three_wrong_solutions():
    for name in LABS:
        assert len(load_lab(name).wrong_solutions()) >= 3, name


def test_a_wrong_solution_whose_edit_no_longer_matches_is_one_clear_error(tmp_path):
    lab = load_lab("pagewalk")
    (tmp_path / "stale").mkdir()
    (tmp_path / "stale" / "expect.toml").write_text(
        'seed = 1\nfails = []\nmessage = ""\n'
        '[[edit]]\nfile = "walk.asm"\nfind = "no such line"\nreplace = ""\n')
    with pytest.raises(UsageError, match="edit 1: its find text occurs 0 times in walk.asm"):
        lab.wrong_submission(tmp_path / "stale", tmp_path / "sub")


@pytest.mark.parametrize("name,wrong", WRONG, ids=[f"{n}/{w}" for n, w in WRONG])
def test_each_wrong_solution_loses_exactly_the_points_of_its_tests(name, wrong, tmp_path):
    lab = load_lab(name)
    folder = lab.root / "instructor" / "wrong" / wrong
    expect = tomllib.loads((folder / "expect.toml").read_text())
    report = grade(lab, lab.wrong_submission(folder, tmp_path / "sub"),
                   public_variant(name, expect["seed"]), hidden=True)
    failed = [t for t in report.failures()]
    assert [t.name for t in failed] == expect["fails"]
    lost = expect.get("points_lost", sum(lab.config.test(t).points for t in expect["fails"]))
    assert report.points == lab.config.max_points - lost
    assert expect["message"] in failed[0].message, failed[0].message


@pytest.mark.parametrize("name", LABS)
def test_two_students_get_different_variants(name):
    lab = load_lab(name)
    ada = handout_files(lab, student_variant(name, "ada@example.edu", KEY))
    bob = handout_files(lab, student_variant(name, "bob@example.edu", KEY))
    assert ada.keys() == bob.keys()
    differing = [f for f in ada if ada[f] != bob[f] and f != "emu-lab.json"]
    assert differing, "only the marker differs"
    params = [lab.kind.draw_params(lab.config, student_variant(name, s, KEY))
              for s in ("ada@example.edu", "bob@example.edu")]
    assert params[0] != params[1] or name == "memmap" and ada["tests/try.asm"] != bob["tests/try.asm"]


@pytest.mark.parametrize("name", LABS)
def test_the_same_student_twice_gets_identical_handouts_and_grades(name, tmp_path):
    lab = load_lab(name)
    for folder in ("one", "two"):
        write_handout(lab, student_variant(name, "Ada@Example.edu", KEY), tmp_path / folder)
    one = {p.relative_to(tmp_path / "one"): p.read_bytes()
           for p in (tmp_path / "one").rglob("*") if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes()
           for p in (tmp_path / "two").rglob("*") if p.is_file()}
    assert one == two
    variant = student_variant(name, "ada@example.edu", KEY)
    submission = reference_submission(lab, variant, tmp_path / "sub")
    reports = [json.dumps(grade(lab, submission, variant, hidden=True).to_json())
               for _ in range(2)]
    assert reports[0] == reports[1]


def test_a_variant_is_pinned_byte_for_byte():
    """A public seed's parameters never change unnoticed (the PRNG, the draws)."""
    memmap = load_lab("memmap")
    params = memmap.kind.draw_params(memmap.config, public_variant("memmap", 7))
    assert {k: params[k] for k in ("ram_mib", "policy", "release", "get_free")} == PINNED_MEMMAP_7
    assert params["start_used"][:3] == PINNED_MEMMAP_7_RUNS
    bomb = load_lab("bomb")
    assert bomb.kind.draw_params(bomb.config, public_variant("bomb", 7)) == PINNED_BOMB_7


PINNED_MEMMAP_7 = {"ram_mib": 512, "policy": "highest-fit", "release": "all-or-nothing",
                   "get_free": "largest-run"}
PINNED_MEMMAP_7_RUNS = [[1, 1], [4, 2], [11, 4]]
PINNED_BOMB_7 = {"malloc_call": 7, "word": 0, "value": 0x3333000000001616}

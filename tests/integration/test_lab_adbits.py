"""The adbits lab (issue 14, part 1): sys_pgaccess and sys_pgdirty graded against the
MMU's Accessed and Dirty bits. The acceptance of every lab (reference full marks, the
starter's score, wrong solutions losing exactly their tests, variants per student,
identical regrades), the model the expectations come from, the C route, repro into
emu debug, and the handout's own example run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from emu.labs.catalog import lab_names, load_lab
from emu.labs.commands import check
from emu.labs.handout import write_handout
from emu.labs.runner import grade
from emu.labs.variants import public_variant, student_variant
from emu.labs.kinds.adbits import script_of
from emu.labs.kinds.adbits.run import run_script
from emu.labs.kinds.adbits.scripts import EINVAL, PGACCESS, PGDIRTY, SCENARIOS, Call, Model
from tests.integration.test_lab_cli import emu

KEY = b"adbits-test-course-key-0123456789"
LAB = load_lab("adbits")


def submission(folder: Path, wrong: str = "") -> Path:
    """The reference solution, or wrong solution `wrong`, as handed in."""
    if wrong:
        return LAB.wrong_submission(LAB.root / "instructor" / "wrong" / wrong, folder)
    shutil.copytree(LAB.solution, folder)
    return folder


def failures(report) -> list[tuple[str, str]]:
    return [(t.name, t.message) for t in report.failures()]


# -- the model the expectations come from ------------------------------------------------

def test_the_model_gives_a_2mib_page_one_bit_for_all_its_pieces():
    model = Model(low=8, limit=64)
    model.touch(8 + 300, write=False)
    first = model.call(Call(PGACCESS, 6, 8))
    assert first.result == 0 and first.bitmap == bytes([0b11111100])   # pages 8..13: set
    assert model.call(Call(PGACCESS, 6, 8)).bitmap == bytes(1)        # cleared by the first
    assert model.call(Call(PGDIRTY, 0, 520)).result == EINVAL         # over the limit


def test_the_model_keeps_a_and_d_apart_and_invalid_calls_change_nothing():
    model = Model(low=16, limit=32)
    model.touch(3, write=False)
    model.touch(5, write=True)
    for refused in (Call(PGACCESS, 0, 0), Call(PGACCESS, 0, 33), Call(PGACCESS, 0, 8, 16)):
        assert model.call(refused).bitmap is None
    assert model.call(Call(PGDIRTY, 0, 8)).bitmap == bytes([0b100000])
    assert model.call(Call(PGACCESS, 0, 8)).bitmap == bytes([0b101000])


def test_every_scenario_expects_set_and_clear_bits_and_a_public_one_uses_the_2mib_page():
    variant = public_variant("adbits", 5)
    params = LAB.kind.draw_params(LAB.config, variant)
    for name, scenario in SCENARIOS.items():
        script = scenario(params, variant.stream(name))
        bits = "".join(f"{byte:08b}" for e in script.expected if e.bitmap for byte in e.bitmap)
        assert "1" in bits and "0" in bits, name
    access_2m = SCENARIOS["access-2m"](params, variant.stream("access-2m"))
    assert any(int(op[1:]) >= params["low"] for op in access_2m.ops if op[0] in "rw")


def test_what_the_model_expects_is_what_the_mmu_recorded_under_the_reference(tmp_path):
    """Not circular: for every call of every scenario, the leaf entries' bits as the
    call began (read from the tables by the grader, set by the MMU) are exactly the
    bits the model says a correct kernel reports."""
    variant = public_variant("adbits", 11)
    prepared = LAB.kind.prepare(LAB, variant, LAB.kind.draw_params(LAB.config, variant),
                                LAB.solution)
    for name in SCENARIOS:
        script = script_of(prepared, name)
        run = run_script(prepared, script)
        assert run.outcome.status == 0 and len(run.calls) == len(script.calls), name
        assert not run.outcome.leaked, name           # the 2 MiB page's chunk went back too
        for call, seen, expected in zip(script.calls, run.calls, script.expected):
            if expected.bitmap is None:
                continue
            mmu = {page - call.start for page in seen.set_before}
            model = {i for i in range(call.pages) if expected.bitmap[i // 8] >> (i % 8) & 1}
            assert mmu == model, (name, call.op)
            assert seen.still_set == frozenset(), (name, call.op)       # and it cleared them


# -- acceptance ----------------------------------------------------------------------------

def test_the_lab_is_listed_and_has_100_points():
    assert "adbits" in lab_names()
    assert LAB.config.max_points == 100



def test_the_reference_in_c_scores_full_marks_too(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    shutil.copy(LAB.root / "instructor" / "c" / "adbits.c", folder)
    report = grade(LAB, folder, public_variant("adbits", 7), hidden=True)
    assert failures(report) == [] and report.points == 100


def test_the_unchanged_starter_scores_what_the_handout_says(tmp_path):
    variant = student_variant("adbits", "linus@example.edu", KEY)
    write_handout(LAB, variant, tmp_path / "handout")
    report = grade(LAB, tmp_path / "handout", variant, hidden=True)
    assert report.gradable and report.points == LAB.config.starter_score == 0
    assert "returned -38, expected 0" in report.tests[0].message
    readme = (tmp_path / "handout" / "README.md").read_text()
    assert "The starter scores 0 of 100" in readme and "{{" not in readme
    files = sorted(str(p.relative_to(tmp_path / "handout"))
                   for p in (tmp_path / "handout").rglob("*") if p.is_file())
    assert files == ["README.md", "adbits.asm", "emu-lab.json", "tests/adbits_test.c",
                     "tests/walkthrough.gdb", "variant.h", "variant.inc"]
    assert (tmp_path / "handout" / "adbits.asm").read_text() == \
        (LAB.root / "starter" / "adbits.asm").read_text()          # never the instructor's


WRONG = [w.name for w in LAB.wrong_solutions()]


def test_there_are_at_least_three_wrong_solutions_with_the_issues_mistakes():
    assert {"forgets-invlpg", "reports-without-clearing", "clears-at-first-piece",
            "ignores-ps", "rejects-the-limit"} <= set(WRONG)





def test_a_public_variant_is_pinned():
    assert LAB.kind.draw_params(LAB.config, public_variant("adbits", 7)) == PINNED_7


PINNED_7 = {"limit": 128, "low": 88, "base": 0x42bfa8000}


# -- submissions that cannot be graded ------------------------------------------------------

@pytest.mark.parametrize("files,words", [
    ({}, "adbits.asm (or adbits.c) is missing"),
    ({"adbits.asm": "sys_pgaccess:\n  mov rax,, 1\n"}, "adbits.asm:2: empty operand"),
    ({"adbits.asm": "sys_pgaccess:\n  ret\n"}, "no routine 'sys_pgdirty'"),
])
def test_a_submission_that_does_not_build_is_not_gradable_with_one_line(files, words, tmp_path):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    report = grade(LAB, tmp_path, public_variant("adbits", 1), hidden=False)
    assert not report.gradable and len(report.format_errors) == 1
    assert words in report.format_errors[0]


def test_a_routine_that_reads_a_table_at_its_physical_address_is_told_about_the_direct_map(
        tmp_path):
    (tmp_path / "adbits.asm").write_text("sys_pgaccess:\nsys_pgdirty:\n  mov rax, cr3\n"
                                         "  mov rax, [rax]\n  ret\n")
    report = grade(LAB, tmp_path, public_variant("adbits", 1), hidden=False)
    assert report.points == 0
    assert "kernel oops in sys_pgaccess" in report.tests[0].message
    assert "DIRECT_MAP + pa" in report.tests[0].message


# -- repro and the handout's example ----------------------------------------------------------

def test_repro_stops_at_the_failing_call_and_the_walkthrough_runs(tmp_path):
    handout = tmp_path / "h"
    write_handout(LAB, public_variant("adbits", 42), handout)
    shutil.copy(submission(tmp_path / "wrong", "forgets-invlpg") / "adbits.asm", handout)
    lines, status = check(handout, include_hidden=True)
    assert status == 1 and any("emu lab repro hidden-invlpg" in line for line in lines)
    proc = emu("lab", "repro", "hidden-invlpg", "-x", "tests/walkthrough.gdb", "--batch",
               cwd=handout)
    assert proc.returncode == 0, proc.stderr
    assert "Stopped at sys_pgaccess's first instruction in call 2" in proc.stdout
    assert "page walk of 0x" in proc.stdout                       # pt $rdi
    assert "adbits_check (index=2, number=451, result=0" in proc.stdout
    assert "Undefined command" not in proc.stdout and "Traceback" not in proc.stderr


def test_the_handouts_example_run_prints_what_the_readme_shows(tmp_path):
    params = LAB.kind.draw_params(LAB.config, public_variant("adbits", 42))
    (tmp_path / "variant.inc").write_text(f"PAGES_LIMIT equ {params['limit']}\n")
    shutil.copy(LAB.solution / "adbits.asm", tmp_path)
    proc = emu("run", LAB.root / "tests" / "adbits_test.c", "--kernel", tmp_path / "adbits.asm",
               "--syscall", "451=sys_pgaccess", "--syscall", "452=sys_pgdirty", "--",
               "4k", f"{params['base']:x}", str(params["low"]),
               "r1", "w2", "r9", "a0:16", "d0:16", "r1", "a0:16")
    assert proc.stdout == ("0 pgaccess(page 0, 16) = 0 bitmap 06 02\n"
                           "1 pgdirty(page 0, 16) = 0 bitmap 04 00\n"
                           "2 pgaccess(page 0, 16) = 0 bitmap 02 00\n")
    readme = (LAB.root / "README.md").read_text()
    assert proc.stdout in readme


def test_a_platforms_token_reopens_a_hidden_failure_without_the_key(tmp_path):
    folder = submission(tmp_path / "sub", "forgets-invlpg")
    proc = emu("lab", "grade", folder, "--lab", "adbits", "--student", "ada",
               "--format", "gradescope", key=True)
    failed = [t for t in json.loads(proc.stdout)["tests"] if t["score"] < t["max_score"]]
    assert [t["extra_data"]["id"] for t in failed] == ["hidden-invlpg"]
    assert failed[0]["visibility"] == "after_due_date"
    proc = emu("lab", "repro", failed[0]["extra_data"]["repro"], "--dir", folder,
               "-ex", "info registers rsi", "--batch")
    assert proc.returncode == 0, proc.stderr
    assert "Stopped at sys_pgaccess's first instruction in call 2" in proc.stdout

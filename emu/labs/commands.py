"""What each `emu lab` subcommand does, apart from its arguments (emu/cli/lab.py).

Each function returns the lines to print (or writes files) and an exit
status; the CLI module only parses and prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..userfiles import read_user_text
from . import platforms
from .catalog import Lab, lab_names, load_lab
from .handout import MARKER, read_marker, write_handout
from .results import GradeReport, TestResult
from .runner import check_record, grade, record_token, token_record
from .variants import (course_key, handout_variant, normalize_student, public_variant,
                       student_variant)

FAILURES = Path(".emu-lab") / "failures"


def list_lines() -> list[str]:
    lines = []
    for name in lab_names():
        lab = load_lab(name)
        c = lab.config
        hidden = sum(t.points for t in c.tests if t.hidden)
        lines.append(f"{name:10} {c.title}  ({c.max_points} points, {hidden} hidden; "
                     f"{c.hours} hours)")
    return lines or ["no labs found (EMU_LABS_DIR?)"]


def choose_variant(lab: Lab, student: str | None, seed: int | None, key_file: str | None):
    """The variant for --student (with the course key) or --seed (public)."""
    if (student is None) == (seed is None):
        raise UsageError("say whose variant: --student ID (with the course key) or --seed N "
                         "(a public self-study variant)")
    if seed is not None:
        return public_variant(lab.name, seed)
    return student_variant(lab.name, student, course_key(key_file))


def init(lab_name: str, student, seed, folder: Path | None, key_file, roster) -> list[str]:
    """Write one handout, or one per line of `roster` into `folder`/ID."""
    lab = load_lab(lab_name)
    if roster:
        ids = [line.strip() for line in read_user_text(roster, "roster").splitlines()
               if line.strip() and not line.startswith("#")]
        key = course_key(key_file)
        base = folder or Path(f"{lab.name}-handouts")
        for student_id in ids:
            variant = student_variant(lab.name, student_id, key)
            write_handout(lab, variant, base / _folder_name(student_id))
        return [f"{len(ids)} handouts of {lab.name} in {base}/ (one folder per student)"]
    variant = choose_variant(lab, student, seed, key_file)
    target = folder or Path(lab.name)
    files = write_handout(lab, variant, target)
    return [f"{lab.name}: {lab.config.title} -- {variant.who}, variant {variant.id}",
            f"wrote {len(files)} files in {target}/; start with {target}/README.md",
            f"then, in {target}/: emu lab check"]


def _folder_name(student_id: str) -> str:
    """The folder a roster line's handout goes to: the id, if it is a plain name."""
    name = normalize_student(student_id)
    if "/" in name or "\\" in name or name in (".", ".."):
        raise UsageError(f"roster: '{student_id}' cannot be a folder name")
    return name


# -- check -----------------------------------------------------------------------------------

def check(folder: Path, include_hidden: bool) -> tuple[list[str], int]:
    """The student's run: the public tests (and the hidden ones of a public seed
    with --all), failures saved for `emu lab repro NAME`."""
    marker = read_marker(folder)
    lab = load_lab(str(marker.get("lab", "")))
    variant = handout_variant(marker)
    if include_hidden and not variant.has_hidden:
        raise UsageError("--all needs a public seed (the hidden tests of a student variant "
                         "need the course key)")
    saved = folder / FAILURES
    for old in saved.glob("*.json") if saved.is_dir() else []:
        old.unlink()

    def save(spec, record):
        saved.mkdir(parents=True, exist_ok=True)
        (saved / f"{spec.name}.json").write_text(json.dumps(record, indent=1) + "\n")
        return spec.name
    report = grade(lab, folder, variant, hidden=include_hidden, label_failure=save)
    text = platforms.render(report, "text", {}, include_hidden).splitlines()
    return text, 0 if report.gradable and not report.failures() else 1


# -- grade -----------------------------------------------------------------------------------

@dataclass
class GradeRequest:
    submission: Path
    lab: str | None
    student: str | None
    key_file: str | None
    fmt: str
    public_only: bool = False
    gradescope_metadata: Path | None = None
    id_field: str = "email"


def resolve(request: GradeRequest):
    """(lab, variant, notes) for one submission, checked against its emu-lab.json."""
    marker = read_marker(request.submission) if (request.submission / MARKER).is_file() else {}
    lab = load_lab(request.lab or str(marker.get("lab") or _no_lab()))
    if marker.get("lab") not in (None, lab.name):
        raise UsageError(f"{request.submission}: its {MARKER} is for lab {marker['lab']}, "
                         f"not {lab.name}")
    student = request.student
    if student is None and request.gradescope_metadata is not None:
        student = platforms.gradescope_student(request.gradescope_metadata, request.id_field)
    if student is None and "seed" in marker:
        return lab, handout_variant(marker), []
    if student is None:
        student = marker.get("student") or _no_student()
    variant = student_variant(lab.name, student, course_key(request.key_file))
    notes = []
    if marker.get("handout_seed") not in (None, variant.handout_seed.hex()):
        notes.append(f"the submitted {MARKER} names another variant "
                     f"({marker.get('student', '?')}, {marker.get('variant', '?')}); "
                     f"graded as {variant.who}, variant {variant.id}")
    return lab, variant, notes


def unidentified_report(lab: Lab, why: str, hidden: bool) -> GradeReport:
    """A not-gradable report for a submission that cannot be matched to a variant."""
    specs = [t for t in lab.config.tests if hidden or not t.hidden]
    report = GradeReport(lab.name, lab.config.title, "?", "an unknown student",
                         sum(t.points for t in specs), gradable=False,
                         format_errors=[why, f"(submit the {MARKER} from your handout folder "
                                             f"with your files)"])
    report.tests = [TestResult(t.name, t.title, t.part, 0, t.points, "not graded",
                               visibility=t.visibility) for t in specs]
    return report


def _no_lab():
    raise UsageError(f"which lab? give --lab LAB (the submission has no {MARKER})")


def _no_student():
    raise UsageError("whose submission? give --student ID (or --gradescope-metadata FILE)")


def grade_one(request: GradeRequest, output: Path | None) -> tuple[str, object]:
    """Grade one submission; returns the rendered report and the report. With
    `output`, the file is rewritten after every test (Gradescope's partial
    results) and at the end.

    When the lab is known (--lab) but the submission cannot say whose it is
    (no emu-lab.json, no metadata, no key), the report is a not-gradable one
    saying why, in the platform's format: a platform always gets results."""
    hidden = not request.public_only
    try:
        lab, variant, notes = resolve(request)
    except UsageError as exc:
        if request.lab is None:
            raise
        lab = load_lab(request.lab)
        report = unidentified_report(lab, str(exc), hidden)
        text = platforms.render(report, request.fmt, dict(lab.config.options), hidden)
        if output is not None:
            platforms.write_whole(output, text)
        return text, report
    options = dict(lab.config.options)

    def partial(report):
        if output is not None:
            platforms.write_whole(output, platforms.render(report, request.fmt, options, hidden))
    report = grade(lab, request.submission, variant, hidden=hidden, on_result=partial,
                   label_failure=lambda spec, record: record_token(record))
    report.notes[:0] = notes
    text = platforms.render(report, request.fmt, options, hidden)
    if output is not None:
        platforms.write_whole(output, text)
    return text, report


# -- repro -----------------------------------------------------------------------------------

def load_failure(failure: str, folder: Path) -> dict:
    """A repro record from a token, a .json file, or a test name saved by check."""
    if failure.startswith("emu1."):
        return token_record(failure)
    path = Path(failure)
    if not path.suffix:
        path = folder / FAILURES / f"{failure}.json"
    if not path.is_file():
        raise UsageError(f"no failure '{failure}' (after `emu lab check`, the failed tests "
                         f"are in {folder / FAILURES}/)")
    try:
        return check_record(json.loads(read_user_text(path, "failure record")))
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None


def repro_session(failure: str, folder: Path):
    record = load_failure(failure, folder)
    lab = load_lab(record["lab"])
    return lab.kind.repro(lab, record, folder)

"""Grading one submission: build it, run the lab's tests in order, report.

    report = grade(lab, Path("submission/"), variant, hidden=True,
                   on_result=write_partial, label_failure=save_record)

Every test runs on machines of its own with budgets counted in guest
instructions, so its result depends only on the submission and the variant:
the same on every machine, loaded or not. A test that raises is a failed
test whose message says so (and a note for the course), never a crash of
the grader. `on_result(report)` runs after every test, so a platform can
show partial results while the rest runs.

A failure's repro record is a small JSON-able dict:

    {"format": "emu-lab-failure/1", "lab": ..., "test": ..., "variant": marker,
     "case": what the kind needs to rebuild the failing case}

`label_failure(spec, record)` decides how a report names it: a file name
for `emu lab check`, a self-contained token for the platforms.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

from ..errors import EmuError, UsageError
from .kinds.base import Outcome, SubmissionError
from .results import GradeReport, TestResult

RECORD_FORMAT = "emu-lab-failure/1"
TOKEN_PREFIX = "emu1."


def grade(lab, submission: Path, variant, *, hidden: bool, on_result=None,
          label_failure=None) -> GradeReport:
    """Grade `submission` (a folder) for `variant`; hidden tests when `hidden`."""
    kind = lab.kind
    params = kind.draw_params(lab.config, variant)
    specs = [t for t in lab.config.tests if hidden or not t.hidden]
    report = GradeReport(lab.name, lab.config.title, variant.id, variant.who,
                         sum(t.points for t in specs))
    try:
        prepared = kind.prepare(lab, variant, params, submission)
    except SubmissionError as exc:
        report.gradable = False
        report.format_errors = exc.errors
        report.tests = [_result(spec, Outcome(0, "not graded: the submission does not build"))
                        for spec in specs]
        return report
    for spec in specs:
        outcome = _run_one(kind, spec, prepared, report)
        result = _result(spec, outcome)
        if outcome.repro is not None and outcome.points < spec.points and label_failure:
            record = {"format": RECORD_FORMAT, "lab": lab.name, "test": spec.name,
                      "variant": variant.marker(), "case": outcome.repro}
            result.repro = label_failure(spec, record)
        report.tests.append(result)
        if on_result is not None:
            on_result(report)
    report.leaderboard = kind.standings(prepared)
    return report


def _run_one(kind, spec, prepared, report: GradeReport) -> Outcome:
    try:
        outcome = kind.run_test(spec, prepared)
    except EmuError as exc:
        return Outcome(0, f"the test stopped: {exc}")
    except Exception as exc:            # a bug in the checker: never the student's doing
        report.notes.append(f"internal error in test {spec.name}: {type(exc).__name__}: "
                            f"{exc} (a bug in emu: please report it)")
        return Outcome(0, "the checker failed on this test (a bug in emu, not in your code; "
                          "tell the course staff)")
    if not 0 <= outcome.points <= spec.points:
        raise UsageError(f"test {spec.name} gave {outcome.points} of {spec.points} points")
    return outcome


def _result(spec, outcome: Outcome) -> TestResult:
    return TestResult(name=spec.name, title=spec.title, part=spec.part,
                      points=outcome.points, max_points=spec.points,
                      message=outcome.message, output=outcome.output,
                      visibility=spec.visibility, images=list(outcome.images))


# -- repro records as tokens and files ---------------------------------------------------

def record_token(record: dict) -> str:
    """A self-contained, copy-pasteable name for a repro record."""
    raw = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def token_record(token: str) -> dict:
    """The record inside a token; UsageError when it is damaged."""
    body = token.removeprefix(TOKEN_PREFIX)
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return check_record(json.loads(raw))
    except (ValueError, zlib.error) as exc:
        raise UsageError(f"the repro token is damaged ({exc}); copy it whole") from None


def check_record(record) -> dict:
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        raise UsageError(f"not an emu lab failure record (expected format {RECORD_FORMAT})")
    for key in ("lab", "test", "variant", "case"):
        if key not in record:
            raise UsageError(f"the failure record has no '{key}'")
    return record

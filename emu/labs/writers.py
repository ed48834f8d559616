"""A GradeReport in each platform's format: pure functions, no files touched.

    text_report(report)      lines like MIT's gradelib: one per test, OK/FAIL,
                             the message under a failure, the score
    json_report(report)      the plain JSON (GradeReport.to_json)
    gradescope(report)       /autograder/results/results.json (Gradescope's spec:
                             score, output, tests[name, number, score, max_score,
                             status, output, tags, visibility], stdout_visibility)
    prairielearn(report)     /grade/results/results.json (PrairieLearn's external
                             grader: gradable, score in [0, 1], message, output,
                             tests[name, description, points, max_points, message,
                             output, images], format_errors when not gradable)
    autolab(report)          the text report (hidden tests' details held back until
                             released), then Autolab's autoresult as the last line:
                             {"scores": {part: points}, "scoreboard": [total, ...]}
A report's leaderboard (labs that rank, like the malloc lab's utilization and
instructions per op) becomes Gradescope's `leaderboard` and the last columns
of Autolab's scoreboard.

Hidden tests are "after_due_date" on Gradescope unless the lab says otherwise
(lab.toml [options] gradescope_hidden = "hidden" | "after_published"); the
other platforms have no such notion, so their hidden tests show only their
name and points until the course releases them (release_hidden, see
platforms.py and the README).
"""

from __future__ import annotations

import base64
import json

from .results import PASSED, GradeReport, TestResult

DOTS_WIDTH = 60
GRADESCOPE_HIDDEN = ("after_due_date", "after_published", "hidden", "visible")
HIDDEN_UNTIL_RELEASE = "(a hidden test: its details are released after the deadline)"


def _repro_line(test: TestResult) -> str:
    return f"reopen it in the debugger: emu lab repro {test.repro}" if test.repro else ""


def test_details(test: TestResult) -> str:
    """The message, the details and the repro line of a test, as one text."""
    parts = [test.message, test.output, _repro_line(test)]
    return "\n".join(p for p in parts if p)


# -- text (gradelib-like) ---------------------------------------------------------------

def text_report(report: GradeReport, ran_hidden: bool = True,
                reveal_hidden: bool = True) -> list[str]:
    """The report as lines: a header, one line per test, the score. Without
    `reveal_hidden`, a failed hidden test shows its points but not its details."""
    lines = [f"== {report.lab}: {report.title} ({report.who}, variant {report.variant}) =="]
    if not report.gradable:
        lines.append("The submission could not be graded:")
        lines += [f"    {error}" for error in report.format_errors]
        return lines
    for test in report.tests:
        lines += _test_lines(test, reveal_hidden or test.visibility != "hidden")
    lines += [f"note: {note}" for note in report.notes]
    lines.append(f"Score: {report.points}/{report.max_points}")
    if not ran_hidden:
        lines.append("(`emu lab check` runs the public tests only; the grader adds the hidden "
                     "ones)")
    return lines


def _test_lines(test: TestResult, details: bool) -> list[str]:
    label = f"{test.title} "
    verdict = "OK" if test.status == PASSED else "FAIL"
    head = f"{label:.<{DOTS_WIDTH}} {verdict:4} {test.points:>3}/{test.max_points}"
    if test.status == PASSED:
        return [head]
    body = (test_details(test) if details else HIDDEN_UNTIL_RELEASE).splitlines()
    return [head] + [f"    {line}" if line else "" for line in body]


# -- plain JSON --------------------------------------------------------------------------

def json_report(report: GradeReport) -> dict:
    return report.to_json()


# -- Gradescope --------------------------------------------------------------------------

def gradescope(report: GradeReport, hidden_visibility: str = "after_due_date") -> dict:
    """Gradescope's results.json for `report` (the tests graded so far)."""
    if hidden_visibility not in GRADESCOPE_HIDDEN:
        hidden_visibility = "after_due_date"
    if not report.gradable:
        return {"score": 0, "output": _format_error_text(report), "output_format": "text",
                "stdout_visibility": "hidden", "tests": []}
    tests = []
    for number, test in enumerate(report.tests, 1):
        tests.append({
            "name": test.title, "number": str(number), "score": test.points,
            "max_score": test.max_points, "status": test.status,
            "output": test_details(test) or "passed", "output_format": "text",
            "tags": [test.part] if test.part else [],
            "visibility": "visible" if test.visibility == "public" else hidden_visibility,
            "extra_data": {"id": test.name, "repro": test.repro}})
    results = {"score": report.points, "output": _summary(report), "output_format": "text",
               "stdout_visibility": "hidden", "tests": tests,
               "extra_data": {"lab": report.lab, "variant": report.variant, "who": report.who}}
    if report.leaderboard:
        results["leaderboard"] = [{"name": s.name, "value": s.value, "order": s.order}
                                  for s in report.leaderboard]
    return results


def _summary(report: GradeReport) -> str:
    lines = [f"{report.lab}: {report.title}", f"graded as {report.who}, variant {report.variant}"]
    return "\n".join(lines + report.notes)


def _format_error_text(report: GradeReport) -> str:
    return "\n".join(["The submission could not be graded:"] + report.format_errors)


# -- PrairieLearn ------------------------------------------------------------------------

def prairielearn(report: GradeReport, reveal_hidden: bool = False) -> dict:
    """PrairieLearn's external-grader results.json for `report`.

    A submission that does not build is `gradable: false` with its
    format_errors, so it costs the student no attempt."""
    if not report.gradable:
        return {"gradable": False, "format_errors": list(report.format_errors),
                "message": "The submission could not be built; this attempt does not count.",
                "output": _format_error_text(report)}
    tests = []
    for test in report.tests:
        secret = test.visibility == "hidden" and not reveal_hidden
        entry = {"name": test.title, "description": f"{test.part}: {test.name}"
                 if test.part else test.name, "points": test.points,
                 "max_points": test.max_points,
                 "message": HIDDEN_UNTIL_RELEASE if secret else (test.message or "passed"),
                 "output": "" if secret else "\n".join(
                     p for p in (test.output, _repro_line(test)) if p)}
        if test.images and not secret:
            entry["images"] = [_image(image) for image in test.images]
        tests.append(entry)
    return {"gradable": True, "score": round(report.fraction, 6),
            "message": f"{report.points}/{report.max_points} points ({report.who}, "
                       f"variant {report.variant})",
            "output": "\n".join(report.notes), "tests": tests}


def _image(image) -> dict:
    encoded = base64.b64encode(image.data).decode()
    return {"label": image.label, "url": f"data:{image.mime};base64,{encoded}"}


# -- Autolab -----------------------------------------------------------------------------

def autolab(report: GradeReport, reveal_hidden: bool = False) -> list[str]:
    """Feedback lines for Autolab; the last one is the autoresult JSON.

    Scores are per part (one Autolab problem per part of the lab, named as
    the parts in lab.toml); the scoreboard is the total, then each part."""
    scores: dict[str, int] = {}
    for test in report.tests:
        key = test.part or test.name
        scores[key] = scores.get(key, 0) + test.points
    lines = text_report(report, reveal_hidden=reveal_hidden)
    standings = [s.value for s in report.leaderboard]
    result = {"scores": scores, "scoreboard": [report.points, *scores.values(), *standings]}
    return lines + [json.dumps(result, separators=(",", ":"))]

"""What the grading platforms give us and where their results go.

    Gradescope     /autograder/submission_metadata.json: users[0].email is the
                   student id by default ("sid" or "id" with --id-field);
                   /autograder/results/results.json is rewritten after every
                   test, so a timeout still leaves the tests done so far
    PrairieLearn   /grade/student holds the files; /grade/results/results.json
                   (the folder must be created); no student id is given, so the
                   handout's emu-lab.json names the variant
    Autolab        the feedback is stdout; its last line is the autoresult JSON

Files are written whole (a temporary file, then a rename), so a platform
never reads half a results.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import UsageError
from ..userfiles import read_user_text
from . import writers

FORMATS = ("text", "json", "gradescope", "prairielearn", "autolab")
RELEASE_ENV = "EMU_LAB_RELEASE_HIDDEN"
ID_FIELDS = ("email", "sid", "id")


def gradescope_student(metadata_path: Path, field: str = "email") -> str:
    """The submitter's id from Gradescope's submission_metadata.json."""
    try:
        metadata = json.loads(read_user_text(metadata_path, "Gradescope metadata"))
        users = metadata["users"]
        value = users[0][field]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise UsageError(f"{metadata_path}: no users[0].{field} in it ({type(exc).__name__})") \
            from None
    if len(users) > 1:
        raise UsageError(f"{metadata_path}: a group submission ({len(users)} users); each lab "
                         f"variant is for one student")
    return str(value)


def hidden_released(options: dict) -> bool:
    """Are the hidden tests' details released? lab.toml [options] release_hidden,
    or EMU_LAB_RELEASE_HIDDEN=1 in the grader's environment (no image rebuild)."""
    return bool(options.get("release_hidden")) or os.environ.get(RELEASE_ENV) == "1"


def render(report, fmt: str, options: dict, ran_hidden: bool) -> str:
    """The report as the text of one output file in format `fmt`."""
    released = hidden_released(options)
    if fmt == "text":
        return "\n".join(writers.text_report(report, ran_hidden)) + "\n"
    if fmt == "json":
        return json.dumps(writers.json_report(report), indent=2) + "\n"
    if fmt == "gradescope":
        hidden = "visible" if released else options.get("gradescope_hidden", "after_due_date")
        return json.dumps(writers.gradescope(report, hidden), indent=2) + "\n"
    if fmt == "prairielearn":
        return json.dumps(writers.prairielearn(report, reveal_hidden=released), indent=2) + "\n"
    if fmt == "autolab":
        return "\n".join(writers.autolab(report, reveal_hidden=released)) + "\n"
    raise UsageError(f"unknown format '{fmt}' (formats: {', '.join(FORMATS)})")


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(text)
    os.replace(temporary, path)

"""`emu lab grade DIR DIR ... --jobs N`: a folder of submissions on one machine.

Each submission is graded in a worker process of its own (they share
nothing), N at a time; each report goes to OUTPUT/<submission>.<ext> and a
summary line per submission comes back, in the order given. Grades do not
depend on N or on the machine's load: budgets are guest instructions.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from ..errors import EmuError
from .commands import GradeRequest, grade_one

EXTENSIONS = {"text": "txt", "json": "json", "gradescope": "json", "prairielearn": "json",
              "autolab": "txt"}


def _grade_task(request: GradeRequest, output: Path | None) -> str:
    """One summary line for one submission (a worker's job)."""
    name = request.submission.name
    try:
        _, report = grade_one(request, output)
    except EmuError as exc:
        return f"{name:24} not graded: {exc}"
    status = f"{report.points:>4}/{report.max_points}" if report.gradable else "not gradable"
    return f"{name:24} {status:>12}  {report.who}, variant {report.variant}"


def grade_many(request: GradeRequest, submissions: list[Path], output: Path | None,
               jobs: int) -> list[str]:
    """Grade every folder in `submissions`; returns the summary lines."""
    tasks = []
    for folder in submissions:
        target = output / f"{folder.name}.{EXTENSIONS[request.fmt]}" if output else None
        tasks.append((replace(request, submission=folder), target))
    if jobs <= 1:
        lines = [_grade_task(*task) for task in tasks]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            lines = list(pool.map(_grade_task, *zip(*tasks)))
    return [f"{'submission':24} {'points':>12}  graded as"] + lines

"""One result model for every grader: what each test earned and why.

A GradeReport is what grading one submission produces; the writers
(emu/labs/writers.py) turn it into each platform's format. Nothing in it
depends on the machine or the clock (no timings, no paths of temporary
folders), so the same submission gives byte-identical reports everywhere.

    TestResult   name, title, part, points, max_points, status, message,
                 output, visibility ("public" | "hidden"), repro, images
    GradeReport  lab, title, variant, who, tests, gradable, format_errors,
                 leaderboard (Standing: name, value, order), for labs that rank
"""

from __future__ import annotations

from dataclasses import dataclass, field

PASSED, FAILED = "passed", "failed"


@dataclass(frozen=True)
class Image:
    """A picture for platforms that show them (PrairieLearn's `images`)."""
    label: str
    mime: str            # "image/svg+xml", "image/png"
    data: bytes


@dataclass(frozen=True)
class Standing:
    """One leaderboard column (Gradescope's leaderboard, Autolab's scoreboard):
    a name, a number, and whether bigger is better ("desc") or smaller ("asc")."""
    name: str
    value: float
    order: str = "desc"


@dataclass
class TestResult:
    """What one test earned.

    message  one paragraph for the student: what was expected, what was found,
             and where to look (never a traceback)
    output   details: the first differing cases, a register dump
    repro    the argument for `emu lab repro` that reopens this failure in the
             debugger, or "" when there is nothing to reopen
    """
    __test__ = False             # not a pytest test class, whatever its name
    name: str
    title: str
    part: str
    points: int
    max_points: int
    message: str = ""
    output: str = ""
    visibility: str = "public"
    repro: str = ""
    images: list[Image] = field(default_factory=list)

    @property
    def status(self) -> str:
        return PASSED if self.points == self.max_points else FAILED

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "part": self.part,
                "points": self.points, "max_points": self.max_points, "status": self.status,
                "message": self.message, "output": self.output,
                "visibility": self.visibility, "repro": self.repro}


@dataclass
class GradeReport:
    """The grade of one submission of one lab.

    gradable is False when the submission could not be built (an assembly
    error, a missing file): format_errors say why, and no test ran. The
    platforms that know the idea (PrairieLearn) then charge no attempt.
    """
    lab: str
    title: str
    variant: str
    who: str
    max_points: int
    tests: list[TestResult] = field(default_factory=list)
    gradable: bool = True
    format_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    leaderboard: list[Standing] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tests)

    @property
    def fraction(self) -> float:
        """The score in [0, 1] (PrairieLearn's `score`)."""
        return self.points / self.max_points if self.max_points else 0.0

    def failures(self) -> list[TestResult]:
        return [t for t in self.tests if t.status != PASSED]

    def to_json(self) -> dict:
        """The plain JSON format (`--format json`)."""
        return {"lab": self.lab, "title": self.title, "variant": self.variant,
                "who": self.who, "gradable": self.gradable,
                "format_errors": list(self.format_errors), "notes": list(self.notes),
                "points": self.points, "max_points": self.max_points,
                "tests": [t.to_json() for t in self.tests]}

"""What a lab kind (a checker plug-in) provides, and what it gets back.

A lab kind is one module under emu/labs/kinds/ with a subclass of LabKind.
The framework (emu/labs/runner.py, handout.py, cli) calls only these methods;
everything about the lab's machine, its cases and its messages stays in the
kind. Tests are named in lab.toml and found in the kind's TESTS table, an
explicit name -> function mapping that grep can follow:

    class MemmapKind(LabKind):
        name = "memmap"
        TESTS = {"allocate-matches-model": check_allocate, ...}

A test function takes (spec, prepared) and returns an Outcome: the points it
earned out of spec.points, a message that helps, details, and a repro record
(a small JSON-able dict the kind can turn back into a debugger session).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...errors import UsageError


class SubmissionError(UsageError):
    """The submission cannot be graded at all (a missing file, an assembly
    error): `errors` are the lines a student sees. Platforms that know the
    idea (PrairieLearn's gradable: false) charge no attempt for it."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass
class Outcome:
    """What one test found."""
    points: int
    message: str = ""
    output: str = ""
    repro: dict | None = None
    images: list = field(default_factory=list)


def full(spec, message: str = "") -> Outcome:
    """All of the test's points."""
    return Outcome(spec.points, message)


def none(message: str, output: str = "", repro: dict | None = None) -> Outcome:
    """No points, with the reason."""
    return Outcome(0, message, output, repro)


@dataclass
class ReproSession:
    """How to reopen a failure: what `emu lab repro` prints, then the debugger.

    Either `program` (a file emu debug loads as a process, as `emu debug
    PROGRAM --libc LIBC --link LINK... -- ARGV` would, with `commands` run
    first, and with `kernel` as its --kernel file, `on_fault` its --on-fault,
    `junk_frames` its --junk-frames) or `kernel_call` (a debugger on a
    prepared kernel call) is set."""
    banner: list[str]
    program: Path | None = None
    commands: list[str] = field(default_factory=list)
    kernel_call: object = None
    argv: list[str] = field(default_factory=list)
    libc: str = "runtime"
    link: list[str] = field(default_factory=list)
    kernel: Path | None = None
    on_fault: str | None = None
    junk_frames: bool = False


class LabKind:
    """The base of every lab kind; each method's contract is in its docstring."""

    name = ""
    TESTS: dict = {}

    def draw_params(self, config, variant) -> dict:
        """The variant's parameters (JSON-able), drawn from variant.stream(...)
        within config.variant's ranges. Must depend on nothing else."""
        return {}

    def template_values(self, config, variant, params) -> dict[str, str]:
        """Values for {{name}} placeholders in the handout's text files."""
        return {}

    def generated_files(self, config, variant, params) -> dict[str, str]:
        """Files made for this variant (a quiz, a program), by handout path."""
        return {}

    def prepare(self, lab, variant, params, submission: Path):
        """Check that `submission` (a folder) builds; return what the tests
        need. Raises SubmissionError with the lines a student should see."""
        raise NotImplementedError

    def run_test(self, spec, prepared) -> Outcome:
        """Run the test named spec.name (looked up in TESTS)."""
        check = self.TESTS.get(spec.name)
        if check is None:
            raise UsageError(f"the {self.name} checker has no test '{spec.name}'")
        return check(spec, prepared)

    def standings(self, prepared) -> list:
        """Leaderboard columns (results.Standing) once every test has run;
        most labs rank nothing."""
        return []

    def solve(self, lab, variant, params) -> list[str]:
        """The answers for a variant, as lines (only for public seeds)."""
        return ["This lab has no answers to print: its parts are programs."]

    def repro(self, lab, record: dict, submission: Path) -> ReproSession:
        """A debugger session at the failure described by `record`."""
        raise UsageError(f"the {self.name} lab cannot reopen failures in the debugger")

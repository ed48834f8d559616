"""lab.toml: what a lab is made of, its tests and points, budgets and variant knobs.

    [lab]
    name = "memmap"                 # the folder's name, and what `emu lab` calls it
    kind = "memmap"                 # the checker plug-in (emu/labs/kinds/)
    title = "The physical memory map in asm"
    hours = "6-10"                  # what the handout promises
    submit = ["os_mem_allocate.asm", ...]   # the files a submission must hold
    starter_score = 0               # what the unchanged starter scores (a test holds it)

    [budgets]                       # guest instructions, never seconds
    ...                             # the kind reads its own keys

    [variant]                       # the knobs the kind draws a variant from
    ...

    [[tests]]                       # in the order they run and are reported
    name = "allocate-matches-model" # stable id: repro files and platforms use it
    title = "os_mem_allocate agrees with the model"
    points = 12
    visibility = "public"           # public: `emu lab check` runs it; hidden: only
    part = "A"                      #   the grader, shown after the deadline

Everything is checked when the file is read: a mistake is one UsageError line
naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..userfiles import read_user_text

VISIBILITIES = ("public", "hidden")


@dataclass(frozen=True)
class TestSpec:
    """One graded test of a lab."""
    __test__ = False             # not a pytest test class, whatever its name
    name: str
    title: str
    points: int
    visibility: str
    part: str = ""

    @property
    def hidden(self) -> bool:
        return self.visibility == "hidden"


@dataclass(frozen=True)
class LabConfig:
    """A lab.toml, read and checked."""
    name: str
    kind: str
    title: str
    hours: str
    submit: tuple[str, ...]
    starter_score: int
    tests: tuple[TestSpec, ...]
    budgets: dict = field(default_factory=dict)
    variant: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    @property
    def max_points(self) -> int:
        return sum(test.points for test in self.tests)

    def test(self, name: str) -> TestSpec:
        for spec in self.tests:
            if spec.name == name:
                return spec
        raise UsageError(f"lab {self.name} has no test '{name}' "
                         f"(tests: {', '.join(t.name for t in self.tests)})")

    def budget(self, key: str) -> int:
        """An instruction budget from [budgets]; UsageError when it is missing."""
        value = self.budgets.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise UsageError(f"lab {self.name}: [budgets] {key} must be a positive whole "
                             f"number of instructions, got {value!r}")
        return value


def read_config(path: Path) -> LabConfig:
    """Read and check the lab.toml at `path`."""
    try:
        data = tomllib.loads(read_user_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))


def parse_config(data: dict, where: str) -> LabConfig:
    """A LabConfig from parsed TOML; `where` names the file in errors."""
    lab = _table(data, "lab", where)
    tests = tuple(_test(entry, i, where) for i, entry in enumerate(_list(data, "tests", where)))
    names = [t.name for t in tests]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise UsageError(f"{where}: test name '{duplicate}' is used twice")
    if not tests:
        raise UsageError(f"{where}: a lab needs at least one [[tests]] entry")
    submit = lab.get("submit", [])
    if not isinstance(submit, list) or not all(isinstance(s, str) for s in submit):
        raise UsageError(f"{where}: [lab] submit must be a list of file names")
    return LabConfig(
        name=_text(lab, "name", where), kind=_text(lab, "kind", where),
        title=_text(lab, "title", where), hours=_text(lab, "hours", where),
        submit=tuple(submit), starter_score=_whole(lab, "starter_score", where),
        tests=tests, budgets=dict(data.get("budgets", {})),
        variant=dict(data.get("variant", {})), options=dict(data.get("options", {})))


def _table(data: dict, key: str, where: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise UsageError(f"{where}: a [{key}] table is needed")
    return value


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise UsageError(f"{where}: {key} must be an array of tables ([[{key}]])")
    return value


def _text(table: dict, key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


def _whole(table: dict, key: str, where: str) -> int:
    value = table.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UsageError(f"{where}: '{key}' must be a whole number >= 0, got {value!r}")
    return value


def _test(entry, index: int, where: str) -> TestSpec:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: tests[{index}] must be a table")
    here = f"{where} tests[{index}]"
    visibility = entry.get("visibility", "public")
    if visibility not in VISIBILITIES:
        raise UsageError(f"{here}: visibility must be one of {', '.join(VISIBILITIES)}, "
                         f"got {visibility!r}")
    points = _whole(entry, "points", here)
    if points == 0:
        raise UsageError(f"{here}: points must be at least 1")
    return TestSpec(name=_text(entry, "name", here), title=_text(entry, "title", here),
                    points=points, visibility=visibility, part=str(entry.get("part", "")))

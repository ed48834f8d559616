"""Where labs live and how one is found: a folder with a lab.toml.

    examples/labs/LAB/
      lab.toml       the tests, points, budgets, variant knobs (config.py)
      README.md      the handout, with {{placeholders}} filled in per variant
      starter/       copied to the student's folder: the code to complete
      tests/         copied to the student's folder: public tests, .gdb walk-throughs
      instructor/    never copied: the reference solution and the wrong
                     solutions the tests are checked against

A wrong solution is a folder instructor/wrong/NAME/ holding expect.toml (why
it is wrong, the seed, the tests it must fail, a word of the first failure's
message) and the bug itself: `[[edit]]` tables (file, find, replace: text of
the reference solution that occurs exactly once, and what it becomes) and any
files that replace the reference's whole. Edits keep the bug readable as a
change; a rewritten file is kept whole.

$EMU_LABS_DIR points at another folder of labs (a course's own).
"""

from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .. import EXAMPLES_DIR
from ..errors import UsageError
from .config import LabConfig, read_config
from .kinds import kind_named

LABS_ENV = "EMU_LABS_DIR"
HANDOUT_PARTS = ("starter", "tests")
INSTRUCTOR = "instructor"


def labs_dir() -> Path:
    """The folder of labs: $EMU_LABS_DIR, else examples/labs of this project."""
    override = os.environ.get(LABS_ENV)
    return Path(override) if override else EXAMPLES_DIR / "labs"


@dataclass
class Lab:
    """One lab: its folder and its checked lab.toml."""
    root: Path
    config: LabConfig

    @property
    def name(self) -> str:
        return self.config.name

    @cached_property
    def kind(self):
        """The checker plug-in named by lab.toml's `kind`."""
        kind = kind_named(self.config.kind)
        unknown = [t.name for t in self.config.tests if t.name not in kind.TESTS]
        if unknown:
            raise UsageError(f"{self.root / 'lab.toml'}: the {kind.name} checker has no "
                             f"test '{unknown[0]}' (it has: {', '.join(kind.TESTS)})")
        return kind

    @property
    def solution(self) -> Path:
        return self.root / INSTRUCTOR / "solution"

    def wrong_solutions(self) -> list[Path]:
        folder = self.root / INSTRUCTOR / "wrong"
        return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def wrong_submission(self, wrong: Path, folder: Path) -> Path:
        """Write wrong solution `wrong` into `folder` as a student would hand it
        in: the reference solution, its [[edit]]s applied, its own files on top."""
        folder.mkdir(parents=True)
        for source in (self.solution, wrong):
            for path in source.iterdir():
                if path.name != "expect.toml":
                    shutil.copy(path, folder / path.name)
        expect = wrong / "expect.toml"
        for number, edit in enumerate(tomllib.loads(expect.read_text()).get("edit", []), 1):
            target = folder / edit["file"]
            text = target.read_text()
            if text.count(edit["find"]) != 1:
                raise UsageError(f"{expect}: edit {number}: its find text occurs "
                                 f"{text.count(edit['find'])} times in {edit['file']}, not once")
            target.write_text(text.replace(edit["find"], edit["replace"]))
        return folder


def lab_names() -> list[str]:
    """The labs in labs_dir(), by name."""
    root = labs_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "lab.toml").is_file())


def load_lab(name: str) -> Lab:
    """The lab called `name` (or the lab folder at path `name`)."""
    candidate = Path(name)
    root = candidate if (candidate / "lab.toml").is_file() else labs_dir() / name
    if not (root / "lab.toml").is_file():
        known = ", ".join(lab_names()) or "none"
        raise UsageError(f"no lab '{name}' (labs: {known}; `emu lab list` shows them)")
    config = read_config(root / "lab.toml")
    if config.name != root.name:
        raise UsageError(f"{root / 'lab.toml'}: name '{config.name}' differs from its "
                         f"folder '{root.name}'")
    return Lab(root, config)

"""Every example runs in the tests, prints exactly its .out file and exits as expected.

examples/*.py run with Python; examples/**/*.asm and *.c with `emu run`, each
next to its .out. A program's first line may say how to run it and what it
exits with: `emu run: ARGS` and `exit: N` (default 0). An example without a
.out fails the suite, unless it is a source other programs are built from
(LIBRARY_SOURCES, each with the reason), so examples cannot rot unnoticed.
"""

import re
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT

# Sources in examples/ that are not programs of their own, and who checks them.
LIBRARY_SOURCES = {
    "allocators/alloc_test.c": "linked with each allocator by tests/integration/test_c_allocators.py",
    "traces/make_traces.py": "regenerates the traces; tests/unit/test_traces.py checks its output",
}
# examples/labs/ holds course labs: kernel routines, starters and wrong solutions that
# are graded, not run; tests/integration/test_labs_*.py grade every one of them.
LABS = "labs/"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py"))
PROGRAMS = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".asm", ".c")
                  and str(p.relative_to(EXAMPLES)) not in LIBRARY_SOURCES
                  and not str(p.relative_to(EXAMPLES)).startswith(LABS))


def test_every_example_has_its_expected_output():
    runnable = [p for p in EXAMPLES.rglob("*") if p.suffix in (".asm", ".c", ".py")]
    missing = [str(p.relative_to(EXAMPLES)) for p in runnable
               if not p.with_suffix(".out").exists()
               and str(p.relative_to(EXAMPLES)) not in LIBRARY_SOURCES
               and not str(p.relative_to(EXAMPLES)).startswith(LABS)]
    assert missing == [], "examples without a .out file (or a LIBRARY_SOURCES entry)"
    assert all((EXAMPLES / name).exists() for name in LIBRARY_SOURCES)


def _first_line(program) -> str:
    return program.read_text().splitlines()[0]


def run_arguments(program) -> list[str]:
    """Arguments for `emu run`, from the first line's `emu run: ARGS`."""
    found = re.search(r"emu run:(.*?)(?:exit:|\*/|$)", _first_line(program))
    return found.group(1).split() if found else []


def expected_status(program) -> int:
    found = re.search(r"exit:\s*(\d+)", _first_line(program))
    return int(found.group(1)) if found else 0


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_script_prints_its_expected_output(script):
    expected = script.with_suffix(".out").read_text()
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_program_prints_its_expected_output(program):
    expected = program.with_suffix(".out").read_text()
    proc = subprocess.run([sys.executable, "-m", "emu", "run", str(program),
                           *run_arguments(program)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.stdout == expected, proc.stderr
    assert proc.returncode == expected_status(program), proc.stderr

"""Every example runs in the tests and prints exactly its .out file.

examples/*.py run with Python; examples/**/*.asm and *.c with `emu run` (C
with musl when the .c says so in its first line), each next to its .out.
"""

import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT

SCRIPTS = sorted(EXAMPLES.glob("*.py"))
PROGRAMS = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".asm", ".c")
                  and p.with_suffix(".out").exists())


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_script_prints_its_expected_output(script):
    expected = script.with_suffix(".out").read_text()
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected


def _run_line(program):
    """Arguments for `emu run`, from an optional first line `// emu run: ARGS`."""
    first = program.read_text().splitlines()[0]
    marker = "emu run:"
    return first.split(marker, 1)[1].split() if marker in first else []


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_program_prints_its_expected_output(program):
    expected = program.with_suffix(".out").read_text()
    proc = subprocess.run([sys.executable, "-m", "emu", "run", str(program), *_run_line(program)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.stdout == expected, proc.stderr

"""Every Python example in examples/ runs and prints exactly its .out file."""

import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT

SCRIPTS = sorted(EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_prints_its_expected_output(script):
    expected = script.with_suffix(".out").read_text()
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected

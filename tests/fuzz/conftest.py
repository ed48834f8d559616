"""The fuzz harness's settings and tally.

Each target is a hypothesis test. `make test` runs the short profile (a fixed
number of examples per target, derandomized so CI is repeatable); a long run
sets EMU_FUZZ_TOTAL (cases in all, split evenly over the targets) or
EMU_FUZZ_EXAMPLES (cases per target) and draws fresh random inputs:

    make fuzz N=100000        # EMU_FUZZ_TOTAL=100000 pytest tests/fuzz

Every target records what each case came to (an outcome name) in TALLY, and the
run ends with a table of cases per target and outcome. The invariants every
target checks: no exception outside EmuError, the host process lives, budgets
hold, and after every process the os_MemoryMap and the frame allocator are back
at their boot values.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from pathlib import Path

from hypothesis import HealthCheck, settings

SHORT_EXAMPLES = 30
HERE = Path(__file__).resolve().parent


def targets() -> int:
    """How many fuzz targets there are: the @FUZZ tests in this folder."""
    return sum(path.read_text().count("\n@FUZZ\n") for path in HERE.glob("test_*.py"))


def examples_per_target() -> int | None:
    """Cases per target for a long run, or None for the short profile."""
    if os.environ.get("EMU_FUZZ_EXAMPLES"):
        return int(os.environ["EMU_FUZZ_EXAMPLES"])
    if os.environ.get("EMU_FUZZ_TOTAL"):
        return math.ceil(int(os.environ["EMU_FUZZ_TOTAL"]) / max(targets(), 1))
    return None


LONG = examples_per_target()

settings.register_profile(
    "emu-fuzz", max_examples=LONG or SHORT_EXAMPLES, deadline=None,
    derandomize=not LONG, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much])

FUZZ = settings.get_profile("emu-fuzz")
TALLY: dict[str, Counter] = defaultdict(Counter)


def record(target: str, outcome: str) -> None:
    """Count one case of `target` that ended in `outcome`."""
    TALLY[target][outcome] += 1


def pytest_terminal_summary(terminalreporter):
    if not TALLY:
        return
    terminalreporter.section("fuzz cases per target")
    total = 0
    for target in sorted(TALLY):
        counts = TALLY[target]
        total += sum(counts.values())
        detail = ", ".join(f"{name} {n}" for name, n in counts.most_common())
        terminalreporter.write_line(f"{target:<14} {sum(counts.values()):>7}   {detail}")
    terminalreporter.write_line(f"{'total':<14} {total:>7}")

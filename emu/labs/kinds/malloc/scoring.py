"""The malloc lab's performance index, from utilization and instructions per op.

CS:APP's mdriver scores P = w U + (1 - w) min(1, T / T_libc) with T measured
in wall-clock ops per second, so a score depends on the machine and its load.
Here throughput is counted in guest instructions, exactly, so the same
allocator scores the same everywhere:

    U      mean over the traces of peak payload / peak heap footprint
    I      all instructions of all allocator calls / all ops (each op counted
           once, whichever trace it is in: the long traces weigh more, as in
           CS:APP's total ops / total seconds)
    u      (U - util_low) / (util_high - util_low), clamped to [0, 1]
    t      (ipo_zero - I) / (ipo_zero - ipo_target), clamped to [0, 1]
    P      util_weight u + (1 - util_weight) t
    points floor(P * the test's points + 1e-9)

The thresholds are lab.toml's [scoring] table (read by `thresholds`); any
trace that fails makes P = 0, as in CS:APP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ....errors import UsageError

KEYS = ("util_low", "util_high", "ipo_target", "ipo_zero", "util_weight", "util_floor")


@dataclass(frozen=True)
class Thresholds:
    util_low: float
    util_high: float
    ipo_target: float
    ipo_zero: float
    util_weight: float
    util_floor: float


@dataclass(frozen=True)
class Index:
    util: float               # U
    ipo: float                # I
    util_part: float          # u
    ipo_part: float           # t
    value: float              # P

    def line(self) -> str:
        return (f"utilization {self.util:.1%} (scores {self.util_part:.2f}), "
                f"{self.ipo:.0f} instructions per op (scores {self.ipo_part:.2f}): "
                f"performance index {self.value:.2f}")


def thresholds(options: dict) -> Thresholds:
    """The [scoring] table of lab.toml, checked: one UsageError line when wrong."""
    table = options.get("scoring")
    if not isinstance(table, dict):
        raise UsageError("malloc lab.toml: a [options.scoring] table is needed "
                         f"({', '.join(KEYS)})")
    values = {}
    for key in KEYS:
        value = table.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise UsageError(f"malloc lab.toml: [options.scoring] {key} must be a number >= 0, "
                             f"got {value!r}")
        values[key] = float(value)
    limits = Thresholds(**values)
    if not limits.util_low < limits.util_high <= 1 or limits.util_weight > 1 \
            or not 0 < limits.ipo_target < limits.ipo_zero:
        raise UsageError("malloc lab.toml: [options.scoring] needs util_low < util_high <= 1, "
                         "util_weight <= 1 and 0 < ipo_target < ipo_zero")
    return limits


def index(utils: list[float], instructions: int, ops: int, limits: Thresholds) -> Index:
    """P for traces with utilizations `utils` whose calls ran `instructions`
    over `ops` ops."""
    util = sum(utils) / len(utils) if utils else 0.0
    ipo = instructions / ops if ops else math.inf
    util_part = min(1.0, max(0.0, (util - limits.util_low) / (limits.util_high - limits.util_low)))
    ipo_part = min(1.0, max(0.0, (limits.ipo_zero - ipo) / (limits.ipo_zero - limits.ipo_target)))
    value = limits.util_weight * util_part + (1 - limits.util_weight) * ipo_part
    return Index(util, ipo, util_part, ipo_part, value)


def points(value: float, most: int) -> int:
    """The points of a performance index out of `most`."""
    return int(math.floor(value * most + 1e-9))

"""The debugger's own costs: start-up, and running with `record` on.

  * `emu debug` start-up: `emu debug implicit.c -ex quit --batch` with the
    build cached, as CPU time of the process (user + system; the wall time
    on a shared machine adds whatever else runs) and wall time. Goal: < 1 s.
  * the cost of recording: the same workload (bench/churn.c, musl) run by
    continue at full speed, by continue with `record` on (every instruction
    gets an undo record: CPU context, old bytes of its stores), and by
    Target.step() one instruction at a time. Reported as instructions per
    second and microseconds per instruction.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from emu.debug.debugger import Debugger

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "examples" / "allocators" / "implicit.c"
CHURN = Path(__file__).resolve().parent / "churn.c"
ARGV = ["churn", "3000"]
STEPS = 3000
RUNS = 3
GOAL_STARTUP_S = 1.0
GOAL_RECORDED_PER_S = 100_000


def startup() -> tuple[float, float]:
    """(median CPU seconds, median wall seconds) of `emu debug ... -ex quit --batch`."""
    command = [sys.executable, "-m", "emu", "debug", str(PROGRAM), "-ex", "quit", "--batch"]
    subprocess.run(command, cwd=ROOT, capture_output=True, check=True)    # build, cache
    cpu, wall = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(cpu), statistics.median(wall)


def _debugger(recording: bool) -> Debugger:
    dbg = Debugger.start(CHURN, ARGV, ram_mib=256, libc="musl")
    dbg.target.recording = recording
    return dbg


def recorded_rate() -> tuple[int, float, float]:
    """(instructions, seconds at full speed, seconds recorded) of churn to its exit."""
    dbg = _debugger(True)
    try:
        start = time.perf_counter()
        stop = dbg.target.cont()
        recorded = time.perf_counter() - start
        instructions = dbg.target.history.recorded
        assert stop.kind == "exited", stop
    finally:
        dbg.runner.finish()
    dbg = _debugger(False)
    try:
        start = time.perf_counter()
        dbg.target.cont()
        full = time.perf_counter() - start
    finally:
        dbg.runner.finish()
    return instructions, full, recorded


def step_rate() -> float:
    dbg = _debugger(False)
    try:
        start = time.perf_counter()
        for _ in range(STEPS):
            dbg.target.step()
        return STEPS / (time.perf_counter() - start)
    finally:
        dbg.runner.finish()


def main() -> dict:
    cpu, wall = startup()
    instructions, full, recorded = recorded_rate()
    stepping = step_rate()
    print(f"emu debug (start-up: {PROGRAM.name}, cached build; record: churn.c {ARGV[1]} "
          f"ops, musl, {instructions:,} instructions)")
    print(f"  start-up                        {cpu:8.2f} s CPU  {wall:6.2f} s wall  "
          f"(goal < {GOAL_STARTUP_S:g} s)")
    print(f"  continue, full speed            {instructions / full:12,.0f} insn/s")
    print(f"  continue with record on         {instructions / recorded:12,.0f} insn/s  "
          f"{recorded / instructions * 1e6:6.1f} us/insn  "
          f"(goal >= {GOAL_RECORDED_PER_S:,} insn/s)")
    print(f"  Target.step() one at a time     {stepping:12,.0f} insn/s  "
          f"{1e6 / stepping:6.1f} us/insn")
    return {"startup_cpu_s": cpu, "startup_wall_s": wall,
            "recorded_insn_per_s": instructions / recorded,
            "full_insn_per_s": instructions / full, "step_insn_per_s": stepping}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

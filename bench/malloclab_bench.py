"""The malloc lab's cost: the whole standard suite for `implicit` inside the
machine, timed (mdriver's seconds) and counted (exact instructions per op, the
native counter attached for the second replay), and host time per op against
the same driver and allocator built natively with gcc (-DLAB_NATIVE),
replaying the same packed traces."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from emu.malloclab.image import Settings
from emu.malloclab.lab import Lab
from emu.malloclab.native import build_native, run_native
from emu.malloclab.traces import read_trace

ROOT = Path(__file__).resolve().parent.parent
SUITE = ("amptjp-bal", "cccp-bal", "cp-decl-bal", "expr-bal", "coalescing-bal", "random-bal",
         "random2-bal", "binary-bal", "binary2-bal", "realloc-bal", "realloc2-bal")
ALLOCATOR = "implicit"
COUNT_GOAL_S = 120.0


def standard_traces() -> Path | None:
    for folder in ROOT.parents:
        if (folder / "shared" / "malloclab-traces").is_dir():
            return folder / "shared" / "malloclab-traces"
    return None


def trace_paths() -> list[Path]:
    standard = standard_traces()
    if standard is not None:
        return [standard / f"{name}.rep" for name in SUITE]
    return sorted((ROOT / "examples" / "traces").glob("*.rep"))


def suite_seconds(lab: Lab, traces, settings: Settings) -> tuple[float, float, list]:
    """Wall-clock and CPU seconds of this process for the suite (CPU time says
    what a run costs when other work shares the machine), and the results."""
    start, cpu = time.perf_counter(), time.process_time()
    results = [lab.run(t, settings) for t in traces]
    return time.perf_counter() - start, time.process_time() - cpu, results


def native(lab: Lab, traces) -> float | None:
    """Seconds for the native driver over every trace (None without gcc)."""
    with tempfile.TemporaryDirectory() as tmp:
        binary = build_native(ALLOCATOR, Path(tmp))
        if binary is None:
            return None
        start = time.perf_counter()
        for trace in traces:
            run_native(binary, trace, Settings(), lab.program.signatures, Path(tmp))
        return time.perf_counter() - start


def main() -> dict:
    traces = [read_trace(p) for p in trace_paths()]
    ops = sum(t.num_ops for t in traces)
    lab = Lab.for_allocator(ALLOCATOR)
    timed_s, timed_cpu, timed = suite_seconds(lab, traces, Settings())
    counted_s, counted_cpu, counted = suite_seconds(lab, traces, Settings(count=True))
    invalid = [r.name for r in timed + counted if not r.valid]
    native_s = native(lab, traces)
    insns = sum(sum(r.insns or []) for r in counted)
    print(f"malloc lab, {ALLOCATOR} on {len(traces)} traces ({ops:,} ops, checks and a second "
          f"replay){' INVALID: ' + ', '.join(invalid) if invalid else ''}")
    print(f"  emu, timed replay (secs)         {timed_s:6.2f} s   {timed_s / ops * 1e6:8.1f} us/op"
          f"  (cpu {timed_cpu:.2f} s)")
    print(f"  emu, counted replay (insns)      {counted_s:6.2f} s   {counted_s / ops * 1e6:8.1f} "
          f"us/op  (cpu {counted_cpu:.2f} s; goal < {COUNT_GOAL_S:.0f} s; "
          f"{insns / ops:.1f} insns/op)")
    print(f"  exact counts cost                {counted_s / timed_s:6.2f}x the timed suite")
    if native_s is not None:
        print(f"  native, gcc -O2                  {native_s:6.2f} s   "
              f"{native_s / ops * 1e6:8.1f} us/op")
        print(f"  host time per op, emu/native     {timed_s / native_s:6.1f}x")
    return {"timed_s": timed_s, "counted_s": counted_s, "timed_cpu": timed_cpu,
            "counted_cpu": counted_cpu, "native_s": native_s, "ops": ops}


if __name__ == "__main__":
    main()

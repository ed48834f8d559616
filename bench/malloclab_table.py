"""The README's table of the built-in allocators on the 11 standard CS:APP
traces: utilization per trace, mean utilization, Kops from the timed replay,
exact instructions per op from a counted one, and the score.

    .venv/bin/python bench/malloclab_table.py [--insns-only] [ALLOCATOR...]

Prints one Markdown row per trace and the summary rows (a few minutes per
allocator: each trace runs twice, timed and counted; --insns-only skips the
timed runs, whose figures depend on the machine and its load)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.malloclab_bench import SUITE, trace_paths  # noqa: E402
from emu.malloclab.build import BUILTIN  # noqa: E402
from emu.malloclab.image import Settings  # noqa: E402
from emu.malloclab.lab import Lab  # noqa: E402
from emu.malloclab.report import summary  # noqa: E402
from emu.malloclab.traces import read_trace  # noqa: E402


def column(name: str, traces, timed_too: bool = True) -> dict:
    lab = Lab.for_allocator(name)
    counted = [lab.run(t, Settings(count=True)) for t in traces]
    timed = [lab.run(t) for t in traces] if timed_too else counted
    cells = [f"{r.util:.1%}" if r.valid else "invalid" for r in timed]
    secs, insns = summary(timed), summary(counted)
    valid = sum(r.valid for r in timed)
    return {"cells": cells,
            "util": f"{secs['util']:.1%}" + ("" if valid == len(timed) else f" ({valid} valid)"),
            "kops": f"{secs['kops']:.0f}",
            "insns": f"{insns['insns_per_op']:.0f}" if insns["counted"] else "-",
            "score": f"{secs['score']:.0f}" if secs["valid"] else "invalid",
            "score_insns": f"{insns['score']:.0f}" if insns["valid"] else "invalid"}


def main(args) -> None:
    timed_too = "--insns-only" not in args
    names = [a for a in args if a != "--insns-only"] or list(BUILTIN)
    traces = [read_trace(p) for p in trace_paths()]
    columns = {name: column(name, traces, timed_too) for name in names}
    print("| trace | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for i, name in enumerate(SUITE[:len(traces)]):
        print(f"| {name.removesuffix('-bal')} | " +
              " | ".join(columns[n]["cells"][i] for n in names) + " |")
    for key, label in (("util", "**mean util**"), ("kops", "**Kops**"),
                       ("insns", "**insns/op**"), ("score", "**score** (Kops)"),
                       ("score_insns", "**score** (insns)")):
        print(f"| {label} | " + " | ".join(columns[n][key] for n in names) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])

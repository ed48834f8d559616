"""Scoring and reporting a malloc-lab run, as CS:APP's mdriver does.

    util   peak live payload / peak footprint, where the footprint is the heap
           (mem_heapsize) plus what the allocator mapped with mmap. For an
           allocator that only uses mem_sbrk this is CS:APP's definition
           (peak payload / final heap size), since its heap never shrinks.
    Kops   ops / seconds of the timing run (in the guest, without the checks).
    score  P = 100 * (0.6 * U + 0.4 * min(1, T / Tref)), U the mean util, T the
           total ops over the total seconds; 0 when any trace is invalid.
"""

from __future__ import annotations

from .lab import TraceResult

UTIL_WEIGHT = 0.6
DEFAULT_TREF = 200.0          # Kops/s; see the README for where this comes from


def summary(results: list[TraceResult], tref: float = DEFAULT_TREF) -> dict:
    valid = [r for r in results if r.valid]
    util = sum(r.util for r in valid) / len(valid) if valid else 0.0
    ops = sum(r.ops for r in valid)
    secs = sum(r.secs for r in valid)
    kops = ops / secs / 1000 if secs > 0 else 0.0
    all_valid = bool(results) and len(valid) == len(results)
    util_points = 100 * UTIL_WEIGHT * util
    speed_points = 100 * (1 - UTIL_WEIGHT) * min(1.0, kops / tref) if tref > 0 else 0.0
    score = util_points + speed_points if all_valid else 0.0
    return {"util": util, "kops": kops, "ops": ops, "secs": secs, "score": score,
            "util_points": util_points, "speed_points": speed_points,
            "valid": all_valid, "tref": tref}


def to_json(results: list[TraceResult], tref: float = DEFAULT_TREF) -> dict:
    s = summary(results, tref)
    return {"traces": [r.to_json() for r in results], "util": s["util"], "kops": s["kops"],
            "score": s["score"]}


def table_lines(allocator: str, results: list[TraceResult], tref: float = DEFAULT_TREF) -> list[str]:
    """mdriver's table, then the errors, then the score."""
    lines = [f"Results for {allocator}:",
             f"{'trace':<16} {'valid':>5} {'util':>6} {'ops':>8} {'secs':>10} {'Kops':>8}"]
    for r in results:
        if r.valid:
            lines.append(f"{r.name:<16} {'yes':>5} {r.util:>6.1%} {r.ops:>8} {r.secs:>10.6f} "
                         f"{r.kops:>8.1f}")
        else:
            lines.append(f"{r.name:<16} {'no':>5} {'-':>6} {r.ops:>8} {'-':>10} {'-':>8}")
    s = summary(results, tref)
    lines.append(f"{'Total':<16} {'':>5} {s['util']:>6.1%} {s['ops']:>8} {s['secs']:>10.6f} "
                 f"{s['kops']:>8.1f}")
    errors = [r.error for r in results if not r.valid]
    if errors:
        lines.append("")
        lines += [f"ERROR: {e}" for e in errors]
        lines.append(f"Terminated with {len(errors)} invalid trace(s): no score.")
    else:
        lines.append("")
        lines.append(f"Perf index = {s['util_points']:.0f} (util) + {s['speed_points']:.0f} "
                     f"(thru, Tref {tref:g} Kops) = {s['score']:.0f}/100")
    return lines

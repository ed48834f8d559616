"""Scoring and reporting a malloc-lab run, as CS:APP's mdriver does.

    util   peak live payload / peak footprint, where the footprint is the heap
           (mem_heapsize) plus what the allocator mapped with mmap. For an
           allocator that only uses mem_sbrk this is CS:APP's definition
           (peak payload / final heap size), since its heap never shrinks.
    thru   --throughput secs (mdriver's): Kops = ops / seconds of the timing
           replay inside the guest; it differs between machines and runs.
           --throughput insns: instructions per op, counted exactly (each op's
           allocator call, emu/icount.py); the same on every machine and run.
    score  P = 100 * (0.6 * U + 0.4 * min(1, T / Tref)), U the mean util; T the
           total ops over the total seconds (Kops) against Tref Kops, or, counted,
           Tref instructions per op against the mean instructions per op.
           0 when any trace is invalid.
"""

from __future__ import annotations

from .lab import TraceResult

UTIL_WEIGHT = 0.6
DEFAULT_TREF = 200.0          # Kops/s; see the README for where this comes from
DEFAULT_TREF_INSNS = 200.0    # instructions per op; see the README


def summary(results: list[TraceResult], tref: float = DEFAULT_TREF,
            tref_insns: float = DEFAULT_TREF_INSNS) -> dict:
    valid = [r for r in results if r.valid]
    util = sum(r.util for r in valid) / len(valid) if valid else 0.0
    ops = sum(r.ops for r in valid)
    secs = sum(r.secs for r in valid)
    kops = ops / secs / 1000 if secs > 0 else 0.0
    counted = bool(valid) and all(r.insns is not None for r in valid)
    insns = sum(sum(r.insns) for r in valid) if counted else 0
    insns_per_op = insns / ops if counted and ops else 0.0
    if counted:
        speed = min(1.0, tref_insns / insns_per_op) if insns_per_op > 0 else 1.0
    else:
        speed = min(1.0, kops / tref) if tref > 0 else 0.0
    all_valid = bool(results) and len(valid) == len(results)
    util_points = 100 * UTIL_WEIGHT * util
    speed_points = 100 * (1 - UTIL_WEIGHT) * speed
    score = util_points + speed_points if all_valid else 0.0
    return {"util": util, "kops": kops, "ops": ops, "secs": secs, "score": score,
            "util_points": util_points, "speed_points": speed_points, "valid": all_valid,
            "tref": tref, "counted": counted, "insns": insns, "insns_per_op": insns_per_op,
            "tref_insns": tref_insns}


def to_json(results: list[TraceResult], tref: float = DEFAULT_TREF,
            tref_insns: float = DEFAULT_TREF_INSNS) -> dict:
    s = summary(results, tref, tref_insns)
    out = {"traces": [r.to_json() for r in results], "util": s["util"], "kops": s["kops"],
           "score": s["score"]}
    if s["counted"]:
        out.update(insns=s["insns"], insns_per_op=s["insns_per_op"])
    return out


def table_lines(allocator: str, results: list[TraceResult], tref: float = DEFAULT_TREF,
                tref_insns: float = DEFAULT_TREF_INSNS) -> list[str]:
    """mdriver's table, then the errors, then the score."""
    s = summary(results, tref, tref_insns)
    counted = any(r.insns is not None for r in results)
    lines = [f"Results for {allocator}:", _header(counted)]
    lines += [_row(r, counted) for r in results]
    if counted:
        lines.append(f"{'Total':<16} {'':>5} {s['util']:>6.1%} {s['ops']:>8} "
                     f"{s['insns']:>12} {s['insns_per_op']:>10.1f}")
    else:
        lines.append(f"{'Total':<16} {'':>5} {s['util']:>6.1%} {s['ops']:>8} "
                     f"{s['secs']:>10.6f} {s['kops']:>8.1f}")
    errors = [r.error for r in results if not r.valid]
    lines.append("")
    if errors:
        lines += [f"ERROR: {e}" for e in errors]
        lines.append(f"Terminated with {len(errors)} invalid trace(s): no score.")
    elif counted:
        lines.append(f"Perf index = {s['util_points']:.0f} (util) + {s['speed_points']:.0f} "
                     f"(thru, Tref {tref_insns:g} insns/op) = {s['score']:.0f}/100")
    else:
        lines.append(f"Perf index = {s['util_points']:.0f} (util) + {s['speed_points']:.0f} "
                     f"(thru, Tref {tref:g} Kops) = {s['score']:.0f}/100")
    return lines


def _header(counted: bool) -> str:
    if counted:
        return f"{'trace':<16} {'valid':>5} {'util':>6} {'ops':>8} {'insns':>12} {'insns/op':>10}"
    return f"{'trace':<16} {'valid':>5} {'util':>6} {'ops':>8} {'secs':>10} {'Kops':>8}"


def _row(r: TraceResult, counted: bool) -> str:
    head = f"{r.name:<16} {'yes' if r.valid else 'no':>5} "
    if not r.valid:
        width = (12, 10) if counted else (10, 8)
        return head + f"{'-':>6} {r.ops:>8} {'-':>{width[0]}} {'-':>{width[1]}}"
    if counted:
        return head + f"{r.util:>6.1%} {r.ops:>8} {sum(r.insns or []):>12} " \
                      f"{r.insns_per_op or 0:>10.1f}"
    return head + f"{r.util:>6.1%} {r.ops:>8} {r.secs:>10.6f} {r.kops:>8.1f}"

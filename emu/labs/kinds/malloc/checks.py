"""The malloc lab's tests: each takes (spec, prepared) and returns an Outcome.

    public-correctness      the public traces replay correctly (driver checks)
    checkheap-clean         mm_checkheap, called after every op, passes them
    utilization-floor       mean utilization on the public traces >= util_floor
    public-performance      the performance index (scoring.py) on them
    checker-catches-damage  five seeded damages (corrupt.py): each must be caught
    hidden-correctness      this student's hidden traces (tracegen.py)
    hidden-performance      the performance index on them
    large-heap              a hidden trace with about 12 MiB live
    hidden-checker          one more damage, at a hidden op of a hidden trace

Every replay counts instructions under an instruction budget ([budgets]
trace_instructions, per pass), so a verdict never depends on the machine.
A trace is replayed once per purpose and remembered (Prepared.result), so
correctness and performance share their runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ....machine import Budget
from ....malloclab.corrupt import applicable_kinds, run_corruption
from ....malloclab.image import Settings
from ....malloclab.traces import Trace
from ...prng import Prng
from ..base import Outcome, full, none
from . import scoring
from .pictures import heap_pictures


@dataclass
class Prepared:
    """What the tests share: the built allocator, the traces, the runs so far."""
    lab: object                        # emu.malloclab.lab.Lab
    public: list[Trace]
    hidden: list[Trace] | None         # None without the course key
    large: Trace | None
    limits: scoring.Thresholds
    budget: Budget
    public_damage: list[dict]          # {"trace", "kind", "from_op", "seed"}
    hidden_damage: list[dict]
    submission: Path
    runs: dict = field(default_factory=dict)
    images: list = field(default_factory=list)

    def result(self, trace: Trace, check_heap: bool = False):
        """The counted replay of `trace` (or the replay with mm_checkheap after
        every op), run once."""
        key = (trace.name, check_heap)
        if key not in self.runs:
            settings = Settings(check_heap=check_heap, count=not check_heap)
            self.runs[key] = self.lab.run(trace, settings, budget=self.budget)
        return self.runs[key]

    def trace_named(self, name: str) -> Trace:
        for trace in self.public + (self.hidden or []) + ([self.large] if self.large else []):
            if trace.name == name:
                return trace
        raise KeyError(name)


def _repro(trace: Trace, op: int | None, test: str, **extra) -> dict | None:
    if op is None:
        return None
    return {"trace": trace.name, "op": op, "test": test, **extra}


def _first_error(results) -> str:
    return next(r.error for r in results if not r.valid)


# -- correctness -------------------------------------------------------------------------

def _correctness(spec, prepared: Prepared, traces: list[Trace], hidden: bool) -> Outcome:
    results = [prepared.result(t) for t in traces]
    good = sum(r.valid for r in results)
    earned = spec.points * good // len(results)
    if good == len(results):
        return full(spec, f"all {good} traces replay correctly")
    failed = next(r for r in results if not r.valid)
    names = ", ".join(r.name for r in results if not r.valid)
    message = (f"{len(results) - good} of {len(results)} traces fail ({names}); the first "
               f"failure:\n{failed.error}")
    if "not aligned to 16 bytes" in failed.error:
        message += ("\nThis lab needs 16-byte alignment, as malloc gives on x86-64 "
                    "(alignof(max_align_t)); --align 8 is not an option in the lab.")
    return Outcome(earned, message, repro=_repro(failed.trace, failed.failed_op, spec.name,
                                                 hidden=hidden))


def check_public_correctness(spec, prepared: Prepared) -> Outcome:
    """The public traces, with a picture of each one's heap (PrairieLearn's images)."""
    outcome = _correctness(spec, prepared, prepared.public, hidden=False)
    outcome.images = heap_pictures([prepared.result(t) for t in prepared.public])
    return outcome


def check_hidden_correctness(spec, prepared: Prepared) -> Outcome:
    return _correctness(spec, prepared, prepared.hidden or [], hidden=True)


def check_large_heap(spec, prepared: Prepared) -> Outcome:
    result = prepared.result(prepared.large)
    if result.valid:
        return full(spec, f"peak heap {result.peak_footprint / 2 ** 20:.1f} MiB, "
                          f"utilization {result.util:.1%}")
    return none(f"the large-heap trace (up to about 12 MiB live, blocks of 64 KiB to 1 MiB) "
                f"fails:\n{result.error}",
                repro=_repro(result.trace, result.failed_op, spec.name, hidden=True))


# -- the checker on clean heaps ----------------------------------------------------------

def check_checkheap_clean(spec, prepared: Prepared) -> Outcome:
    """mm_checkheap after every op of each public trace that replays correctly."""
    if prepared.lab.program.signatures.checkheap_returns is None:
        return none("your allocator defines no mm_checkheap: write `bool mm_checkheap(int lineno)` "
                    "(true when the heap is consistent)")
    correct = [t for t in prepared.public if prepared.result(t).valid]
    if not correct:
        return none("no public trace replays correctly, so no correct heap could be checked "
                    "(see the correctness test)")
    for trace in correct:
        checked = prepared.result(trace, check_heap=True)
        if not checked.valid:
            return none(f"with mm_checkheap called after every op, {trace.name} fails "
                        f"(a correct heap must pass):\n{checked.error}",
                        repro=_repro(trace, checked.failed_op, spec.name, check_heap=True))
    return full(spec, f"mm_checkheap passed every heap of the {len(correct)} public traces "
                      f"that replay correctly")


# -- utilization and performance ---------------------------------------------------------

def check_utilization_floor(spec, prepared: Prepared) -> Outcome:
    results = [prepared.result(t) for t in prepared.public]
    if not all(r.valid for r in results):
        return none("every public trace must replay correctly first:\n" + _first_error(results))
    mean = sum(r.util for r in results) / len(results)
    floor = prepared.limits.util_floor
    per_trace = ", ".join(f"{r.name} {r.util:.1%}" for r in results)
    if mean >= floor:
        return full(spec, f"mean utilization {mean:.1%} (floor {floor:.0%})")
    return none(f"mean utilization {mean:.1%} is under the floor of {floor:.0%} "
                f"({per_trace}): does mm_free merge free neighbours?")


def _performance(spec, prepared: Prepared, traces: list[Trace]) -> Outcome:
    results = [prepared.result(t) for t in traces]
    if not all(r.valid for r in results):
        return none("the performance index is 0 while a trace fails (as in CS:APP):\n"
                    + _first_error(results))
    index = scoring.index([r.util for r in results], sum(sum(r.insns) for r in results),
                          sum(r.ops for r in results), prepared.limits)
    earned = scoring.points(index.value, spec.points)
    table = "\n".join(f"  {r.name:14} utilization {r.util:6.1%}  {r.insns_per_op:8.1f} "
                      f"instructions per op" for r in results)
    limits = prepared.limits
    goal = (f"full marks at utilization {limits.util_high:.0%} and {limits.ipo_target:.0f} "
            f"instructions per op, none at {limits.util_low:.0%} and {limits.ipo_zero:.0f} "
            f"(weights {limits.util_weight:.1f} and {1 - limits.util_weight:.1f})")
    return Outcome(earned, f"{index.line()}; {goal}", output=table)


def check_public_performance(spec, prepared: Prepared) -> Outcome:
    return _performance(spec, prepared, prepared.public)


def check_hidden_performance(spec, prepared: Prepared) -> Outcome:
    return _performance(spec, prepared, prepared.hidden or [])


# -- the checker on damaged heaps --------------------------------------------------------

CATEGORIES = (("allocated-bit",), ("size", "footer"), ("unlink",), ("adjacent-free",),
              ("outside-pointer",))


def kind_for(slot: int, seed: str, layout) -> str:
    """The damage of plan slot `slot` (CATEGORIES, in order); when the layout
    has no place for it (an implicit list has no links to cut), another damage
    the layout does allow, chosen by the seed."""
    usable = applicable_kinds(layout)
    options = [k for k in CATEGORIES[slot % len(CATEGORIES)] if k in usable] or usable
    return Prng.from_bytes(bytes.fromhex(seed) + b"\0kind").choice(options)


def _damages(spec, prepared: Prepared, plan: list[dict]) -> Outcome:
    layout = prepared.lab.program.layout
    if prepared.lab.program.signatures.checkheap_returns is None:
        return none("your allocator defines no mm_checkheap, so nothing can catch the damage")
    if layout is None:
        return none("no mm.layout.toml: declare your block layout so the grader can damage "
                    "your heap where your metadata is (see the README)")
    share = spec.points // len(plan)
    lines, missed, repro = [], [], None
    for damage in plan:
        kind = kind_for(damage["slot"], damage["seed"], layout)
        trace = prepared.trace_named(damage["trace"])
        result = run_corruption(prepared.lab, trace, kind, damage["from_op"],
                                Prng.from_bytes(bytes.fromhex(damage["seed"])),
                                budget=prepared.budget)
        line = f"{kind} on {trace.name}: {result.message}"
        lines.append(line)
        if result.verdict not in ("caught", "not-injected"):
            missed.append(line)
            if repro is None:
                repro = _repro(trace, result.op, spec.name, damage=kind,
                               from_op=damage["from_op"], seed=damage["seed"])
    if not missed:
        return Outcome(spec.points, f"mm_checkheap caught all {len(plan)} damages",
                       "\n".join(lines))
    earned = share * (len(plan) - len(missed))
    return Outcome(earned, f"mm_checkheap missed {len(missed)} of {len(plan)} damages; "
                           f"the first: {missed[0]}", "\n".join(lines), repro)


def check_damage(spec, prepared: Prepared) -> Outcome:
    return _damages(spec, prepared, prepared.public_damage)


def check_hidden_damage(spec, prepared: Prepared) -> Outcome:
    return _damages(spec, prepared, prepared.hidden_damage)


TESTS = {
    "public-correctness": check_public_correctness,
    "checkheap-clean": check_checkheap_clean,
    "utilization-floor": check_utilization_floor,
    "public-performance": check_public_performance,
    "checker-catches-damage": check_damage,
    "hidden-correctness": check_hidden_correctness,
    "hidden-performance": check_hidden_performance,
    "large-heap": check_large_heap,
    "hidden-checker": check_hidden_damage,
}

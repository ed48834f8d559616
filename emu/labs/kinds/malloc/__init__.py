"""The malloc lab: mm.c (CS:APP or CMU conventions) or mm.asm, and its heap checker.

A variant draws (from the handout stream) a trace of the student's own,
tests/yours.rep, and the plan of the public heap-checker test: five damages,
each on a public trace from a seeded op on. The hidden stream, which needs
the course key, draws three hidden traces, the large-heap trace and one more
damage. Every trace comes from tracegen.py, the generator the public traces
were made with: a student cannot recognise a hidden trace by its shape.

    submission/  mm.c (or mm.asm), mm.layout.toml (the block layout), emu-lab.json

The tests are in checks.py; the performance index in scoring.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from ....errors import AssemblyError, CompileError, UsageError
from ....machine import Budget
from ....malloclab.build import build_lab
from ....malloclab.image import Settings
from ....malloclab.lab import Lab
from ....malloclab.traces import Trace, parse_trace
from ...prng import Prng
from ...results import Standing
from ...variants import handout_variant
from ..base import LabKind, ReproSession, SubmissionError
from . import scoring
from .checks import TESTS, Prepared
from .tracegen import generate, generate_text

SOURCES = ("mm.c", "mm.asm")
LAYOUT = "mm.layout.toml"
YOURS = "yours"
DAMAGE_TRACES = ("program", "random", "binary", YOURS)   # traces with free lists to damage
OWN_FAMILIES = ("program", "random", "binary")
HIDDEN_FAMILIES = ("coalescing", "realloc", "program", "random", "binary")
DAMAGES = 5
SOURCE_LINE = re.compile(r"^\S*?([^/\s]+\.(?:c|h|asm)):(\d+)")


class MallocKind(LabKind):
    name = "malloc"
    TESTS = TESTS

    def draw_params(self, config, variant) -> dict:
        knobs = config.variant
        own = variant.stream("yours")
        params = {"yours": {"family": own.choice(OWN_FAMILIES),
                            "ops": _whole(knobs, "yours_ops"), "seed": own.bytes(16).hex()}}
        plan = variant.stream("damage")
        params["damage"] = [{"slot": slot, "trace": plan.choice(DAMAGE_TRACES),
                             "at": plan.between(250, 600), "seed": plan.bytes(16).hex()}
                            for slot in range(DAMAGES)]
        return params

    def template_values(self, config, variant, params) -> dict[str, str]:
        limits = scoring.thresholds(config.options)
        return {"util_floor": f"{limits.util_floor:.0%}", "util_low": f"{limits.util_low:.0%}",
                "util_high": f"{limits.util_high:.0%}",
                "ipo_target": f"{limits.ipo_target:.0f}", "ipo_zero": f"{limits.ipo_zero:.0f}",
                "util_weight": f"{limits.util_weight:.1f}",
                "ipo_weight": f"{1 - limits.util_weight:.1f}",
                "yours_family": params["yours"]["family"]}

    def generated_files(self, config, variant, params) -> dict[str, str]:
        return {f"tests/{YOURS}.rep": _own_text(params)}

    def prepare(self, lab, variant, params, submission: Path) -> Prepared:
        program = _build(submission)
        public = _public_traces(lab, params)
        hidden = large = None
        hidden_damage = []
        if variant.has_hidden:
            hidden, large, hidden_damage = _hidden(lab.config, variant)
        budget = Budget(instructions=lab.config.budget("trace_instructions"))
        by_name = {t.name: t for t in public}
        public_damage = [{"slot": d["slot"], "trace": d["trace"], "seed": d["seed"],
                          "from_op": by_name[d["trace"]].num_ops * d["at"] // 1000}
                         for d in params["damage"]]
        return Prepared(program, public, hidden, large, scoring.thresholds(lab.config.options),
                        budget, public_damage, hidden_damage, submission)

    def standings(self, prepared: Prepared) -> list[Standing]:
        """The leaderboard: mean utilization and instructions per op on the
        public traces, when all of them replay correctly (the runs are the
        performance test's, remembered)."""
        results = [prepared.runs.get((t.name, False)) for t in prepared.public]
        if not all(r is not None and r.valid for r in results):
            return []
        index = scoring.index([r.util for r in results], sum(sum(r.insns) for r in results),
                              sum(r.ops for r in results), prepared.limits)
        return [Standing("utilization (%)", round(100 * index.util, 2), "desc"),
                Standing("instructions per op", round(index.ipo, 1), "asc")]

    def repro(self, lab, record: dict, submission: Path) -> ReproSession:
        return _repro(lab, record, submission)


def _whole(knobs: dict, key: str) -> int:
    value = knobs.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 12:
        raise UsageError(f"malloc lab.toml: [variant] {key} must be a whole number >= 12, "
                         f"got {value!r}")
    return value


def _own_text(params: dict) -> str:
    own = params["yours"]
    return generate_text(own["family"], Prng.from_bytes(bytes.fromhex(own["seed"])), own["ops"])


def _build(submission: Path) -> Lab:
    """The student's allocator linked with the driver; SubmissionError (no
    attempt charged) when it does not build, with the compiler's lines."""
    source = next((submission / name for name in SOURCES if (submission / name).is_file()), None)
    if source is None:
        raise SubmissionError([f"missing file: mm.c (or mm.asm) in {submission.name or '.'}"])
    try:
        program = build_lab(str(source))
    except (CompileError, AssemblyError) as exc:
        raise SubmissionError(_compiler_lines(str(exc))) from None
    except UsageError as exc:
        raise SubmissionError([str(exc).replace(str(submission) + "/", "")]) from None
    return Lab(program, spec=source.name)


def _compiler_lines(text: str, most: int = 20) -> list[str]:
    """The compiler's message with the folder part of each file name cut off
    (a temporary folder would make reports differ between machines)."""
    lines = []
    for line in text.splitlines():
        match = SOURCE_LINE.match(line)
        lines.append(f"{match.group(1)}:{match.group(2)}" + line[match.end():] if match else line)
    return [line for line in lines if line.strip()][:most] or ["the build failed"]


def _public_traces(lab, params) -> list[Trace]:
    """The lab's tests/*.rep, then the student's own, named as in the handout."""
    traces = [parse_trace(path.read_text(), f"tests/{path.name}")
              for path in sorted((lab.root / "tests").glob("*.rep"))]
    return traces + [parse_trace(_own_text(params), f"tests/{YOURS}.rep")]


def _hidden(config, variant):
    """Three hidden traces, the large-heap trace and the hidden damage."""
    knobs = config.variant
    rng = variant.hidden_stream("traces")
    first = rng.choice(OWN_FAMILIES)                     # one with free lists to damage
    families = [first] + rng.sample([f for f in HIDDEN_FAMILIES if f != first], 2)
    ops = _whole(knobs, "hidden_ops")
    hidden = [generate(family, rng.child(f"hidden-{i}"), ops, f"hidden-{i + 1}-{family}")
              for i, family in enumerate(families)]
    large = generate("large", rng.child("large"), _whole(knobs, "large_ops"), "large-heap")
    damage_rng = variant.hidden_stream("damage")
    target = hidden[0]
    damage = [{"slot": damage_rng.below(DAMAGES), "trace": target.name,
               "from_op": target.num_ops * damage_rng.between(250, 600) // 1000,
               "seed": damage_rng.bytes(16).hex()}]
    return hidden, large, damage


# -- repro -----------------------------------------------------------------------------------

def _repro(lab, record: dict, submission: Path) -> ReproSession:
    from ....malloclab.debugging import open_at_op      # the debugger loads for repro only
    case = record["case"]
    variant = handout_variant(record["variant"])
    params = MallocKind().draw_params(lab.config, variant)
    traces = {t.name: t for t in _public_traces(lab, params)}
    if variant.has_hidden:
        hidden, large, _ = _hidden(lab.config, variant)
        traces.update({t.name: t for t in hidden + [large]})
    trace = traces.get(case.get("trace"))
    if trace is None:
        raise UsageError(f"the failure is on trace {case.get('trace')}, which only the grader "
                         f"has (a hidden trace: ask for it after the deadline)")
    program = _build(submission)
    op = int(case["op"])
    banner = [f"{record['test']}: {trace.name}, op {op} ({trace.ops[op].text()})."]
    if "damage" in case:
        banner.append(f"The grader damaged the heap after this op ({case['damage']}); here is "
                      f"the clean heap before the op: `finish` runs it, `heap` shows the "
                      f"blocks your mm_checkheap should have checked.")
    dbg, said = open_at_op(program, trace, Settings(check_heap=bool(case.get("check_heap"))), op)
    return ReproSession(banner + [said], kernel_call=dbg)

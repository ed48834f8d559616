"""The memmap lab's tests: one function per test named in lab.toml.

Each test builds a fresh machine with the variant's RAM, loads variant.asm
(the variant's constants) and the three routines, and replays seeded cases
(replay.py). The first difference fails the test with a message and a repro
record; a test passes only when every call matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernel import layout

from ....machine import Machine
from ...measure import InstructionCounter
from ..base import Outcome, full, none
from ..calls import DF, RFLAGS_CLEAR, call_routine, canaries, clobbered
from . import cases as gen
from .replay import OUTPUT, ROUTINES, encode_runs, inputs, replay
from .scenarios import contract_cases, entry_one_cases, scan_cases

ROUTINE_FILES = ("os_mem_allocate.asm", "os_mem_release.asm", "os_mem_get_free.asm")


@dataclass
class Prepared:
    """What every memmap test needs: the variant and the student's files."""
    params: dict
    variant: object
    variant_source: str
    files: list[Path]
    budgets: dict

    @property
    def chunks(self) -> int:
        return self.params["ram_mib"] // 2

    def call_budget(self) -> int:
        return self.budgets["call_base"] + self.budgets["call_per_chunk"] * self.chunks


def machine_for(prepared: Prepared) -> tuple[Machine, list]:
    """A fresh machine with the variant's RAM, constants and routines."""
    machine = Machine(ram_mib=prepared.params["ram_mib"])
    machine.load_source(prepared.variant_source, file="variant.asm")
    programs = [machine.load(path) for path in prepared.files]
    return machine, programs


def _run_cases(prepared: Prepared, spec, case_list, rng, rflags=RFLAGS_CLEAR,
               after_call=None) -> Outcome:
    machine, _ = machine_for(prepared)
    for case in case_list:
        mismatch = replay(machine, prepared.params, case, rng, prepared.call_budget(),
                          rflags, after_call)
        if mismatch is not None:
            return none(mismatch.message, mismatch.details, mismatch.repro)
    return full(spec, f"{len(case_list)} cases, every call right")


def _stream(prepared: Prepared, spec):
    """The test's own random stream: hidden tests draw from the hidden seed."""
    variant = prepared.variant
    return variant.hidden_stream(spec.name) if spec.hidden else variant.stream(spec.name)


# -- the model tests --------------------------------------------------------------------------

def check_allocate(spec, prepared: Prepared) -> Outcome:
    """os_mem_allocate alone on seeded maps: small counts, exact fits, too many."""
    rng = _stream(prepared, spec)
    return _run_cases(prepared, spec, gen.allocate_cases(rng, prepared.chunks), rng)


def check_release(spec, prepared: Prepared) -> Outcome:
    """os_mem_release on seeded maps: used, partly used, free and malformed ranges."""
    rng = _stream(prepared, spec)
    return _run_cases(prepared, spec, gen.release_cases(rng, prepared.chunks), rng)


def check_get_free(spec, prepared: Prepared) -> Outcome:
    """os_mem_get_free on seeded maps from nearly empty to nearly full."""
    rng = _stream(prepared, spec)
    return _run_cases(prepared, spec, gen.get_free_cases(rng, prepared.chunks), rng)


def check_sequences(spec, prepared: Prepared) -> Outcome:
    """Mixed call sequences from the variant's starting map."""
    rng = _stream(prepared, spec)
    start = gen.start_map(prepared.params["start_used"], prepared.chunks)
    return _run_cases(prepared, spec, gen.sequence_cases(
        rng, start, prepared.chunks, count=6, length=40, title="sequence from the starting map"),
        rng)


def check_hidden_sequences(spec, prepared: Prepared) -> Outcome:
    """Longer sequences on maps the student has never seen (hidden seed)."""
    rng = _stream(prepared, spec)
    case_list = []
    for i in range(8):
        entries = gen.random_map(rng, prepared.chunks, used_percent=rng.between(20, 70))
        case_list += gen.sequence_cases(rng, entries, prepared.chunks, count=1, length=80,
                                        title=f"long sequence {i + 1}, call")
    return _run_cases(prepared, spec, case_list, rng)


def check_edge_maps(spec, prepared: Prepared) -> Outcome:
    """All free, all used, alternating, free only at the top; exact and over-large counts."""
    rng = _stream(prepared, spec)
    chunks = prepared.chunks
    used, free = bytes([gen.USED]), bytes([gen.FREE])
    maps = {"all free": used + free * (chunks - 1),
            "all used": used * chunks,
            "alternating": used + (free + used) * (chunks // 2),
            "free only at the top": used * (chunks - 3) + free * 3}
    case_list = []
    for title, entries in maps.items():
        entries = entries[:chunks]
        counts = [1, 2, 3, chunks - 1, chunks, gen.largest_free(entries),
                  gen.largest_free(entries) + 1]
        ops = [(gen.GET_FREE,)] + [(gen.ALLOCATE, n) for n in counts] + [(gen.GET_FREE,)]
        case_list.append(gen.Case(f"edge map '{title}'", entries, ops))
    return _run_cases(prepared, spec, case_list, rng)


# -- the contract tests ----------------------------------------------------------------------

def check_entries(spec, prepared: Prepared) -> Outcome:
    """Entry 1 is handed out when it is the only fit; entry 0 never."""
    rng = _stream(prepared, spec)
    return _run_cases(prepared, spec, entry_one_cases(prepared.chunks), rng)


def check_registers(spec, prepared: Prepared) -> Outcome:
    """Every register but the output keeps its canary, on calls that work."""
    rng = _stream(prepared, spec)

    def preserved(op, before, result):
        changed = clobbered(before, result.registers, {OUTPUT[op[0]]})
        if changed:
            return ("the answer was right but these registers changed (only "
                    f"{OUTPUT[op[0]]} may): {'; '.join(changed)}")
        return ""
    outcome = _run_cases(prepared, spec, contract_cases(rng, prepared.chunks) * 2, rng,
                         after_call=preserved)
    if outcome.points == 0 and "these registers changed" not in outcome.message:
        outcome.message += (" (registers are credited on calls that work: these maps have "
                            "one right answer under every variant's rules)")
    return outcome


def check_direction_flag(spec, prepared: Prepared) -> Outcome:
    """Called with DF set: the answers and the map are right, and DF is clear after."""
    rng = _stream(prepared, spec)

    def cleared(op, before, result):
        if result.registers["rflags"] & DF:
            return "it returned with DF set (the caller had set it; clear it with cld)"
        return ""
    outcome = _run_cases(prepared, spec, contract_cases(rng, prepared.chunks), rng,
                         rflags=RFLAGS_CLEAR | DF, after_call=cleared)
    if outcome.points == 0:
        outcome.message = ("called with the direction flag set (DF = 1): " + outcome.message
                           + " (rep stosb and lodsb run backwards when DF is set: clear it "
                             "with cld before using them)")
    return outcome


def check_budget(spec, prepared: Prepared) -> Outcome:
    """The longest scans finish within the per-call instruction budget."""
    rng = _stream(prepared, spec)
    outcome = _run_cases(prepared, spec, scan_cases(prepared.chunks, 2), rng)
    if outcome.points == spec.points:
        outcome.message = (f"every call returned within {prepared.call_budget():,} "
                           f"instructions")
    return outcome


def check_performance(spec, prepared: Prepared) -> Outcome:
    """Instructions per map entry on the longest scans, in buckets."""
    rng = _stream(prepared, spec)
    machine, programs = machine_for(prepared)
    count = min(16, prepared.chunks // 4)
    worst, worst_case, worst_repro = 0, None, None
    for case in scan_cases(prepared.chunks, count):
        mismatch = replay(machine, prepared.params, case, rng, prepared.call_budget())
        if mismatch is not None:
            return none(f"performance is measured on calls that work: {mismatch.message}",
                        mismatch.details, mismatch.repro)
        op = case.ops[0]
        machine.ram.write_data(layout.MEMORY_MAP, case.entries)
        registers = canaries(rng, inputs(op))
        with InstructionCounter(machine, programs) as counter:
            call_routine(machine, ROUTINES[op[0]], registers, prepared.call_budget())
        if counter.count > worst:
            worst, worst_case = counter.count, case
            worst_repro = {"ram_mib": prepared.params["ram_mib"],
                           "entries": encode_runs(case.entries), "call": list(op),
                           "registers": registers, "rflags": RFLAGS_CLEAR}
    outcome = _bucket(spec, prepared, worst, worst_case)
    if outcome.points < spec.points:
        outcome.repro = worst_repro
    return outcome


def _bucket(spec, prepared: Prepared, worst: int, case) -> Outcome:
    """The points for `worst` instructions on a map of prepared.chunks entries."""
    per_chunk = worst / prepared.chunks
    full_limit, half_limit = (prepared.budgets["perf_full_per_chunk"],
                              prepared.budgets["perf_half_per_chunk"])
    text = (f"os_mem_allocate ran {worst:,} instructions on '{case.title}' "
            f"({prepared.chunks} entries, {per_chunk:.1f} per entry)")
    if per_chunk <= full_limit:
        return Outcome(spec.points, f"{text}: within {full_limit} per entry")
    if per_chunk <= half_limit:
        return Outcome(spec.points // 2, f"{text}: half the points (full points at "
                       f"{full_limit} per entry or fewer; one pass over the map is enough)")
    return Outcome(0, f"{text}: more than {half_limit} per entry (a scan that starts over "
                      f"at every entry costs COUNT times a single pass; keep a running "
                      f"count of free entries instead)")


TESTS = {
    "allocate-matches-model": check_allocate,
    "release-matches-model": check_release,
    "get-free-matches-model": check_get_free,
    "sequences-from-start-map": check_sequences,
    "entries-0-and-1": check_entries,
    "registers-preserved": check_registers,
    "direction-flag": check_direction_flag,
    "budget-per-call": check_budget,
    "performance": check_performance,
    "hidden-long-sequences": check_hidden_sequences,
    "hidden-edge-maps": check_edge_maps,
}

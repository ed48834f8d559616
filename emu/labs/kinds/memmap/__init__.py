"""The memmap lab: os_mem_allocate, os_mem_release and os_mem_get_free in asm.

A variant draws the machine's RAM, the allocation policy, the release rule,
the get_free rule and a starting map (lab.toml [variant] lists the choices).
The student's routines are checked against kernel/memory_map.py under the
same rules (model.py), on seeded maps and call sequences (cases.py), plus the
register contract with canaries, the direction flag, entries 0 and 1, an
instruction budget per call and a performance bucket (checks.py).
"""

from __future__ import annotations

from pathlib import Path

from kernel import layout

from ....errors import AssemblyError, UsageError
from ..base import LabKind, ReproSession, SubmissionError
from ...kernel_debug import kernel_call_session
from ...variants import handout_variant
from . import handout
from .cases import draw_start_runs
from .checks import ROUTINE_FILES, TESTS, Prepared, machine_for
from .model import GET_FREE_RULES, POLICIES, RELEASE_RULES
from .replay import ROUTINES, decode_runs, describe_call


class MemmapKind(LabKind):
    name = "memmap"
    TESTS = TESTS

    def draw_params(self, config, variant) -> dict:
        knobs = config.variant
        rng = variant.stream("params")
        params = {"ram_mib": rng.choice(_choices(knobs, "ram_mib", None)),
                  "policy": rng.choice(_choices(knobs, "policies", POLICIES)),
                  "release": rng.choice(_choices(knobs, "release_rules", RELEASE_RULES)),
                  "get_free": rng.choice(_choices(knobs, "get_free_rules", GET_FREE_RULES))}
        params["start_used"] = draw_start_runs(variant.stream("start-map"),
                                               params["ram_mib"] // 2)
        return params

    def template_values(self, config, variant, params) -> dict[str, str]:
        return handout.template_values(config, params)

    def generated_files(self, config, variant, params) -> dict[str, str]:
        return {"variant.asm": handout.variant_source(variant, params),
                "tests/try.asm": handout.try_source(params)}

    def prepare(self, lab, variant, params, submission: Path) -> Prepared:
        files = [submission / name for name in ROUTINE_FILES]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise SubmissionError([f"missing file: {name} (submit all three: "
                                   f"{', '.join(ROUTINE_FILES)})" for name in missing])
        prepared = Prepared(params, variant, handout.variant_source(variant, params), files,
                            dict(lab.config.budgets))
        for key in ("call_base", "call_per_chunk", "perf_full_per_chunk",
                    "perf_half_per_chunk"):
            lab.config.budget(key)
        _check_builds(prepared)
        return prepared

    def solve(self, lab, variant, params) -> list[str]:
        return handout.answers(params)

    def repro(self, lab, record: dict, submission: Path) -> ReproSession:
        return _repro(lab, record, submission)


def _choices(knobs: dict, key: str, allowed) -> list:
    values = knobs.get(key)
    if not isinstance(values, list) or not values:
        raise UsageError(f"memmap lab.toml: [variant] {key} must be a non-empty list")
    if allowed is not None and any(v not in allowed for v in values):
        raise UsageError(f"memmap lab.toml: [variant] {key} may only hold {', '.join(allowed)}")
    if allowed is None and any(layout.validate_ram_mib(v) for v in values):
        raise UsageError(f"memmap lab.toml: [variant] {key}: {layout.validate_ram_mib(values[0])}")
    return values


def _check_builds(prepared: Prepared) -> None:
    """Assemble the routines once; an error or a missing label is a format error."""
    try:
        machine, programs = machine_for(prepared)
    except AssemblyError as exc:
        raise SubmissionError([f"assembly error: {exc}"]) from None
    missing = [f"{path.name} must define the label {ROUTINES[key]}"
               for path, key, program in zip(prepared.files, ROUTINES, programs)
               if ROUTINES[key] not in program.labels]
    if missing:
        raise SubmissionError(missing)


def _repro(lab, record: dict, submission: Path) -> ReproSession:
    case = record["case"]
    variant = handout_variant(record["variant"])
    params = MemmapKind().draw_params(lab.config, variant)
    if case["ram_mib"] != params["ram_mib"]:
        raise UsageError("the failure record does not match its variant (RAM size)")
    files = [submission / name for name in ROUTINE_FILES]
    prepared = Prepared(params, variant, handout.variant_source(variant, params), files,
                        dict(lab.config.budgets))
    call = tuple(case["call"])
    routine = ROUTINES[call[0]]
    entries = decode_runs(case["entries"])

    def make_machine():
        machine, programs = machine_for(prepared)
        machine.ram.write_data(layout.MEMORY_MAP, entries)
        program = next(p for p in programs if routine in p.labels)
        return machine, program
    program_path = str(files[list(ROUTINES).index(call[0])])
    session = kernel_call_session(make_machine, program_path, routine, case["registers"],
                                  case["rflags"])
    banner = [f"{record['test']}: {describe_call(call)} on the map below, with the registers "
              f"the test used (the others are canaries).",
              f"Stopped at the first instruction of {routine}. Try: `memmap`, "
              f"`x/{min(64, len(entries))}bx os_MemoryMap`, `stepi`, `finish`, "
              f"`reverse-stepi`, `info registers`."]
    return ReproSession(banner, kernel_call=session)


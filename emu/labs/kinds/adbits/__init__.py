"""The adbits lab: sys_pgaccess and sys_pgdirty, the Accessed and Dirty bits.

The student writes two system calls (adbits.asm, or adbits.c) that walk the
current tables through the direct map, report which pages of a range have A
(or D) set, clear those bits, and invlpg what they changed. A variant draws
where the test region lies, how many 4 KiB pages sit below its 2 MiB page,
and the largest npages a call accepts (variant.inc / variant.h). Every test
is a scenario (scripts.py): a script of touches and calls, run by the lab's
own program (run.py) and compared call by call with the model of the MMU
(checks.py). Public scenarios come from the handout seed, hidden ones from
the hidden seed; each is worth its own points.
"""

from __future__ import annotations

from pathlib import Path

from ....paging import PAGE_1G, PAGE_2M, PAGE_4K
from ...variants import handout_variant
from ..base import LabKind, Outcome, ReproSession, full, none
from ..kernel_runs import RunBudgets, StagedKernel, build_program, repro_debugger
from .checks import first_difference
from .run import PROGRAM, SYSCALLS, Prepared, Region, map_huge_page, run_script
from .scripts import HUGE_PAGES, NAMES, SCENARIOS, Script

SOURCES = ("adbits.asm", "adbits.c")


def draw_params(stream, variant_config: dict) -> dict:
    """limit from the lab.toml's choices; low 4 KiB pages (24..96) under a 2 MiB
    page that lies between 8 and 64 GiB."""
    limits = variant_config.get("limits", [64, 128, 256])
    limit = stream.choice(list(limits))
    low = stream.between(24, 96)
    huge = 8 * PAGE_1G + stream.below(56 * PAGE_1G // PAGE_2M) * PAGE_2M
    return {"limit": limit, "low": low, "base": huge - low * PAGE_4K}


def headers(params: dict) -> dict[str, str]:
    """variant.inc and variant.h: the variant's limit, for asm and for C."""
    limit = params["limit"]
    return {"variant.inc": f"; this variant's largest npages (emu lab: adbits)\n"
                           f"PAGES_LIMIT equ {limit}\n",
            "variant.h": f"/* this variant's largest npages (emu lab: adbits) */\n"
                         f"#define PAGES_LIMIT {limit}\n"}


def script_of(prepared: Prepared, name: str) -> Script:
    hidden = name.startswith("hidden-")
    variant = prepared.variant
    stream = variant.hidden_stream(name) if hidden else variant.stream(name)
    return SCENARIOS[name](prepared.params, stream)


def scenario_check(name: str):
    """The test of one scenario: all its points when every call agrees with the MMU."""
    def check(spec, prepared: Prepared) -> Outcome:
        script = script_of(prepared, name)
        run = run_script(prepared, script)
        failing, problem = first_difference(run, script, prepared.region,
                                            prepared.params["limit"])
        if not problem:
            return full(spec, f"{len(script.calls)} calls agree with the MMU")
        repro = {"ops": script.ops, "call": failing}
        return none(problem, output=run.outcome.stdout[-2000:], repro=repro)
    check.__name__ = f"check_{name.replace('-', '_')}"
    return check


TESTS = {name: scenario_check(name) for name in SCENARIOS}


class AdbitsKind(LabKind):
    name = "adbits"
    TESTS = TESTS

    def draw_params(self, config, variant) -> dict:
        return draw_params(variant.stream("params"), config.variant)

    def template_values(self, config, variant, params) -> dict[str, str]:
        region = Region(params["base"], params["low"])
        return {"limit": str(params["limit"]), "low": str(params["low"]),
                "base": f"{params['base']:#x}", "huge": f"{region.huge:#x}",
                "base_hex": f"{params['base']:x}", "last_page": str(params["low"] - 1),
                "huge_last_page": str(params["low"] + HUGE_PAGES - 1),
                "call_budget": f"{config.budget('routine_call'):,}"}

    def generated_files(self, config, variant, params) -> dict[str, str]:
        return headers(params)

    def prepare(self, lab, variant, params, submission: Path) -> Prepared:
        kernel = StagedKernel.stage(submission, SOURCES, headers(params))
        kernel.check(syscalls=SYSCALLS)
        program = lab.root / "tests" / PROGRAM
        return Prepared(params, variant, Region(params["base"], params["low"]),
                        build_program(program), kernel, RunBudgets.of(lab.config), program)

    def solve(self, lab, variant, params) -> list[str]:
        return [f"limit {params['limit']}, {params['low']} pages of 4 KiB from "
                f"{params['base']:#x}, the 2 MiB page at "
                f"{Region(params['base'], params['low']).huge:#x}",
                "This lab's answers are programs: the tests compare your calls with the MMU."]

    def repro(self, lab, record: dict, submission: Path) -> ReproSession:
        variant = handout_variant(record["variant"])
        params = self.draw_params(lab.config, variant)
        prepared = self.prepare(lab, variant, params, submission)
        ops, failing = record["case"]["ops"], record["case"].get("call")
        script = Script(ops=list(ops))
        region = prepared.region
        dbg = repro_debugger(prepared.program, region.argv(script), prepared.kernel.path,
                             prepared.budgets.routine, syscalls=SYSCALLS,
                             setup=lambda runner: map_huge_page(runner, region))
        banner = [f"{record['test']}: the lab's program on your {prepared.kernel.original}, "
                  f"with this scenario's ops: {' '.join(ops)}"]
        if failing is not None:
            calls = [op for op in ops if op[0] in "ad"]
            kind = calls[failing][0]
            routine = NAMES[kind]
            occurrence = sum(1 for op in calls[:failing + 1] if op[0] == kind)
            dbg.break_at(routine)
            for _ in range(occurrence):
                dbg.cont()
            banner.append(f"Stopped at {routine}'s first instruction in call {failing} "
                          f"({calls[failing]}), the one that failed (breakpoint 1): rdi = "
                          f"va, rsi = npages, rdx = the bitmap. `pt ADDRESS` walks the "
                          f"tables; `stepi` and `reverse-stepi` step; `break adbits_check` "
                          f"and `continue` run to the program's stop after the call.")
        else:
            banner.append("Stopped at the program's entry: `break sys_pgaccess`, `continue`.")
        return ReproSession(banner, kernel_call=dbg)

"""The cow lab: copy-on-write in the student's page-fault handler.

The kernel's fork shares every private page between parent and child, read-
only in both, one frame reference per mapping. The student's os_page_fault
(os_page_fault.asm, or os_page_fault.c) gets every page fault: a page that is not present goes to the
kernel's own demand paging (kernel_demand_page); a write to a present,
read-only page of a writable private VMA is copy-on-write: copy the frame
when others still hold it (and drop this side's reference), or take it back
writable when this side holds the last one; invlpg; everything else is
refused.

Each test runs scenarios of tests/cowtests.c (scenarios.py) under the
student's handler and the reference (instructor/solution), and compares
what run.py reads from the machine, in this order: no oops or panic, every
process's exit status, every checkpoint reached, what each process sees of
its memory there (a child's writes never show in the parent), the frames in
use there (within 2 + 5% of the reference: far below copying everything),
and no frame left after the run.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ....errors import EmuError
from ....guest_kernel import GuestKernel
from ....loader import load_program
from ....machine import Machine
from ..base import LabKind, Outcome, ReproSession, SubmissionError, full, none
from ...variants import handout_variant
from ..kernel_runs import ENTRY, HANDLER, HANDLERS, handler_in
from .run import CowSeen, run_scenario
from .scenarios import Scenario, scenarios_for, sees, who

PROGRAM = "cowtests.c"


@dataclass
class Prepared:
    variant: object
    handler: Path                     # a folder holding the student's os_page_fault.asm
    reference_source: str
    image: object
    budgets: dict
    keep: list = field(default_factory=list)      # TemporaryDirectory objects to keep alive

    def scenarios(self, spec) -> list[Scenario]:
        stream = (self.variant.hidden_stream(spec.name) if spec.hidden
                  else self.variant.stream(spec.name))
        return scenarios_for(spec.name, stream)


@functools.lru_cache(maxsize=128)
def _reference_run(source: str, program: str, scenario: Scenario, budgets: tuple) -> CowSeen:
    """The reference handler's run: a pure function of its text, the program
    and the scenario, so grading one seed many times runs it once."""
    with tempfile.TemporaryDirectory(prefix="emu-cow-reference-") as work:
        (Path(work) / HANDLER).write_text(source)
        return run_scenario(Path(work), load_program(program), scenario, dict(budgets))


def tolerance(reference: int) -> int:
    """How far the frames in use may exceed the reference's: 2 + 5%."""
    return 2 + reference // 20


def compare(scenario: Scenario, want: CowSeen, got: CowSeen) -> str:
    """What is wrong with `got`, in one paragraph, or "" when it matches."""
    what = scenario.label
    if got.broken is not None:
        return _broken(scenario, got.broken)
    if got.problems:
        return (f"{what}: {got.problems[0]} (a frame freed while a page table still "
                f"maps it, or a fault inside your handler)")
    for pid, status in want.statuses.items():
        mine = got.statuses.get(pid)
        if mine != status:
            role = "the parent" if pid == min(want.statuses) else f"child pid {pid}"
            death = got.deaths.get(pid, f"status {mine}")
            hint = (f"{death}: your handler refused a write it should have copied, or a "
                    f"copy lost its contents" if status == 0 else
                    f"status {mine}: it should have died with SIGSEGV: a write to a "
                    f"read-only mapping is refused, never copied")
            return f"{what}: {role} should have ended with status {status}, not {hint}"
    for tag, seen in sorted(want.checkpoints.items()):
        if tag not in got.checkpoints:
            return f"{what}: {who(tag)} never reached checkpoint {tag}"
    for tag, seen in sorted(want.checkpoints.items()):
        mine = got.checkpoints[tag]
        if mine.frames > seen.frames + tolerance(seen.frames):
            return (f"{what}: at checkpoint {tag} ({who(tag)}), {mine.frames} frames are in "
                    f"use where the reference uses {seen.frames}: drop your reference to "
                    f"the shared frame after copying it (kernel_free_frame), and take the "
                    f"last reference back writable instead of copying it")
    if got.leaked:
        frames = "1 frame was" if got.leaked == 1 else f"{got.leaked} frames were"
        return (f"{what}: {frames} still in use after every process ended: after a copy, "
                f"kernel_free_frame the shared frame (it drops one reference)")
    return ""


def _broken(scenario: Scenario, seen) -> str:
    """The message for a checkpoint that ended the run."""
    where = f"{scenario.label}: at checkpoint {seen.tag}, {who(seen.tag)}"
    if seen.leaking is not None:
        return (f"{where} has the page at {seen.leaking:#x} mapped writable on a frame "
                f"that other processes map too: they see its writes. Copy a frame that "
                f"kernel_frame_refs says is shared before making the page writable")
    return (f"{where} should see {sees(scenario, seen.tag)}, but its memory differs from "
            f"the reference's: another process's writes show in it, or a copy did not "
            f"get the shared frame's bytes")


def check_scenarios(spec, prepared: Prepared) -> Outcome:
    """Every scenario of the test must match the reference's machine state."""
    for scenario in prepared.scenarios(spec):
        want = _reference_run(prepared.reference_source, prepared.image.path, scenario,
                              tuple(sorted(prepared.budgets.items())))
        if want.problems or want.leaked:
            raise EmuError(f"the reference handler misbehaves on {scenario.label}: "
                           f"{want.problems}, {want.leaked} frames leaked")
        got = run_scenario(prepared.handler, prepared.image, scenario, prepared.budgets,
                           expected=want.checkpoints)
        problem = compare(scenario, want, got)
        if problem:
            return none(problem, repro={"scenario": scenario.to_json()})
    return full(spec)


TESTS = {name: check_scenarios for name in
         ("simple-fork", "three-children", "pipe-through", "fork-loop", "parent-first",
          "read-only", "more-seeds")}


class CowKind(LabKind):
    name = "cow"
    TESTS = TESTS

    def draw_params(self, config, variant) -> dict:
        """The public runs, as the handout lists them."""
        return {spec.name: [s.to_json() for s in scenarios_for(spec.name,
                                                               variant.stream(spec.name))]
                for spec in config.tests if not spec.hidden}

    def template_values(self, config, variant, params) -> dict[str, str]:
        rows = [f"| {test} | `{' '.join(Scenario.from_json(s).argv[1:])}` |"
                for test, runs in params.items() for s in runs]
        return {"public_runs": "\n".join(["| test | arguments |", "|---|---|"] + rows)}

    def prepare(self, lab, variant, params, submission: Path) -> Prepared:
        source = handler_in(submission)
        if source is None:
            raise SubmissionError([f"{HANDLER} is missing: your handler goes there (or, in "
                                   f"C, in {HANDLERS[1]})"])
        work_dir = tempfile.TemporaryDirectory(prefix="emu-cow-")
        mine = Path(work_dir.name)
        shutil.copy(source, mine / source.name)
        try:
            GuestKernel.load(Machine(ram_mib=16), mine / source.name, on_fault=ENTRY)
        except EmuError as exc:
            work_dir.cleanup()                  # no Prepared will own it
            raise SubmissionError(str(exc).replace(str(mine / source.name), source.name)
                                  .splitlines()) from None
        budgets = {"run": lab.config.budget("run"), "handler": lab.config.budget("handler"),
                   "seconds": lab.config.budget("hang_seconds")}
        image = load_program(lab.root / "tests" / PROGRAM)
        reference = (lab.solution / HANDLER).read_text()
        return Prepared(variant, mine, reference, image, budgets, [work_dir])

    def repro(self, lab, record: dict, submission: Path) -> ReproSession:
        handout_variant(record["variant"])                 # a damaged record says so
        scenario = Scenario.from_json(record["case"]["scenario"])
        handler = handler_in(submission)
        if handler is None:
            raise SubmissionError([f"{HANDLER} is missing in {submission}"])
        return ReproSession(
            [f"{record['test']}: {scenario.label} under your handler, stopped at its first "
             f"page fault (the kernel's fork comes later: `continue` until rsi is 7, a "
             f"user write to a present page); `pt $rdi`, `vmmap`, `reverse-stepi`."],
            program=lab.root / "tests" / PROGRAM, argv=scenario.argv[1:],
            commands=["break os_page_fault", "run"], kernel=handler, on_fault=ENTRY)

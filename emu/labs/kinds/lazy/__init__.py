"""The lazy lab: the student's page-fault handler, os_page_fault, in asm.

The handler (os_page_fault.asm with `%include "variant.inc"`, or
os_page_fault.c with `#include "variant.h"`) takes every page
fault of a user process: it maps a zeroed frame when the address lies in a
VMA that allows the access (in [stack], no deeper than the variant's stack
limit) and refuses the rest, so the process gets SIGSEGV. Frames come from
kernel_alloc_frame full of junk (as xv6's kalloc leaves them), and the
built-in kernel_demand_page is withheld.

Each test runs scenarios of tests/lazytests.c (scenarios.py) under the
student's handler and under the reference handler (instructor/solution),
and compares, in this order: no kernel oops, the exit status, the output,
the pages mapped and the page faults (lazy: within 2 + 5% of the
reference), and that every frame came back after the exit.
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
from .run import Seen, first_difference, lazy_tolerance, run_scenario
from .scenarios import (PAGE, PURPOSE, STACK_TOP, Scenario, draw_limit, scenarios_for,
                        variant_header, variant_include)

PROGRAM = "lazytests.c"
INCLUDE = "variant.inc"
HEADER = "variant.h"
DIES = ("mprotect", "munmap", "nx", "wild")          # must end in SIGSEGV


@dataclass
class Prepared:
    lab: object
    variant: object
    params: dict
    handler: Path                      # a folder: the student's file and variant.inc
    reference: Path                    # the same, with the reference handler
    image: object
    budgets: dict
    keep: list = field(default_factory=list)      # TemporaryDirectory objects to keep alive

    def scenarios(self, spec) -> list[Scenario]:
        stream = (self.variant.hidden_stream(spec.name) if spec.hidden
                  else self.variant.stream(spec.name))
        return scenarios_for(spec.name, stream, self.params["stack_limit_pages"])

    def reference_run(self, scenario: Scenario) -> Seen:
        return _reference_run((self.reference / HANDLER).read_text(),
                              (self.reference / INCLUDE).read_text(), self.image.path,
                              scenario, tuple(sorted(self.budgets.items())))


@functools.lru_cache(maxsize=256)
def _reference_run(source: str, include: str, program: str, scenario: Scenario,
                   budgets: tuple) -> Seen:
    """The reference handler's run: a pure function of the handler's text,
    variant.inc, the program and the scenario (the texts are the cache key,
    so grading one seed many times runs the reference once)."""
    with tempfile.TemporaryDirectory(prefix="emu-lazy-reference-") as work:
        folder = Path(work)
        (folder / HANDLER).write_text(source)
        (folder / INCLUDE).write_text(include)
        return run_scenario(folder, load_program(program), scenario, dict(budgets))


def handler_folder(source: Path, limit_pages: int, folder: Path) -> Path:
    """`folder` holding a copy of `source` (os_page_fault.asm or .c) and the
    variant's variant.inc and variant.h (the grader's own: submitted ones
    are ignored)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in HANDLERS:                  # only the one handler: asm wins over C
        (folder / name).unlink(missing_ok=True)
    shutil.copy(source, folder / source.name)
    (folder / INCLUDE).write_text(variant_include(limit_pages))
    (folder / HEADER).write_text(variant_header(limit_pages))
    return folder


def compare(scenario: Scenario, want: Seen, got: Seen) -> str:
    """What is wrong with `got`, in one paragraph, or "" when it matches."""
    what = f"{scenario.label} ({PURPOSE[scenario.name]})"
    if got.stopped == "oops":
        return f"{what}: your handler broke the kernel: {got.message.splitlines()[0]}"
    if got.status != want.status:
        if want.status == 139:
            return (f"{what}: the process should have died with SIGSEGV but ended with "
                    f"status {got.status}: your handler mapped a page it should refuse "
                    f"(check the VMA's prot against PF_WRITE and PF_FETCH, and refuse "
                    f"addresses no VMA holds)")
        died = got.message.splitlines()[0] if got.message else f"status {got.status}"
        return (f"{what}: the process should have exited with status {want.status} but "
                f"ended with {died}: your handler refused (returned nonzero) a fault it "
                f"should have mapped")
    fault, wanted = _first_line(got.message), _first_line(want.message)
    if want.status == 139 and fault != wanted:
        return (f"{what}: the process died at the wrong place: {fault}; the reference "
                f"dies at: {wanted} (a fault your handler refused, or a page it mapped "
                f"that it should have refused)")
    if got.stdout != want.stdout:
        return (f"{what}: the output differs: {first_difference(want.stdout, got.stdout)} "
                f"(pages that were never written must read as zeros: zero every frame "
                f"kernel_alloc_frame gives you)")
    if got.pages > want.pages + lazy_tolerance(want.pages):
        return (f"{what}: {got.pages} pages mapped at exit where the reference maps "
                f"{want.pages}: not lazy; map only the page of the faulting address")
    if got.faults < want.faults - lazy_tolerance(want.faults):
        return (f"{what}: {got.faults} page faults handled where the reference handles "
                f"{want.faults}: pages were mapped before they were touched, which is not "
                f"lazy; map only the page of the faulting address")
    if got.faults > want.faults + lazy_tolerance(want.faults):
        return (f"{what}: {got.faults} page faults handled where the reference handles "
                f"{want.faults}: map exactly the faulting page, with the VMA's rights, "
                f"once")
    if got.leaked:
        frames = "1 frame was" if got.leaked == 1 else f"{got.leaked} frames were"
        return (f"{what}: {frames} still in use after the process "
                f"ended: a frame you allocated was never mapped inside a VMA (refuse "
                f"before you allocate)")
    return ""


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def check_scenarios(spec, prepared: Prepared) -> Outcome:
    """Every scenario of the test must match the reference; the first that
    does not costs the test's points."""
    for scenario in prepared.scenarios(spec):
        want = prepared.reference_run(scenario)
        expected_death = scenario.name in DIES or (spec.name == "stack-limit")
        if (want.status == 139) != expected_death or want.leaked or want.stopped == "oops":
            raise EmuError(f"the reference handler misbehaves on {scenario.label}: "
                           f"status {want.status}, {want.leaked} frames leaked")
        got = run_scenario(prepared.handler, prepared.image, scenario, prepared.budgets)
        problem = compare(scenario, want, got)
        if problem:
            return none(problem, output=got.stdout, repro={"scenario": scenario.to_json()})
    return full(spec)


TESTS = {name: check_scenarios for name in
         ("heap-sbrk", "mmap-sparse", "stack-growth", "mprotect-write", "munmap-touch",
          "dontneed-zeros", "stack-limit", "exec-data", "wild-address", "more-seeds")}


class LazyKind(LabKind):
    name = "lazy"
    TESTS = TESTS

    def draw_params(self, config, variant) -> dict:
        low, high = config.variant.get("stack_limit_pages", [24, 64])
        return {"stack_limit_pages": draw_limit(variant.stream("stack"), low, high)}

    def template_values(self, config, variant, params) -> dict[str, str]:
        pages = params["stack_limit_pages"]
        runs = []
        for spec in config.tests:
            if not spec.hidden:
                for s in scenarios_for(spec.name, variant.stream(spec.name), pages):
                    runs.append(f"| {spec.name} | `{' '.join(s.argv[1:])}` |")
        return {"stack_limit_pages": str(pages), "stack_limit_kib": str(pages * 4),
                "stack_bottom": f"{STACK_TOP - pages * PAGE:#x}",
                "public_runs": "\n".join(["| test | arguments |", "|---|---|"] + runs)}

    def generated_files(self, config, variant, params) -> dict[str, str]:
        pages = params["stack_limit_pages"]
        return {INCLUDE: variant_include(pages), HEADER: variant_header(pages)}

    def prepare(self, lab, variant, params, submission: Path) -> Prepared:
        source = handler_in(submission)
        if source is None:
            raise SubmissionError([f"{HANDLER} is missing: your handler goes there (or, in "
                                   f"C, in {HANDLERS[1]})"])
        work_dir = tempfile.TemporaryDirectory(prefix="emu-lazy-")   # goes with Prepared
        work = Path(work_dir.name)
        pages = params["stack_limit_pages"]
        mine = handler_folder(source, pages, work / "submission")
        reference = handler_folder(lab.solution / HANDLER, pages, work / "reference")
        try:
            GuestKernel.load(Machine(ram_mib=16), mine / source.name, on_fault=ENTRY)
        except EmuError as exc:
            work_dir.cleanup()                  # no Prepared will own it
            raise SubmissionError(str(exc).replace(str(mine / source.name), source.name)
                                  .splitlines()) from None
        budgets = {"run": lab.config.budget("run"), "handler": lab.config.budget("handler")}
        image = load_program(lab.root / "tests" / PROGRAM)
        return Prepared(lab, variant, params, mine, reference, image, budgets, [work_dir])

    def repro(self, lab, record: dict, submission: Path) -> ReproSession:
        variant = handout_variant(record["variant"])
        params = self.draw_params(lab.config, variant)
        scenario = Scenario.from_json(record["case"]["scenario"])
        source = handler_in(submission)
        if source is None:
            raise SubmissionError([f"{HANDLER} is missing in {submission}"])
        folder = handler_folder(source, params["stack_limit_pages"], submission / ".emu-lab")
        return ReproSession(
            [f"{record['test']}: {scenario.label} under your handler, stopped at its first "
             f"page fault; `continue` for the next, `pt ADDRESS`, `vmmap`, `reverse-stepi`."],
            program=lab.root / "tests" / PROGRAM, argv=scenario.argv[1:],
            commands=["break os_page_fault", "run"],
            kernel=folder / source.name, on_fault=ENTRY, junk_frames=True)

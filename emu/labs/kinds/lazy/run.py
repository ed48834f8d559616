"""One scenario run under a page-fault handler, and what it is compared on.

    seen = run_scenario(handler_folder, program, scenario, budgets)

A fresh machine per run; the handler (the folder's os_page_fault.asm or
os_page_fault.c, with variant.inc and variant.h beside it) takes every page fault, and kernel_alloc_frame
hands out junk-filled frames, as xv6's kalloc does. What is measured:

    status       the exit status (128 + signal after a fault)
    stdout       what the program printed (compared whole; shown by line)
    faults       page faults the handler resolved (returned 0)
    pages        pages mapped at exit
    leaked       frames still in use after every process ended
    oops         the kernel's report when the handler itself broke
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ....guest_kernel import GuestKernel
from ....machine import Budget, Machine
from ....runner import ProcessRunner
from ..kernel_runs import ENTRY, handler_in

RAM_MIB = 64


@dataclass(frozen=True)
class Seen:
    status: int
    stdout: str
    faults: int
    pages: int
    leaked: int
    message: str = ""            # the runner's report (a fault, an oops, a budget)
    stopped: str | None = None


def run_scenario(handler_folder: Path, image, scenario, budgets: dict) -> Seen:
    """Run `scenario` on `image` under the handler in `handler_folder`."""
    machine = Machine(ram_mib=RAM_MIB)
    before = (machine.frames.frames_in_use, machine.frames.chunks_held,
              machine.memory_map.snapshot())
    kernel = GuestKernel.load(machine, handler_in(handler_folder), on_fault=ENTRY,
                              budget=budgets["handler"], junk_frames=True,
                              withheld={"kernel_demand_page": "the lazy lab's handler maps "
                                                              "its pages itself"})
    runner = ProcessRunner(machine, image, scenario.argv, kernel=kernel)
    result = runner.run(Budget(instructions=budgets["run"]))
    after = (machine.frames.frames_in_use, machine.frames.chunks_held,
             machine.memory_map.snapshot())
    leaked = after[0] - before[0] if after != before else 0
    if after != before and leaked == 0:
        leaked = 1                                   # chunks or map bytes differ: say so
    return Seen(result.status, result.stdout.decode("utf-8", "replace"), result.page_faults,
                result.pages_mapped, leaked, result.message, result.stopped)


def first_difference(expected: str, got: str) -> str:
    """The first line where two outputs differ, for a message."""
    want, have = expected.splitlines(), got.splitlines()
    for number, (a, b) in enumerate(zip(want, have), 1):
        if a != b:
            return f"line {number} is '{b}', expected '{a}'"
    if len(have) < len(want):
        return f"it stopped after {len(have)} lines; line {len(have) + 1} should be " \
               f"'{want[len(have)]}'"
    return f"it printed more: '{have[len(want)]}'"


def lazy_tolerance(reference: int) -> int:
    """How far faults and pages may stray from the reference: 2 + 5%."""
    return 2 + reference // 20


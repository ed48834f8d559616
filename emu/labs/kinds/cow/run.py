"""One cow scenario run: fork-heavy, with checkpoints read from the machine.

    seen = run_scenario(handler, image, scenario, budgets)

tests/cowtests.c calls cow_checkpoint(tag, region, pages) at the moments
that matter; a breakpoint there reads, from the process that called it and
through its own page tables (never from what the program prints):

    digest     SHA-256 of the region's bytes: what this process sees
    frames     frames in use on the whole machine at that moment
    shared     pages of the region whose frame has more than one reference
    writable   pages of the region mapped writable
    leaking    the first page mapped writable on a frame with more than one
               reference (another process would see its writes), or None

A checkpoint that shows a broken invariant (a leaking page, or a region
that differs from the reference's at the same tag) ends the run there, so
what follows from it (processes running on each other's stacks) never runs.

After the run: every process's exit status, and the frames still in use
(after every process has ended none may be).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ....errors import EmuError, KernelPanic
from ....guest_kernel import GuestKernel
from ....machine import Budget, Machine
from ....paging import PAGE_4K, PTE_RW
from ....runner import ProcessRunner
from ..kernel_runs import ENTRY, handler_in

RAM_MIB = 64
CHECKPOINT = "cow_checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    tag: int
    digest: str
    frames: int
    shared: int
    writable: int
    leaking: int | None = None


class BrokenAtCheckpoint(EmuError):
    """Raised from the checkpoint breakpoint: the run ends here."""

    def __init__(self, checkpoint: Checkpoint):
        self.checkpoint = checkpoint
        super().__init__(f"checkpoint {checkpoint.tag}")


@dataclass
class CowSeen:
    statuses: dict[int, int]                  # pid -> exit status
    checkpoints: dict[int, Checkpoint]        # tag -> what it saw (the last, if repeated)
    leaked: int
    problems: list[str] = field(default_factory=list)   # oops and panic reports
    deaths: dict[int, str] = field(default_factory=dict)  # pid -> how it died
    broken: Checkpoint | None = None          # the checkpoint that ended the run


def read_checkpoint(machine) -> Checkpoint:
    """What the process at cow_checkpoint sees of its region, now."""
    tag, region, pages = machine.read_regs(("rdi", "rsi", "rdx"))
    try:
        data = machine.mmu.read_virtual(region, pages * PAGE_4K)
        digest = hashlib.sha256(data).hexdigest()[:16]
    except EmuError:
        digest = "unreadable"
    shared = writable = 0
    leaking = None
    for page in range(region, region + pages * PAGE_4K, PAGE_4K):
        walk = machine.mmu.walk(page)
        if not walk.mapped:
            continue
        frame = walk.paddr - walk.paddr % PAGE_4K
        is_shared = machine.frames.refcount(frame) > 1
        is_writable = bool(walk.steps[-1].entry & PTE_RW)
        shared += is_shared
        writable += is_writable
        if is_shared and is_writable and leaking is None:
            leaking = page
    return Checkpoint(tag, digest, machine.frames.frames_in_use, shared, writable, leaking)


def run_scenario(handler_folder: Path, image, scenario, budgets: dict,
                 expected: dict | None = None) -> CowSeen:
    """Run `scenario` on `image` with the handler in `handler_folder`;
    `expected` (tag -> the reference's Checkpoint) ends the run at the first
    checkpoint that shows another digest or a leaking page."""
    machine = Machine(ram_mib=RAM_MIB)
    before = (machine.frames.frames_in_use, machine.frames.chunks_held,
              machine.memory_map.snapshot())
    kernel = GuestKernel.load(machine, handler_in(handler_folder), on_fault=ENTRY,
                              budget=budgets["handler"])
    checkpoints: dict[int, Checkpoint] = {}

    def at_checkpoint(_address) -> None:
        seen = read_checkpoint(machine)
        checkpoints[seen.tag] = seen
        want = (expected or {}).get(seen.tag)
        if expected is not None and (seen.leaking is not None or
                                     want is not None and want.digest != seen.digest):
            raise BrokenAtCheckpoint(seen)

    machine.add_breakpoint(image.symbols[CHECKPOINT], at_checkpoint)
    runner = ProcessRunner(machine, image, scenario.argv, kernel=kernel)
    try:
        result = runner.run(Budget(instructions=budgets["run"], seconds=budgets["seconds"]))
    except KernelPanic as exc:             # at exit: a frame freed twice, and the like
        return CowSeen({}, checkpoints, 0, [f"the kernel panicked freeing a frame: {exc}"])
    except BrokenAtCheckpoint as exc:
        return CowSeen({}, checkpoints, 0, broken=exc.checkpoint)
    after = (machine.frames.frames_in_use, machine.frames.chunks_held,
             machine.memory_map.snapshot())
    leaked = max(after[0] - before[0], 1) if after != before else 0
    problems = [report.outcome.message.splitlines()[0] for report in result.processes
                if report.outcome.stopped in ("oops", "panic") and report.outcome.message]
    if result.stopped in ("panic", "budget") and result.message:
        problems.append(result.message.splitlines()[0])
    statuses = {report.pid: report.outcome.status for report in result.processes}
    deaths = {report.pid: report.outcome.message.splitlines()[0] for report in result.processes
              if report.outcome.message}
    return CowSeen(statuses, checkpoints, leaked, problems, deaths)

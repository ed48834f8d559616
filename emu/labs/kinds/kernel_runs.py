"""Running a lab's test program on the student's kernel routines: what the
adbits, lazy and cow checkers share.

    kernel = StagedKernel.stage(submission, ("lazy.asm", "lazy.c"), {"variant.inc": text})
    run = KernelRun(image, ["lazy_test", "heap", "7"], kernel, budgets,
                    on_fault="os_page_fault")
    run.at("lazy_phase", lambda process: ...)      # the program reached that function
    outcome = run.finish()                         # every process ran to its end

A KernelRun is one fresh Machine, the student's file loaded into its kernel
half as `emu run --kernel` loads it, and one of the lab's own test programs
(C with emu's runtime, from the lab's folder, never the student's copy) as
the first process; `finish` runs it and every process it forks to the end
and says how the run went (RunOutcome), frames and chunks left over
included: after the last process, a correct kernel holds exactly what it
held at boot.

The student's file is staged (StagedKernel): copied with the variant's
headers into a folder of its own under emu's cache, so `%include
"variant.inc"` and `#include "variant.h"` find the grader's values, not a
copy the student may have edited; a C file is compiled once for all the
tests; and messages name the file as the student knows it.

Budgets are guest instructions: the run's (the first process's time on the
CPU) and each routine call's. A fault handler that returns 0 without fixing
the fault would fault forever: after FAULT_REPEATS faults in a row on one
page of one process the routine is stopped as a kernel oops that says so.
A process other than the first that loops in user code has no instruction
budget of its own in the runner; SAFETY_SECONDS of wall time ends such a
run (the test fails on every machine alike, and only such a run gets near).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ...debug.debugger import Debugger
from ...errors import EmuError, KernelPanic
from ...guest_kernel import GuestKernel
from ...guest_traps import Oops
from ...loader import load_program
from ...machine import Budget, Machine
from ...paging import PAGE_4K, page_align_down
from ...run_result import ProcessReport
from ...runner import ProcessRunner
from ...toolchain import cache_dir
from .base import SubmissionError

FAULT_REPEATS = 1000
SAFETY_SECONDS = 120.0
RAM_MIB = 256


# The page-fault handler labs (lazy, cow): where the student's handler is.
HANDLER = "os_page_fault.asm"
HANDLERS = (HANDLER, "os_page_fault.c")     # asm, or C (emu_kernel.h): the first found
ENTRY = "os_page_fault"


def handler_in(folder: Path) -> Path | None:
    """The handler file in `folder`: os_page_fault.asm, else os_page_fault.c."""
    return next((folder / name for name in HANDLERS if (folder / name).is_file()), None)

@dataclass(frozen=True)
class RunBudgets:
    """Instructions for the first process's run and for one routine call."""
    run: int
    routine: int

    @classmethod
    def of(cls, config) -> "RunBudgets":
        return cls(config.budget("run"), config.budget("routine_call"))


def build_program(path: Path):
    """The Image of one of the lab's own C test programs (built once, cached);
    a lab whose program does not build is the course's bug: KernelPanic."""
    try:
        return load_program(path, libc="runtime")
    except EmuError as exc:
        raise KernelPanic(f"the lab's test program {path.name} does not build: {exc}") \
            from None


# -- the student's file ------------------------------------------------------------------

@dataclass(frozen=True)
class StagedKernel:
    """The student's kernel file beside the variant's headers, in a folder
    named by their contents."""
    path: Path
    original: str                 # the name the student gave it

    @classmethod
    def stage(cls, submission: Path, names: tuple[str, ...],
              headers: dict[str, str]) -> "StagedKernel":
        """Stage the first of `names` the submission holds; SubmissionError
        when it holds none."""
        source = next((submission / n for n in names if (submission / n).is_file()), None)
        if source is None:
            alternatives = " (or ".join(names) + ")" * (len(names) - 1)
            raise SubmissionError([f"{alternatives} is missing from the submission"])
        text = source.read_bytes()
        digest = hashlib.sha256(source.name.encode() + b"\0" + text)
        for name, content in sorted(headers.items()):
            digest.update(name.encode() + b"\0" + content.encode() + b"\0")
        folder = cache_dir().parent / "lab-kernels" / digest.hexdigest()[:24]
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in headers.items():
            _write_once(folder / name, content.encode())
        _write_once(folder / source.name, text)
        return cls(folder / source.name, source.name)

    def clean(self, text: str) -> str:
        """`text` with the staging folder left out of file names."""
        return text.replace(f"{self.path.parent}/", "")

    def check(self, on_fault: str | None = None, syscalls: dict[int, str] | None = None) -> None:
        """Load it once on a scratch machine: SubmissionError with the lines a
        student should see when it does not assemble (compile) or lacks a routine."""
        try:
            GuestKernel.load(Machine(ram_mib=64), self.path, on_fault=on_fault,
                             syscalls=syscalls)
        except EmuError as exc:
            raise SubmissionError([self.clean(str(exc))]) from None


def _write_once(path: Path, data: bytes) -> None:
    """Write `data` at `path` unless it is there already; atomic, so graders
    running side by side (`--jobs`) never read half a file."""
    if path.is_file() and path.read_bytes() == data:
        return
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as part:
        part.write(data)
    Path(part.name).replace(path)


# -- one run -------------------------------------------------------------------------------

@dataclass
class RunOutcome:
    """How a run went: the first process's end and figures, every process's
    report, and what was still held after the last one (leaks)."""
    status: int                      # exit code, or 128 + the signal that killed it
    signal: int | None
    stdout: str
    message: str                     # how it ended, for a person ("" after an exit)
    fault: object                    # the GuestFault that killed it, or None
    stopped: str | None              # fault, signal, oops, budget, oom, ...
    page_faults: int
    pages_mapped: int
    processes: list[ProcessReport] = field(default_factory=list)
    frames_left: int = 0             # frames in use beyond the boot's
    chunks_changed: bool = False     # the os_MemoryMap differs from the boot's

    @property
    def leaked(self) -> bool:
        return self.frames_left != 0 or self.chunks_changed

    def ending(self) -> str:
        """One phrase: 'exited with status 0', 'was killed by SIGSEGV (...)'."""
        if self.stopped is None and self.signal is None:
            return f"exited with status {self.status}"
        first = self.message.splitlines()[0] if self.message else ""
        if self.stopped == "budget":
            return "ran out of its instruction budget (an endless loop?)"
        return f"was killed ({first})" if first else f"ended with status {self.status}"


class KernelRun:
    """One machine, the student's routines, one of the lab's programs."""

    def __init__(self, image, argv: list[str], kernel: StagedKernel, budgets: RunBudgets, *,
                 on_fault: str | None = None, syscalls: dict[int, str] | None = None,
                 withheld: dict[str, str] | None = None, ram_mib: int = RAM_MIB):
        self.machine = Machine(ram_mib=ram_mib)
        self.budgets = budgets
        self._boot = (self.machine.frames.frames_in_use, self.machine.memory_map.snapshot())
        self.kernel = GuestKernel.load(self.machine, kernel.path, on_fault=on_fault,
                                       syscalls=syscalls, budget=budgets.routine,
                                       withheld=withheld)
        self.runner = ProcessRunner(self.machine, image, argv, kernel=self.kernel)
        self.symbols = image.symbols
        self.cleanups: list = []          # run after every process has gone, before leaks
        self._last_fault = (None, 0)
        if self.kernel.on_fault is not None:
            self.machine.add_breakpoint(self.kernel.on_fault.address, self._fault_entered)

    @property
    def first(self):
        """The program's first process (the one the run's status is about)."""
        return self.runner.process

    def at(self, symbol: str, callback) -> None:
        """callback(process) whenever a process reaches `symbol` of the program
        (a function's first instruction, before it runs)."""
        address = self.symbols[symbol]

        def hit(_address) -> None:
            try:
                callback(self.runner.current)
            except Exception as exc:          # a checker bug: the run stops, grading says so
                self.machine.stop(exc)
        self.machine.add_breakpoint(address, hit)

    def _fault_entered(self, _address) -> None:
        """The fault handler starts: the same page of the same process again?"""
        key = (self.runner.current.pid, page_align_down(self.machine.reg("rdi"), PAGE_4K))
        last, repeats = self._last_fault
        repeats = repeats + 1 if key == last else 1
        self._last_fault = (key, repeats)
        if repeats > FAULT_REPEATS:
            self.machine.stop(Oops(f"the same page ({key[1]:#x}) faulted {FAULT_REPEATS:,} "
                                   f"times in a row: the handler returns 0 but the access "
                                   f"still faults"))

    def finish(self) -> RunOutcome:
        """Run every process to its end; then the cleanups, then the leak count."""
        result = self.runner.run(Budget(instructions=self.budgets.run, seconds=SAFETY_SECONDS))
        for cleanup in self.cleanups:
            cleanup()
        frames, memory_map = self._boot
        return RunOutcome(
            status=result.status, signal=result.signal,
            stdout=result.stdout.decode("utf-8", errors="replace"), message=result.message,
            fault=result.fault, stopped=result.stopped, page_faults=result.page_faults,
            pages_mapped=result.pages_mapped, processes=list(result.processes),
            frames_left=self.machine.frames.frames_in_use - frames,
            chunks_changed=self.machine.memory_map.snapshot() != memory_map)


# -- emu lab repro -------------------------------------------------------------------------

class LabDebugger(Debugger):
    """emu debug on a lab's program with the student's routines loaded, and
    the lab's own set-up (adbits' 2 MiB page) made again on every `run`."""

    setup = None                      # callable(runner), or None

    def _new_target(self, ram_mib, stdin, echo, history):
        target = super()._new_target(ram_mib, stdin, echo, history)
        if self.setup is not None:
            self.setup(target.runner)
        return target


def repro_debugger(program: Path, argv: list[str], kernel: Path, budget: int, *,
                   on_fault: str | None = None, syscalls: dict[int, str] | None = None,
                   withheld: dict[str, str] | None = None, setup=None,
                   ram_mib: int = RAM_MIB) -> LabDebugger:
    """A debugger stopped at the program's entry, as `emu debug PROGRAM --kernel
    KERNEL ...` would be, the program's output passed through."""
    from ...cli.common import echo_output          # the CLI's own pass-through

    def load(machine):
        return GuestKernel.load(machine, kernel, on_fault=on_fault, syscalls=syscalls,
                                budget=budget, withheld=withheld)
    dbg = LabDebugger.start(program, argv, ram_mib=ram_mib, echo=echo_output, history=4096,
                            kernel=load)
    dbg.setup = setup
    if setup is not None:
        setup(dbg.runner)
    return dbg

"""What a run reports: how each process ended, and the figures `--json` prints.

    Outcome       how one process ended (or why it stopped): exit code, fault,
                  signal, budget, out of memory, kernel panic
    ProcessReport one process's figures, taken just before its memory goes
    RunResult     the run: the first process's outcome and figures, the
                  console's output, and a report for every process
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from .errors import EXIT_BUDGET, EXIT_OOM, EXIT_SOFTWARE, GuestFault


@dataclass
class Outcome:
    """How a process ended. `stopped` says why when it did not exit:
    "fault", "signal", "budget", "oom", "panic" or "deadlock"."""
    exit_code: int | None = None
    fault: GuestFault | None = None
    stopped: str | None = None
    message: str = ""                    # the report for a person, "" after a clean exit
    signal: int | None = None            # the signal that ended it (fault or kill)

    @property
    def ended(self) -> bool:
        return self.exit_code is not None or self.stopped is not None

    @property
    def status(self) -> int:
        """The exit status a shell would show: the code, or 128+signal."""
        if self.exit_code is not None:
            return self.exit_code
        if self.stopped in ("budget", "deadlock"):
            return EXIT_BUDGET
        if self.stopped == "oom":
            return EXIT_OOM
        if self.stopped == "panic":
            return EXIT_SOFTWARE
        return 128 + (self.signal or signal.SIGSEGV)

    def copy(self) -> "Outcome":
        return Outcome(self.exit_code, self.fault, self.stopped, self.message, self.signal)


@dataclass
class ProcessReport:
    """One process, as `--json` lists it."""
    pid: int
    ppid: int
    outcome: Outcome
    maps: list[dict]
    brk: dict
    pages_mapped: int
    page_faults: int
    cow_faults: int
    shared_pages: int
    syscalls: int

    def to_json(self) -> dict:
        return {"pid": self.pid, "ppid": self.ppid, "exit_code": self.outcome.exit_code,
                "signal": self.outcome.signal, "status": self.outcome.status,
                "page_faults": {"demand_zero": self.page_faults - self.cow_faults,
                                "copy_on_write": self.cow_faults},
                "pages_shared_at_exit": self.shared_pages, "pages_mapped": self.pages_mapped,
                "syscalls": self.syscalls}


@dataclass
class RunResult:
    """What happened to the program (its first process), with the figures
    `emu run --json` prints, and every process the run had."""
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    fault: GuestFault | None
    stopped: str | None
    message: str
    syscalls: int
    maps: list[dict]
    brk: dict
    pages_mapped: int
    page_faults: int
    syscall_log: list = field(default_factory=list)
    signal: int | None = None
    processes: list[ProcessReport] = field(default_factory=list)

    @property
    def status(self) -> int:
        """The exit status `emu run` returns: the guest's, or 128+signal."""
        return Outcome(self.exit_code, self.fault, self.stopped, self.message,
                       self.signal).status

    def to_json(self) -> dict:
        out = {"exit_code": self.exit_code,
               "stdout": self.stdout.decode("utf-8", errors="replace"),
               "fault": self.fault.to_json() if self.fault else None,
               "syscalls": self.syscalls, "maps": self.maps, "brk": self.brk,
               "pages_mapped": self.pages_mapped, "page_faults": self.page_faults,
               "processes": [report.to_json() for report in self.processes]}
        return out

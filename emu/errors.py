"""The project's exceptions: one small hierarchy.

    EmuError                 anything the machine reports to its user
    ├── UsageError           bad input from the user: a flag, a file, a size
    ├── AssemblyError        guest assembly that does not assemble (file:line: text)
    ├── GuestFault           the guest did something the machine refuses (a page
    │                        fault, an invalid instruction, a divide error)
    ├── BudgetExceeded       the run hit its instruction or time budget
    ├── ELFLoadError         a file that is not a static x86-64 ELF we can run
    ├── CompileError         the C compiler refused the source (its own diagnostics)
    └── KernelPanic          a broken kernel invariant: a bug in this project

str() of each is meant for a person: what was expected, what was found, and where.
What a guest can see through a syscall is never an exception: it is -errno.
"""

from __future__ import annotations

import signal


class EmuError(Exception):
    """Base of every error the machine reports."""


class UsageError(EmuError):
    """Bad input from the user (command-line value, missing file, size)."""


class AssemblyError(EmuError):
    """Guest assembly source that cannot be assembled.

    Carries the file, the 1-based line number and that line's source text.
    """

    def __init__(self, message: str, file: str = "<asm>", line: int = 0, source: str = ""):
        self.message = message
        self.file = file
        self.line = line
        self.source = source.strip()
        where = f"{file}:{line}: " if line else f"{file}: "
        tail = f": {self.source}" if self.source else ""
        super().__init__(f"{where}{message}{tail}")


class ELFLoadError(EmuError):
    """A file that cannot be loaded: not ELF, not x86-64, dynamic, or corrupt."""


class CompileError(EmuError):
    """The C compiler failed; str() is the compiler's own diagnostics."""


class KernelPanic(EmuError):
    """A kernel invariant broke, e.g. KernelPanic("map_pages: remap")."""


class BudgetExceeded(EmuError):
    """A run used up its instruction budget or its time budget.

    `kind` is "instructions" or "time"; `limit` is the budget (a count or
    seconds); `rip` is where the guest was stopped.
    """

    def __init__(self, kind: str, limit: float, rip: int):
        self.kind = kind
        self.limit = limit
        self.rip = rip
        unit = "instructions" if kind == "instructions" else "seconds"
        super().__init__(f"budget exceeded: ran {limit:g} {unit} without finishing "
                         f"(stopped at rip {rip:#x})")


class GuestFault(EmuError):
    """The guest faulted; the report reads like a SIGSEGV report.

    address      the faulting virtual address (for page faults), else RIP
    access       "read" | "write" | "fetch" for page faults, None otherwise
    rip          the faulting instruction's address
    instruction  its disassembly ("mov qword ptr [rax], 1"), or "" if unreadable
    reason       "not present", "write to read-only", "user access to supervisor
                 page", "fetch from NX", or for other exceptions "invalid
                 instruction", "divide error", ...
    mode         "user" or "kernel": the privilege the guest ran at
    signo        the signal Linux would deliver (SIGSEGV, SIGILL, SIGFPE, SIGTRAP)
    """

    def __init__(self, *, address: int, access: str | None, rip: int, reason: str,
                 instruction: str = "", mode: str = "kernel", symbol: str = "",
                 signo: int = signal.SIGSEGV):
        self.address = address
        self.access = access
        self.rip = rip
        self.reason = reason
        self.instruction = instruction
        self.mode = mode
        self.symbol = symbol
        self.signo = signo
        super().__init__(self._report())

    def _report(self) -> str:
        name = signal.Signals(self.signo).name
        if self.access is not None:
            head = (f"{name}: page fault: {self.access} at {self.address:#x}: "
                    f"{self.reason} ({self.mode} mode)")
        else:
            head = f"{name}: {self.reason} ({self.mode} mode)"
        where = f"rip {self.rip:#x}"
        if self.symbol:
            where += f" <{self.symbol}>"
        insn = self.instruction or "(instruction unreadable)"
        return f"{head}\n    {where}: {insn}"

    def to_json(self) -> dict:
        """The fault as the CLI's --json prints it."""
        return {"address": self.address, "access": self.access, "rip": self.rip,
                "reason": self.reason}

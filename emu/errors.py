"""The project's exceptions: one small hierarchy, and what each means to the CLI.

    EmuError                 anything the machine reports to its user
    ├── UsageError           bad input from the user: a flag, a file, a size     exit 2
    │   └── (TraceError)     a malformed malloc-lab trace (emu/malloclab)         exit 2
    ├── AssemblyError        guest assembly that does not assemble (file:line)   exit 2
    ├── ELFLoadError         a file that is not a static x86-64 ELF we can run    exit 2
    ├── CompileError         the C compiler refused the source                   exit 2
    ├── GuestFault           the guest did something the machine refuses (a page
    │                        fault, an invalid instruction, a divide error)      128+signal
    ├── BudgetExceeded       the run hit its instruction or time budget          exit 124
    ├── OutOfMemory          no frame left for a page the guest was entitled to  exit 137
    ├── UnmappedAccess       a host-side look at guest memory hit an unmapped page exit 2
    └── KernelPanic          a broken kernel invariant: a bug in this project    exit 70

`exit_status` on each class is what `emu` exits with when that error ends a
command; anything that is not an EmuError is a bug in emu (exit 70, see
emu/cli). str() of each is meant for a person: what was expected, what was
found, and where. What a guest can see through a syscall is never an
exception: it is -errno.

This module imports nothing from the project, so every layer (the kernel
included) may use it.
"""

from __future__ import annotations

import signal

EXIT_USAGE = 2
EXIT_SOFTWARE = 70               # sysexits.h EX_SOFTWARE: an internal error
EXIT_BUDGET = 124                # what timeout(1) returns
EXIT_OOM = 128 + signal.SIGKILL  # killed, as Linux's OOM killer does


class EmuError(Exception):
    """Base of every error the machine reports."""
    exit_status = 1


class UsageError(EmuError):
    """Bad input from the user (command-line value, missing file, size)."""
    exit_status = EXIT_USAGE


class AssemblyError(EmuError):
    """Guest assembly source that cannot be assembled.

    Carries the file, the 1-based line number and that line's source text.
    """
    exit_status = EXIT_USAGE

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
    exit_status = EXIT_USAGE


class CompileError(EmuError):
    """The C compiler failed; str() is the compiler's own diagnostics."""
    exit_status = EXIT_USAGE


class KernelPanic(EmuError):
    """A kernel invariant broke: KernelPanic("map_pages: remap of 0x400000").

    The message starts with the function that found it. It is always a bug in
    this project, never the guest's or the user's doing."""
    exit_status = EXIT_SOFTWARE


class OutOfMemory(EmuError):
    """No frame was left for a page the process was entitled to (the OOM kill)."""
    exit_status = EXIT_OOM


class UnmappedAccess(EmuError):
    """A host-side virtual access (debugger, loader) hit an unmapped page."""
    exit_status = EXIT_USAGE

    def __init__(self, vaddr: int, reason: str = "not present"):
        self.vaddr = vaddr
        self.reason = reason
        super().__init__(f"cannot access virtual address {vaddr:#x}: {reason}")


class BudgetExceeded(EmuError):
    """A run used up its instruction budget or its time budget.

    `kind` is "instructions" or "time"; `limit` is the budget (a count or
    seconds); `rip` is where the guest was stopped, or None when the budget ran
    out before the guest started (while assembling or compiling it).
    """
    exit_status = EXIT_BUDGET

    def __init__(self, kind: str, limit: float, rip: int | None):
        self.kind = kind
        self.limit = limit
        self.rip = rip
        unit = "instructions" if kind == "instructions" else "seconds"
        if rip is None:
            text = f"building the program took more than the {limit:g}-second budget"
        else:
            text = (f"ran {limit:g} {unit} without finishing (stopped at rip {rip:#x})")
        super().__init__(f"budget exceeded: {text}")


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

    @property
    def exit_status(self) -> int:
        return 128 + self.signo

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

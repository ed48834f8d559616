"""Running a program as a user process on the machine.

    runner = ProcessRunner(machine, image, ["prog", "arg"])
    result = runner.run(Budget(seconds=60))      # to exit, fault or budget
    result.exit_code, result.stdout, result.fault

A ProcessRunner owns one process: its address space is built at construction,
the machine's syscall and page-fault traps go to it while it runs, and
finish() tears it down (every frame back to the os_MemoryMap) after taking the
figures a report needs: maps, break, pages mapped, page faults, syscalls.
The debugger drives a ProcessRunner step by step through resume().

Signals. A fault (SIGSEGV, SIGILL, ...) or a signal the program sends itself
(abort() -> tgkill) whose action is to terminate ends the process: exit
status 128+signal. With `debugged` set, the process stops instead, alive,
with the signal pending, as ptrace stops a traced process: the debugger then
resumes it with deliver(signo), which passes that signal (the process dies)
or none (signo 0: it runs on, from the faulting instruction again after a
fault, or after the syscall that sent the signal).
"""

from __future__ import annotations

import signal
import struct
from dataclasses import dataclass, field

from kernel.address_space import AddressSpace
from kernel.exec import build_stack, map_image
from kernel.process import Process, SignalInfo
from kernel.syscalls import dispatch
from kernel.syscalls import signal as signals

from .errors import (EXIT_BUDGET, EXIT_OOM, EXIT_SOFTWARE, BudgetExceeded, GuestFault,
                     KernelPanic, OutOfMemory)
from .faults import signal_info
from .machine import NEVER, Budget, Machine, Traps
from .paging import U64
from .registers import GPRS
from .symbols import SymbolTable

SYSCALL_REGS = ("rax", "rdi", "rsi", "rdx", "r10", "r8", "r9", "rip", "rflags")
RFLAGS_AT_START = 0x202
FPU_AT_START = {"fpcw": 0x37F, "fptag": 0xFFFF, "mxcsr": 0x1F80}   # what Linux gives


@dataclass
class ProcessExit:
    """The stop request exit/exit_group makes."""
    code: int


@dataclass
class ProcessSignalled:
    """The stop request a signal the process sent itself makes when it kills."""
    info: SignalInfo


STEPPED = "stepped"          # resume(stepping=True) used up its instructions
SIGNALLED = "signalled"      # resume() of a debugged process: a signal stopped it


@dataclass
class RunResult:
    """What happened to a process, with the figures `emu run --json` prints."""
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    fault: GuestFault | None
    stopped: str | None                  # why it did not exit: fault, signal, budget, oom, panic
    message: str                         # the report for a person, "" after a clean exit
    syscalls: int
    maps: list[dict]
    brk: dict
    pages_mapped: int
    page_faults: int
    syscall_log: list = field(default_factory=list)
    signal: int | None = None            # the signal that ended it (fault or kill)

    @property
    def status(self) -> int:
        """The exit status `emu run` returns: the guest's, or 128+signal."""
        if self.exit_code is not None:
            return self.exit_code
        if self.stopped == "budget":
            return EXIT_BUDGET
        if self.stopped == "oom":
            return EXIT_OOM
        if self.stopped == "panic":
            return EXIT_SOFTWARE
        return 128 + (self.signal or signal.SIGSEGV)

    def to_json(self) -> dict:
        return {"exit_code": self.exit_code,
                "stdout": self.stdout.decode("utf-8", errors="replace"),
                "fault": self.fault.to_json() if self.fault else None,
                "syscalls": self.syscalls, "maps": self.maps, "brk": self.brk,
                "pages_mapped": self.pages_mapped, "page_faults": self.page_faults}


class _CpuPorts:
    """What syscalls may do to the CPU: the FS and GS bases."""

    def __init__(self, machine: Machine):
        self._m = machine

    def set_fs_base(self, value: int) -> None:
        self._m.set_reg("fs_base", value)

    def set_gs_base(self, value: int) -> None:
        self._m.set_reg("gs_base", value)

    def fs_base(self) -> int:
        return self._m.reg("fs_base")

    def gs_base(self) -> int:
        return self._m.reg("gs_base")


class ProcessRunner:
    """One program loaded as a process on `machine`, ready to run."""

    def __init__(self, machine: Machine, image, argv: list[str], *, envp=(), stdin=b"",
                 trace=None, echo=None, data_limit: int | None = None, seed: int = 0):
        self.machine = machine
        self.image = image
        self.trace = trace                  # callable(line) for --strace, or None
        aspace = AddressSpace(machine.page_tables, machine.frames, machine.mmu)
        self.process = Process(aspace, image.path, list(argv), cpu=_CpuPorts(machine),
                               stdin=stdin, seed=seed)
        self.process.echo = echo
        self.process.data_limit = data_limit
        try:
            map_image(aspace, image)
            rsp = build_stack(aspace, image, list(argv), list(envp),
                              self.process.random.randbytes(16))
        except OutOfMemory as exc:
            aspace.destroy()
            raise OutOfMemory(f"{exc} while loading {image.path} (the machine has "
                              f"{machine.ram_mib} MiB of RAM; --ram-mib sets it)") from None
        except BaseException:
            aspace.destroy()
            raise
        self.auxv = _auxv(aspace, rsp)
        self.symbols = SymbolTable.for_image(image)
        machine.write_regs({**{name: 0 for name in GPRS}, "rsp": rsp, "rip": image.entry,
                            "rflags": RFLAGS_AT_START, "fs_base": 0, **FPU_AT_START})
        self.exit_code: int | None = None
        self.fault: GuestFault | None = None
        self.stopped: str | None = None
        self.message = ""
        self.finished = False
        self.debugged = False               # stop at signals instead of dying (ptrace)
        self.pending_signal: SignalInfo | None = None
        self.signal: int | None = None      # the signal that ended the process
        # callables run before a syscall or a page fault changes kernel state
        self.kernel_entry_observers: list = []
        self._traps = Traps(syscall=self._on_syscall, page_fault=self._fault,
                            symbols=self.symbols)

    @property
    def aspace(self) -> AddressSpace:
        return self.process.aspace

    @property
    def alive(self) -> bool:
        return self.exit_code is None and self.stopped is None

    # -- running ---------------------------------------------------------------------

    def resume(self, budget: Budget, until: int = NEVER, stepping: bool = False):
        """Run from the current rip until `until`, exit, a fault or the budget.

        Returns None when rip reached `until`, or the stop request of a hook
        (the debugger's breakpoints). Exit, fault and budget are recorded on the
        runner (alive turns False) instead of raised; when `stepping`, running
        out of instructions is the expected end and returns STEPPED instead.
        A debugged process that gets a signal returns SIGNALLED, still alive.
        """
        m = self.machine
        try:
            request = m.run(m.reg("rip"), until=until, budget=budget, root=self.aspace.root,
                            user=True, traps=self._traps)
        except GuestFault as fault:
            return self._signalled(signal_info(fault), fault)
        except BudgetExceeded as exc:
            if stepping and exc.kind == "instructions":
                return STEPPED
            self.stopped, self.message = "budget", str(exc)
            return None
        except OutOfMemory as exc:
            self.stopped = "oom"
            self.message = f"SIGKILL: {exc} (the machine has {m.ram_mib} MiB of RAM)"
            return None
        except KernelPanic as exc:
            # A kernel invariant broke on the guest's behalf: stop the process,
            # never the host. This is a bug in emu; the message says where.
            self.stopped = "panic"
            self.message = f"kernel panic: {exc} (a bug in emu: please report it)"
            return None
        if isinstance(request, ProcessExit):
            self.exit_code = request.code
            return None
        if isinstance(request, ProcessSignalled):
            return self._signalled(request.info, None)
        return request

    def _signalled(self, info: SignalInfo, fault: GuestFault | None):
        """A signal that kills: pending for a debugger, else the end."""
        self.fault = fault
        if self.debugged:
            self.pending_signal = info
            return SIGNALLED
        self._terminate(info)
        return None

    def deliver(self, signo: int) -> None:
        """Resume a debugged process with signal `signo` (0: none), as gdb asks.

        0 discards the pending signal. The pending signal itself, or any
        other whose default action kills, ends the process now (alive turns
        False); one that is ignored is dropped."""
        pending, self.pending_signal = self.pending_signal, None
        self.process.signals.fatal = None
        if signo == 0:
            self.fault = None
            return
        if pending is not None and pending.signo == signo:
            self._terminate(pending)
            return
        self.fault = None
        signals.send(self.process, SignalInfo(signo, signals.SI_USER))
        fatal, self.process.signals.fatal = self.process.signals.fatal, None
        if fatal is not None:
            self._terminate(fatal)

    def _terminate(self, info: SignalInfo) -> None:
        self.signal = info.signo
        if self.fault is not None and self.fault.signo == info.signo:
            self.stopped, self.message = "fault", str(self.fault)
            return
        self.fault = None
        self.stopped, self.message = "signal", self._signal_message(info)

    def _signal_message(self, info: SignalInfo) -> str:
        name = signal.Signals(info.signo).name
        rip = self.machine.reg("rip")
        where = self.symbols.describe(rip) or self.machine.describe(rip)
        sender = "the program sent it to itself" if info.pid == self.process.pid else \
            "sent by the debugger"
        note = " (its handler was not run: emu runs no signal handlers)" \
            if signals.handled(self.process, info.signo) else ""
        return (f"{name} ({signal.strsignal(info.signo)}): {sender}{note}\n"
                f"    rip {rip:#x}" + (f" <{where}>" if where else ""))

    def run(self, budget: Budget) -> RunResult:
        """Run to the end and tear the process down."""
        while self.alive:
            self.resume(budget)
            if self.alive:      # reached NEVER: cannot happen, but never spin
                self.stopped, self.message = "fault", "stopped for no reason"
        return self.finish()

    def _entering_kernel(self) -> None:
        for observer in self.kernel_entry_observers:
            observer()

    def _fault(self, vaddr, access, walk, reason):
        self._entering_kernel()
        return self.aspace.fault(vaddr, access, walk, reason)

    def _on_syscall(self) -> None:
        self._entering_kernel()
        m = self.machine
        rax, rdi, rsi, rdx, r10, r8, r9, rip, rflags = m.read_regs(SYSCALL_REGS)
        result = dispatch(self.process, rax, (rdi, rsi, rdx, r10, r8, r9),
                          trace=self.trace is not None)
        # As the syscall instruction does: rcx = the return address (rip still
        # points at the 2-byte syscall here), r11 = rflags.
        m.write_regs({"rax": result & U64, "rcx": rip + 2, "r11": rflags})
        if self.trace is not None:
            self.trace(self.process.syscalls[-1].text if self.process.syscalls else "")
        if self.process.exit_code is not None:
            self.machine.stop(ProcessExit(self.process.exit_code))
        elif self.process.signals.fatal is not None:
            self.machine.stop(ProcessSignalled(self.process.signals.fatal))

    # -- undo support for the debugger ------------------------------------------------

    def kernel_state(self) -> dict:
        """Everything a syscall or page fault may change outside guest RAM."""
        m = self.machine
        return {"aspace": self.aspace.snapshot(), "frames": m.frames.snapshot(),
                "memory_map": m.memory_map.snapshot(), "process": self.process.snapshot(),
                "runner": (self.exit_code, self.stopped, self.fault, self.message,
                           self.pending_signal, self.signal)}

    def restore_kernel_state(self, state: dict) -> None:
        m = self.machine
        self.aspace.restore(state["aspace"])
        m.frames.restore(state["frames"])
        m.memory_map.restore(state["memory_map"])
        self.process.restore(state["process"])
        (self.exit_code, self.stopped, self.fault, self.message, self.pending_signal,
         self.signal) = state["runner"]

    # -- the end -------------------------------------------------------------------------

    def snapshot_maps(self) -> list[dict]:
        return [{"start": v.start, "end": v.end, "perms": v.perms, "name": v.name}
                for v in self.aspace.vmas]

    def finish(self) -> RunResult:
        """Take the final figures, then free the whole address space."""
        space = self.aspace
        result = RunResult(
            exit_code=self.exit_code, stdout=bytes(self.process.output[1]),
            stderr=bytes(self.process.output[2]), fault=self.fault, stopped=self.stopped,
            message=self.message, syscalls=self.process.syscall_count,
            maps=self.snapshot_maps(), brk={"start": space.brk_start, "end": space.brk},
            pages_mapped=space.resident_pages(), page_faults=space.page_faults,
            syscall_log=list(self.process.syscalls), signal=self.signal)
        if not self.finished:
            space.destroy()
            self.finished = True
        return result


def _auxv(aspace, rsp: int) -> bytes:
    """The auxiliary vector build_stack put above argv and envp (what
    /proc/PID/auxv holds), AT_NULL pair included."""
    def word(at: int) -> int:
        return struct.unpack("<Q", aspace.read(at, 8))[0]
    at = rsp + 8 * (word(rsp) + 2)                  # past argc, argv[], NULL
    while word(at):                                 # envp[] up to its NULL
        at += 8
    start = at = at + 8
    while word(at):                                 # (type, value) pairs up to AT_NULL
        at += 16
    return aspace.read(start, at + 16 - start)

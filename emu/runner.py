"""Running a program as a user process on the machine.

    runner = ProcessRunner(machine, image, ["prog", "arg"])
    result = runner.run(Budget(seconds=60))      # to exit, fault or budget
    result.exit_code, result.stdout, result.fault

A ProcessRunner owns one process: its address space is built at construction,
the machine's syscall and page-fault traps go to it while it runs, and
finish() tears it down (every frame back to the os_MemoryMap) after taking the
figures a report needs: maps, break, pages mapped, page faults, syscalls.
The debugger drives a ProcessRunner step by step through resume().
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from kernel.address_space import AddressSpace
from kernel.exec import build_stack, map_image
from kernel.process import Process
from kernel.syscalls import dispatch

from .errors import (EXIT_BUDGET, EXIT_OOM, EXIT_SOFTWARE, BudgetExceeded, GuestFault,
                     KernelPanic, OutOfMemory)
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


STEPPED = "stepped"          # resume(stepping=True) used up its instructions


@dataclass
class RunResult:
    """What happened to a process, with the figures `emu run --json` prints."""
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    fault: GuestFault | None
    stopped: str | None                  # why it did not exit: fault, budget, oom, panic
    message: str                         # the report for a person, "" after a clean exit
    syscalls: int
    maps: list[dict]
    brk: dict
    pages_mapped: int
    page_faults: int
    syscall_log: list = field(default_factory=list)

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
        return 128 + (self.fault.signo if self.fault else signal.SIGSEGV)

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
        self.symbols = SymbolTable()
        for name, value in image.symbols.items():
            self.symbols.add_address(name, value)
        machine.write_regs({**{name: 0 for name in GPRS}, "rsp": rsp, "rip": image.entry,
                            "rflags": RFLAGS_AT_START, "fs_base": 0, **FPU_AT_START})
        self.exit_code: int | None = None
        self.fault: GuestFault | None = None
        self.stopped: str | None = None
        self.message = ""
        self.finished = False
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
        """
        m = self.machine
        try:
            request = m.run(m.reg("rip"), until=until, budget=budget, root=self.aspace.root,
                            user=True, traps=self._traps)
        except GuestFault as fault:
            self.fault, self.stopped, self.message = fault, "fault", str(fault)
            return None
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
        return request

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

    # -- undo support for the debugger ------------------------------------------------

    def kernel_state(self) -> dict:
        """Everything a syscall or page fault may change outside guest RAM."""
        m = self.machine
        return {"aspace": self.aspace.snapshot(), "frames": m.frames.snapshot(),
                "memory_map": m.memory_map.snapshot(), "process": self.process.snapshot(),
                "runner": (self.exit_code, self.stopped, self.fault, self.message)}

    def restore_kernel_state(self, state: dict) -> None:
        m = self.machine
        self.aspace.restore(state["aspace"])
        m.frames.restore(state["frames"])
        m.memory_map.restore(state["memory_map"])
        self.process.restore(state["process"])
        self.exit_code, self.stopped, self.fault, self.message = state["runner"]

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
            syscall_log=list(self.process.syscalls))
        if not self.finished:
            space.destroy()
            self.finished = True
        return result

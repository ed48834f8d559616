"""Running a program as a user process on the machine.

    session = Session(machine, image, ["prog", "arg"])
    result = session.run(Budget(seconds=60))      # to exit, fault or budget
    result.exit_code, result.stdout, result.fault

A Session owns one process: its address space is built at construction, the
syscall hook and the demand-paging hook point at it while it runs, and
finish() tears it down (every frame back to the os_MemoryMap) after taking the
figures a report needs: maps, break, pages mapped, page faults, syscalls.
The debugger drives a Session step by step through resume().
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from unicorn.x86_const import (UC_X86_REG_FPCW, UC_X86_REG_FPTAG, UC_X86_REG_MXCSR, UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
                               UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDI, UC_X86_REG_RDX,
                               UC_X86_REG_RFLAGS, UC_X86_REG_RIP, UC_X86_REG_RSI)

from kernel.address_space import AddressSpace, OutOfMemory
from kernel.exec import build_stack, load_image
from kernel.process import Process
from kernel.syscalls import dispatch

from .errors import BudgetExceeded, EmuError, GuestFault
from .machine import NEVER, Budget, Machine
from .registers import GPRS, U64
from .symbols import SymbolTable

_SYSCALL_REGS = [UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
                 UC_X86_REG_R10, UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_RIP, UC_X86_REG_RFLAGS]
RFLAGS_AT_START = 0x202
FPU_AT_START = ((UC_X86_REG_FPCW, 0x37F), (UC_X86_REG_FPTAG, 0xFFFF), (UC_X86_REG_MXCSR, 0x1F80))
EXIT_BUDGET = 124
EXIT_OOM = 128 + signal.SIGKILL


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


class Session:
    """One program loaded as a process on `machine`, ready to run."""

    def __init__(self, machine: Machine, image, argv: list[str], *, envp=(), stdin=b"",
                 trace=None, echo=None, data_limit: int | None = None, seed: int = 0):
        self.machine = machine
        self.image = image
        self.trace = trace                  # callable(line) for --strace, or None
        aspace = AddressSpace(machine.mmu, machine.frames)
        self.process = Process(aspace, image.path, list(argv), cpu=_CpuPorts(machine),
                               stdin=stdin, seed=seed)
        self.process.echo = echo
        self.process.data_limit = data_limit
        try:
            load_image(aspace, image)
            rsp = build_stack(aspace, image, list(argv), list(envp),
                              self.process.random.randbytes(16))
        except BaseException:
            aspace.destroy()
            raise
        self.symbols = SymbolTable()
        for name, value in image.symbols.items():
            self.symbols.add_address(name, value)
        for name in GPRS:
            machine.set_reg(name, 0)
        machine.set_reg("rsp", rsp)
        machine.set_reg("rip", image.entry)
        machine.set_reg("rflags", RFLAGS_AT_START)
        machine.set_reg("fs_base", 0)
        for register, value in FPU_AT_START:      # what Linux gives a new process
            machine.uc.reg_write(register, value)
        self.exit_code: int | None = None
        self.fault: GuestFault | None = None
        self.stopped: str | None = None
        self.message = ""
        self.finished = False
        self.before_kernel = None           # callable() run before syscalls and faults change state

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
        session (alive turns False) instead of raised; when `stepping`, running
        out of instructions is the expected end and returns STEPPED instead.
        """
        m = self.machine
        m.mmu.fault_handler = self._fault
        m.on_syscall = self._on_syscall
        m.faults.process_symbols = self.symbols
        try:
            request = m.run(m.reg("rip"), until=until, budget=budget, root=self.aspace.root,
                            user=True)
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
        except (EmuError, ArithmeticError, ValueError, MemoryError) as exc:
            # A kernel invariant broke on the guest's behalf: stop the process,
            # never the host. This is a bug in emu; the message says where.
            self.stopped = "panic"
            self.message = f"kernel panic: {type(exc).__name__}: {exc} (a bug in emu)"
            return None
        finally:
            m.mmu.fault_handler = None
            m.on_syscall = None
            m.faults.process_symbols = None
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

    def _fault(self, vaddr, access, walk, reason):
        if self.before_kernel is not None:
            self.before_kernel()
        return self.aspace.fault(vaddr, access, walk, reason)

    def _on_syscall(self) -> None:
        if self.before_kernel is not None:
            self.before_kernel()
        uc = self.machine.uc
        rax, rdi, rsi, rdx, r10, r8, r9, rip, rflags = uc.reg_read_batch(_SYSCALL_REGS)
        result = dispatch(self.process, rax, (rdi, rsi, rdx, r10, r8, r9),
                          trace=self.trace is not None)
        # As the syscall instruction does: rcx = the return address (rip still
        # points at the 2-byte syscall here), r11 = rflags.
        uc.reg_write_batch([(UC_X86_REG_RAX, result & U64), (UC_X86_REG_RCX, rip + 2),
                            (UC_X86_REG_R11, rflags)])
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
                "session": (self.exit_code, self.stopped, self.fault, self.message)}

    def restore_kernel_state(self, state: dict) -> None:
        m = self.machine
        self.aspace.restore(state["aspace"])
        m.frames.restore(state["frames"])
        m.memory_map.restore(state["memory_map"])
        self.process.restore(state["process"])
        self.exit_code, self.stopped, self.fault, self.message = state["session"]

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

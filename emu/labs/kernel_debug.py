"""A kernel routine call under `emu debug`: what `emu lab repro` opens for the
labs whose code runs in the kernel (pagewalk, memmap).

`emu debug` drives a process through a runner (emu/runner.py). A kernel call
has no process, so KernelCallRunner offers the same small surface, the one
the debugger's Target and commands use: resume() runs the routine in kernel
mode on the kernel's address space until it returns to the return trap
(that is its "exit"), aspace is the kernel's identity map (so `x`, `pt` and
watchpoints use physical addresses, as the routine does), and the process
views are empty. Everything else (breakpoints, stepping, reverse stepping,
watch, the memmap view) is the debugger's own.

    session = kernel_call_session(machine, program, "os_mem_allocate", {"rcx": 3})
    Repl(session).run_lines(["break os_mem_allocate", "continue", "memmap"])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel import layout
from kernel.vma import PROT_EXEC, PROT_READ

from ..debug.debugger import Debugger
from ..debug.dwarf.locations import RIP, RSP
from ..debug.frames import MAX_FRAMES, Frame
from ..debug.source import ProgramInfo
from ..debug.target import Target
from ..errors import BudgetExceeded, GuestFault
from ..machine import Traps
from ..registers import GPRS
from ..symbols import SymbolTable
from ..runner import STEPPED

RETURNED = 0                       # the "exit code" of a routine that returned


@dataclass
class KernelImage:
    """What the debugger reads from an image: symbols and the asm program."""
    path: str
    program: object
    symbols: dict
    elf_path: str | None = None
    base: int = 0


@dataclass(frozen=True)
class _KernelText:
    """The kernel's executable pages, as the debugger's unwinder asks a VMA:
    a return address there (the routine's return trap) is a real caller."""
    start: int = layout.KERNEL_TEXT
    end: int = layout.KERNEL_CODE_END
    prot: int = PROT_READ | PROT_EXEC
    name: str = "[kernel text]"


class _NoVMAs(list):
    """No process, so no VMAs to list; only the kernel text is found."""

    def find(self, address: int):
        text = _KernelText()
        return text if text.start <= address < text.end else None


@dataclass
class _KernelSpace:
    """An address space without a process (the kernel's, or tables a lab
    built), as the debugger's views expect one."""
    machine: object
    root: int = layout.KERNEL_PML4
    vmas: _NoVMAs = field(default_factory=_NoVMAs)
    brk_start: int = 0
    brk: int = 0
    page_faults: int = 0

    @property
    def tables(self):
        return self.machine.page_tables

    def map_page(self, page: int) -> bool:
        """Watchpoints need the page mapped: it is, or it is not RAM."""
        return self.machine.mmu.walk(page, self.root).mapped


@dataclass
class _NoProcess:
    pid: int = 0                   # no process: what `kill` and `info inferiors` show
    syscalls: list = field(default_factory=list)
    syscall_count: int = 0
    stdin: bytes = b""
    echo: object = None


class KernelCallRunner:
    """One call of a kernel routine (or one run of code on given tables),
    driven like a process by the debugger. It "exits" when rip reaches
    `until`: the return trap for a routine, the program's end label else."""

    def __init__(self, machine, entry: int, registers: dict[str, int], rflags: int,
                 symbols, *, root: int = layout.KERNEL_PML4, user: bool = False,
                 until: int = layout.RETURN_TRAP):
        self.machine = machine
        self.aspace = _KernelSpace(machine, root)
        self.process = _NoProcess()
        self.symbols = symbols
        self.user, self.until = user, until
        self.trace = None
        self.kernel_entry_observers: list = []
        self.exit_code: int | None = None
        self.stopped: str | None = None
        self.fault: GuestFault | None = None
        self.message = ""
        # What the debugger asks of a process runner about signals and forks: a
        # kernel call takes no signals (a fault ends it) and forks nothing.
        self.debugged = False
        self.pending_signal = None
        self.signal: int | None = None
        self.processes = [self.process]
        values = {name: 0 for name in GPRS}
        values.update(registers)
        if until == layout.RETURN_TRAP:
            values["rsp"] = layout.KERNEL_STACK_TOP - 8
            machine.ram.write_data(values["rsp"], layout.RETURN_TRAP.to_bytes(8, "little"))
        machine.write_regs({**values, "rip": entry, "rflags": rflags})

    @property
    def alive(self) -> bool:
        return self.exit_code is None and self.stopped is None

    def is_current_traced(self) -> bool:
        """The call is the only thing running: always the one debugged."""
        return True

    def deliver(self, signo: int) -> None:
        """No signal is ever pending on a kernel call: nothing to pass."""

    def resume(self, budget, until=None, stepping: bool = False):
        """Run on until the routine returns, faults, or the budget ends (see
        emu/runner.py's resume for the same contract)."""
        m = self.machine
        try:
            request = m.run(m.reg("rip"), until=self.until, budget=budget, root=self.aspace.root,
                            user=self.user, traps=Traps(symbols=self.symbols))
        except GuestFault as fault:
            self.fault, self.stopped, self.message = fault, "fault", str(fault)
            return None
        except BudgetExceeded as exc:
            if stepping and exc.kind == "instructions":
                return STEPPED
            self.stopped, self.message = "budget", str(exc)
            return None
        if request is None and m.reg("rip") == self.until:
            self.exit_code = RETURNED
            regs = m.registers()
            self.message = f"the routine returned: rax = {regs['rax']:#x}, rcx = {regs['rcx']:#x}"
        return request

    def kernel_state(self) -> dict:
        """Nothing outside guest RAM changes during a kernel call: the
        os_MemoryMap and the tables are RAM, which the history records."""
        return {"runner": (self.exit_code, self.stopped, self.fault, self.message)}

    def restore_kernel_state(self, state: dict) -> None:
        self.exit_code, self.stopped, self.fault, self.message = state["runner"]

    def finish(self):
        return None


class KernelCallDebugger(Debugger):
    """A Debugger whose `run` and `kill` make the same call again."""

    def __init__(self, target, image, info, remake):
        super().__init__(target, image, info, [image.path])
        self._remake = remake
        # The machine's names too (os_MemoryMap, the kernel's routines), not only the
        # program's labels, so `x/16bx os_MemoryMap` works in a kernel call.
        known = self.symbols.addresses()
        for name, value in image.symbols.items():
            if name not in known and value >= layout.SYSVARS:   # addresses, not constants
                self.symbols.add_address(name, value)

    def backtrace(self, limit: int = MAX_FRAMES) -> list[Frame]:
        """The routine's frames, then its caller: the return trap the call
        pushed at the top of the kernel stack. An asm routine that pushed
        registers has no frame pointer or CFI to unwind by, so the caller is
        put where the call left it, and `finish` runs until the routine
        returns."""
        frames = super().backtrace(limit)
        runner = self.target.runner
        if runner.until != layout.RETURN_TRAP or not runner.alive or not frames \
                or frames[-1].pc == layout.RETURN_TRAP or len(frames) >= limit:
            return frames
        frames[-1].frame_cfa = layout.KERNEL_STACK_TOP
        trap = {RIP: layout.RETURN_TRAP, RSP: layout.KERNEL_STACK_TOP}
        return frames + [Frame(len(frames), layout.RETURN_TRAP, layout.RETURN_TRAP, trap, self,
                               name="kernel_return_trap", physical=frames[-1].physical + 1)]

    def restart(self) -> None:
        old = self.target
        target = Target(self._remake(), old.history.limit)
        for bp in old.breakpoints.values():
            target.add_breakpoint(bp.address, bp.temporary, bp.location)
        self.target = target


def kernel_call_session(make_machine, program_path: str, routine: str,
                        registers: dict[str, int], rflags: int, history: int = 4096):
    """A debugger stopped at the first instruction of `routine`, called with
    `registers`. `make_machine()` returns (machine, program): a fresh machine
    set up as the failing test had it, and the program holding `routine`."""
    machine, program = make_machine()

    def remake():
        fresh, _ = make_machine()
        return KernelCallRunner(fresh, fresh.resolve(routine), registers, rflags,
                                fresh.symbols)
    runner = KernelCallRunner(machine, machine.resolve(routine), registers, rflags,
                              machine.symbols)
    image = KernelImage(program_path, program, dict(machine.symbols.all()))
    return KernelCallDebugger(Target(runner, history), image, ProgramInfo.for_image(image),
                              remake)


def program_session(make_machine, entry: str, history: int = 4096):
    """A debugger stopped at label `entry` of a program placed by the caller:
    `make_machine()` returns (machine, program, root); the code runs in user
    mode on `root` until the program's `done` label."""
    machine, program, root = make_machine()

    def runner_for(m, p, r):
        return KernelCallRunner(m, p.symbols[entry], {}, 0x202, _program_symbols(p), root=r,
                                user=True, until=p.symbols["done"])

    def remake():
        return runner_for(*make_machine())
    image = KernelImage(program.file, program, dict(program.symbols))
    return KernelCallDebugger(Target(runner_for(machine, program, root), history), image,
                              ProgramInfo.for_image(image), remake)


def _program_symbols(program):
    table = SymbolTable()
    table.add_program(program)
    return table

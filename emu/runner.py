"""Running a program as user processes on the machine.

    runner = ProcessRunner(machine, image, ["prog", "arg"])
    result = runner.run(Budget(seconds=60))      # to the end of every process
    result.exit_code, result.stdout, result.fault, result.processes

A ProcessRunner starts one program (`process`, pid 1000) and runs it and every
process it forks, on one CPU, until all have ended; the result is the first
process's outcome, the console's output and a report per process. Between
runs on the CPU a process's registers are its `context`; the machine's
syscall and page-fault traps go to whichever process is `current`.

Scheduling (kernel/tasks.py) is round-robin and deterministic. A process runs
until it exits, blocks (wait4, an empty pipe), yields, or, when another one
could run too, until its time slice (`quantum` instructions) is used up. A
single process runs without slices, at full speed.

Signals. A fault (SIGSEGV, SIGILL, ...) or a signal whose action is to
terminate ends the process that got it: wait status "killed by signal", exit
status 128+signal for the first process. With `debugged` set, the first
process stops instead, alive, with the signal pending, as ptrace stops a
traced one: the debugger resumes it with deliver(signo), which passes that
signal (the process dies) or none (0: it runs on).

The debugger follows the first process (gdb's follow-fork-mode parent):
resume() returns when the first process has run its budget, hit a
breakpoint, stopped or ended; the others run in between as the scheduler
says, and their breakpoint hits are not the debugger's (see Target).
"""

from __future__ import annotations

import signal
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from kernel.address_space import AddressSpace
from kernel.anon_maps import AnonMaps
from kernel.assist import AssistedFaults
from kernel.exec import build_stack, map_image
from kernel.files import Blocked, Console
from kernel.process import Process, SignalInfo
from kernel.syscalls import dispatch
from kernel.syscalls import signal as signals
from kernel.tasks import ProcessTable, exited_status, signaled_status

from .errors import BudgetExceeded, GuestFault, KernelPanic, OutOfMemory
from .faults import signal_info
from .guest_kernel import GuestKernel
from .guest_traps import GuestTraps, Oops
from .machine import NEVER, Budget, Machine, Traps
from .paging import U64
from .registers import GPRS
from .run_result import Outcome, ProcessReport, RunResult
from .symbols import SymbolTable
from .syscall_entry import SYSCALL_SIZE

RFLAGS_AT_START = 0x202
FPU_AT_START = {"fpcw": 0x37F, "fptag": 0xFFFF, "mxcsr": 0x1F80}   # what Linux gives
DEFAULT_QUANTUM = 100_000             # instructions in a time slice when several can run
COUNT_ALWAYS = 1 << 62                # an instruction budget that never runs out

STEPPED = "stepped"          # resume(stepping=True) used up its instructions
SIGNALLED = "signalled"      # resume() of a debugged process: a signal stopped it

__all__ = ["ProcessRunner", "RunResult", "STEPPED", "SIGNALLED"]


@dataclass
class _Left:
    """Why a process left the CPU: stop requests from the syscall trap, and
    what a kernel routine came to."""
    why: str          # "exit", "signal", "blocked", "yield", "guest-syscall", "routine"


@dataclass
class _Event:
    """What one time slice of a process came to (see _run_once)."""
    kind: str         # request stepped off routine signal exit oops oom budget panic
    request: object = None
    info: SignalInfo | None = None
    fault: GuestFault | None = None
    message: str = ""


class _CpuPorts:
    """What syscalls may do to the CPU: the FS and GS bases, and the whole
    state for fork (the current process's registers)."""

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

    def save_context(self):
        return self._m.save_context()


class ProcessRunner:
    """One program loaded as a process on `machine`, ready to run."""

    def __init__(self, machine: Machine, image, argv: list[str], *, envp=(), stdin=b"",
                 trace=None, echo=None, data_limit: int | None = None, seed: int = 0,
                 quantum: int = DEFAULT_QUANTUM, kernel: GuestKernel | None = None):
        self.machine = machine
        self.image = image
        self.trace = trace                  # callable(line) for --strace, or None
        self.stdin, self.echo = stdin, echo
        self.quantum = quantum
        self.table = ProcessTable()
        self.spaces: set = set()            # every live address space (shared memory)
        aspace = AddressSpace(machine.page_tables, machine.frames, machine.mmu, self.spaces)
        # first touches of anonymous memory mapped by the C walker (kernel/assist.py)
        self._assist = None if machine.mmu.assist is None else \
            AssistedFaults(machine.mmu.assist, machine.frames, self._may_lend,
                           AnonMaps(machine.mmu.anon_maps, machine.frames, self._may_call))
        if self._assist is not None:
            self._assist.watch(aspace)
        self.process = Process(aspace, image.path, list(argv), cpu=_CpuPorts(machine),
                               console=Console(echo), stdin=stdin, seed=seed)
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
        self.table.add(self.process)
        self.auxv = _auxv(aspace, rsp)
        self.symbols = SymbolTable.for_image(image)
        machine.write_regs({**{name: 0 for name in GPRS}, "rsp": rsp, "rip": image.entry,
                            "rflags": RFLAGS_AT_START, "fs_base": 0, **FPU_AT_START})
        self.current = self.process
        self.processes = [self.process]     # every process the run had, in pid order
        self.outcomes: dict[int, Outcome] = {self.process.pid: Outcome()}
        self.reports: dict[int, ProcessReport] = {}
        self.finished = False
        self.debugged = False               # stop at signals instead of dying (ptrace)
        self.pending_signal: SignalInfo | None = None
        # callables run before a syscall or a page fault changes kernel state
        self.kernel_entry_observers: list = []
        self._traps = Traps(syscall=self._on_syscall, page_fault=self._fault,
                            symbols=self.symbols)
        # a --kernel file: its routines take page faults and system calls
        self.guest = GuestTraps(machine, kernel, self._builtin_fault) if kernel else None
        self._delegated = None            # a user fault on its way to the guest handler
        if kernel is not None:
            for name, value in kernel.symbols.addresses().items():
                self.symbols.add_address(name, value)

    # -- the first process, as the debugger and reports see it ----------------------------

    @property
    def outcome(self) -> Outcome:
        return self.outcomes[self.process.pid]

    @property
    def aspace(self) -> AddressSpace:
        return self.process.aspace

    @property
    def alive(self) -> bool:
        return not self.outcome.ended

    exit_code = property(lambda self: self.outcome.exit_code)
    fault = property(lambda self: self.outcome.fault)
    stopped = property(lambda self: self.outcome.stopped)
    message = property(lambda self: self.outcome.message)
    signal = property(lambda self: self.outcome.signal)

    def is_current_traced(self) -> bool:
        """Is the process on the CPU the one the debugger follows?"""
        return self.current is self.process

    # -- running ---------------------------------------------------------------------

    def resume(self, budget: Budget, until: int = NEVER, stepping: bool = False):
        """Run until the first process reaches `until`, ends, stops at a hook,
        or has used `budget`; the other processes run when the scheduler says.

        Returns None when rip reached `until` or the process ended (the ending
        is recorded: alive turns False), STEPPED when `stepping` and its
        instructions are used up, SIGNALLED for a debugged process a signal
        stopped, or the stop request of a hook (the debugger's breakpoints).
        """
        deadline = time.monotonic() + budget.seconds if budget.seconds else None
        while self.alive:
            proc = self._next_process()
            if proc is None:
                self._deadlock()
                return None
            if proc is not self.process:
                self._run_other(proc, deadline)
                continue
            result = self._run_traced(budget, until, stepping, deadline)
            if result is not _AGAIN:
                return result
        return None

    def run(self, budget: Budget) -> RunResult:
        """Run every process to its end, then tear everything down."""
        deadline = time.monotonic() + budget.seconds if budget.seconds else None
        while self.alive:
            left = budget if deadline is None else Budget(
                budget.instructions, max(deadline - time.monotonic(), 0.001))
            self.resume(left)
        while self.table.live() and self.outcome.stopped not in ("budget", "panic"):
            proc = self._next_process()
            if proc is None:
                self._kill_all("deadlock", "every process is waiting: a deadlock")
                break
            self._run_other(proc, deadline)
        return self.finish()

    # -- one time slice ------------------------------------------------------------------

    def _next_process(self) -> Process | None:
        """The process to put on the CPU: the current one while it is the only
        one that can run, else the scheduler's next. Processes another one
        killed (kill(2)) end first."""
        for proc in self.table.live():
            info = proc.signals.fatal
            if info is not None and proc is not self.process:
                self._end(proc, Outcome(stopped="signal", signal=info.signo,
                                        message=self._signal_message(proc, info)),
                          signaled_status(info.signo))
        for proc in self.table.live():
            if proc.trap is not None:           # inside a kernel routine: it finishes first
                return proc
        scheduler = self.table.scheduler
        current = self.current
        if current.wait_status is None and scheduler.is_runnable(current.pid) \
                and scheduler.runnable() == 1:
            return current
        pid = scheduler.next()
        return None if pid is None else self.table.get(pid)

    def _slice(self, budget: Budget, deadline: float | None) -> Budget:
        """The budget for one time slice: the whole budget when nothing else can
        run, else at most a quantum."""
        seconds = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        instructions = budget.instructions
        if self.table.scheduler.runnable() > 1:
            instructions = min(instructions or self.quantum, self.quantum)
        elif self.guest is not None and instructions is None:
            instructions = COUNT_ALWAYS     # routines count; no flushes switching modes
        return Budget(instructions, seconds)

    def _switch_to(self, proc: Process) -> None:
        """Put `proc` on the CPU: its registers, and the return value of the
        system call it was in (fork's 0 in a new child)."""
        if proc is self.current:
            proc.context = None       # it never left the CPU: a context _rotate saved is stale
            return
        if self.current.wait_status is None and self.current.context is None:
            self.current.context = self.machine.save_context()
        self.machine.restore_context(proc.context)
        proc.context = None
        self.current = proc

    def _deliver_syscall_return(self, proc: Process) -> None:
        if proc.syscall_return is None:
            return
        m = self.machine
        rip, rflags = m.read_regs(("rip", "rflags"))
        m.write_regs({"rax": proc.syscall_return & U64, "rcx": rip + SYSCALL_SIZE,
                      "r11": rflags, "rip": rip + SYSCALL_SIZE})
        proc.syscall_return = None

    def _run_slice(self, proc: Process, budget: Budget, until: int, stepping: bool):
        """Put `proc` on the CPU and run it for one slice: user code, or the
        kernel routine it is in. Returns the stop request, or raises."""
        self._switch_to(proc)
        self._deliver_syscall_return(proc)
        if proc.trap is not None:
            request = self.guest.run(proc, budget if stepping else Budget())
            if request is not None:
                return request                           # a hook in the routine
            verdict = self.guest.leave(proc)
            if verdict.record is not None and self.trace is not None:
                self._trace(proc, verdict.record.text)
            if verdict.what == "refused":
                raise verdict.fault                      # SIGSEGV, as if no handler had run
            return _Left("routine")
        m = self.machine
        if self._assist is not None:
            self._assist.leave(proc)
            m.before_hook = self._catch_up
        try:
            return m.run(m.reg("rip"), until=until, budget=budget, root=proc.aspace.root,
                         user=True, traps=self._traps)
        except GuestFault as fault:
            if self._delegated is None:
                raise
            self._delegated = None
            self.guest.enter_fault(proc, fault)
            return _Left("routine")
        finally:
            if self._assist is not None and proc.aspace.root:
                self._assist.enter(proc.aspace)
                m.frames.settle()
                if self._assist.calls_made():    # as dispatch's, they may wake a process
                    self.table.scheduler.wake_all()

    def _run_once(self, proc: Process, budget: Budget, until: int, stepping: bool):
        """One slice of `proc`, and what came of it: an _Event."""
        try:
            request = self._run_slice(proc, budget, until, stepping)
        except GuestFault as fault:
            return _Event("signal", info=signal_info(fault), fault=fault)
        except BudgetExceeded as exc:
            if exc.kind == "instructions" and stepping:
                return _Event("stepped")
            if exc.kind == "instructions" and budget.instructions == self.quantum:
                return _Event("off")                     # its time slice, not its budget
            return _Event("budget", message=str(exc))
        except Oops as exc:
            proc.trap = None
            return _Event("oops", message=str(exc))
        except OutOfMemory as exc:
            return _Event("oom", message=f"SIGKILL: {exc} (the machine has "
                                         f"{self.machine.ram_mib} MiB of RAM)")
        except KernelPanic as exc:
            # A kernel invariant broke on the guest's behalf: stop the run, never
            # the host. Without guest routines this is a bug in emu; with them,
            # most likely the routines' doing (a frame freed while still mapped).
            return _Event("panic", message=f"kernel panic: {exc} ({self._blame()})")
        if not isinstance(request, _Left):
            return _Event("request", request=request)
        if request.why == "exit":
            return _Event("exit")
        if request.why == "signal":
            return _Event("signal", info=proc.signals.fatal)
        if request.why == "guest-syscall":
            self.guest.enter_syscall(proc, *proc.guest_syscall)
            return _Event("routine")
        if request.why in ("blocked", "yield"):
            self._rotate(proc, request)
            return _Event("off")
        return _Event("routine")

    def _run_traced(self, budget: Budget, until: int, stepping: bool, deadline):
        proc = self.process
        if proc.signals.fatal is not None:             # killed by another process
            return self._signalled(proc.signals.fatal, None)
        user_step = stepping and proc.trap is None
        slice_budget = budget if stepping else self._slice(budget, deadline)
        event = self._run_once(proc, slice_budget, until, stepping)
        while user_step and event.kind == "routine" and proc.trap is not None:
            # a step trapped into a kernel routine: the routine runs whole, as the
            # CPU's trap would, then the step is done (a system call) or made again
            kind = proc.trap.kind
            event = self._run_once(proc, Budget(), NEVER, False)
            while event.kind == "routine" and proc.trap is not None:
                event = self._run_once(proc, Budget(), NEVER, False)
            if event.kind != "routine" or kind == "syscall":
                break
            event = self._run_once(proc, slice_budget, until, stepping)
        return self._traced_event(proc, event, stepping)

    def _traced_event(self, proc: Process, event, stepping: bool):
        """What resume() makes of an _Event of the first process."""
        kind = event.kind
        if kind == "request":
            return event.request
        if kind == "stepped" or (stepping and kind == "routine"):
            return STEPPED
        if kind in ("off", "routine"):
            self._rotate(proc)
            return _AGAIN
        if kind == "signal":
            return self._signalled(event.info, event.fault)
        return self._finish_event(proc, event)

    def _run_other(self, proc: Process, deadline) -> None:
        """One time slice of a process the debugger does not follow; whatever
        ends it is recorded on that process, and hooks' stops are ignored."""
        event = self._run_once(proc, self._slice(Budget(), deadline), NEVER, False)
        if event.kind == "signal":
            info = event.info
            outcome = Outcome(fault=event.fault, stopped="fault", signal=info.signo,
                              message=str(event.fault)) if event.fault is not None and \
                event.fault.signo == info.signo else \
                Outcome(stopped="signal", signal=info.signo,
                        message=self._signal_message(proc, info))
            self._end(proc, outcome, signaled_status(info.signo))
        elif event.kind in ("off", "routine", "request", "stepped"):
            self._rotate(proc)
        else:
            self._finish_event(proc, event)

    def _finish_event(self, proc: Process, event) -> None:
        """exit, oops, oom, budget, panic: the process (or the run) ends."""
        if event.kind == "exit":
            self._end(proc, Outcome(exit_code=proc.exit_code), exited_status(proc.exit_code))
        elif event.kind in ("oops", "oom"):
            self._end(proc, Outcome(stopped=event.kind, signal=signal.SIGKILL,
                                    message=event.message), signaled_status(signal.SIGKILL))
        else:
            self._kill_all(event.kind, event.message)

    def _rotate(self, proc: Process, request=None) -> None:
        """`proc` leaves the CPU but stays: its registers are kept for later. A
        blocked one makes its system call again when it is woken."""
        if isinstance(request, _Left) and request.why == "blocked":
            self.machine.set_reg("rip", proc.restart_at)
        if proc is self.current and proc.context is None:
            proc.context = self.machine.save_context()

    # -- system calls and faults ------------------------------------------------------------

    def _entering_kernel(self) -> None:
        if self._assist is not None:
            self._assist.enter(self.current.aspace)
        for observer in self.kernel_entry_observers:
            observer()

    def _may_lend(self) -> bool:
        """May the C walker map pages now? Not while Python must see every
        fault: a --kernel file is loaded, kernel entries are observed (the
        debugger's record) or RAM writes are."""
        return self.guest is None and not self.kernel_entry_observers and \
            not self.machine.ram.observers

    def _catch_up(self) -> None:
        """A tool's hook runs mid-slice (the malloc lab's fill and verify read
        and write the process): the kernel first takes in what C did."""
        if self.current.aspace.root:
            self._assist.enter(self.current.aspace)

    def _may_call(self) -> bool:
        """May C make mmap and munmap calls now (kernel/anon_maps.py)? When
        the walker may map pages and no --strace line must be written."""
        return self.trace is None and self._may_lend()

    def _fault(self, vaddr, access, leaf, reason):
        self._entering_kernel()
        if self.guest is not None and self.guest.kernel.on_fault is not None:
            self._delegated = (vaddr, access)           # the guest handler takes it
            return reason
        space = self.current.aspace
        verdict = space.fault(vaddr, access, leaf, reason)
        if verdict is True and self._assist is not None:
            self._assist.faulted(space, vaddr)
            self._assist.leave(self.current, returning=True)
        return verdict

    def _builtin_fault(self, vaddr, access, leaf, reason):
        """The built-in demand paging, for a kernel routine's own accesses."""
        return self.current.aspace.fault(vaddr, access, leaf, reason)

    def _on_syscall(self, regs: list[int]) -> int | None:
        """The machine's syscall trap: the result for rax (the machine sets rcx
        and r11 as the instruction does), or None when the call does not
        return now."""
        self._entering_kernel()
        m, proc = self.machine, self.current
        rax, rdi, rsi, rdx, r10, r8, r9, rip, rflags = regs
        if self.guest is not None and rax in self.guest.kernel.syscalls:
            proc.guest_syscall = (rax, (rdi, rsi, rdx, r10, r8, r9), rip, rflags)
            m.stop(_Left("guest-syscall"))
            return None
        result = dispatch(proc, rax, (rdi, rsi, rdx, r10, r8, r9), trace=self.trace is not None)
        if isinstance(result, Blocked):
            self.table.scheduler.block(proc.pid)
            proc.restart_at = rip                # made again when the process is woken
            m.stop(_Left("blocked"))
            return None
        if self._assist is not None:
            self._assist.refill()
        if self.trace is not None and proc.syscalls:
            self._trace(proc, proc.syscalls[-1].text)
        if self.table.created != len(self.processes):
            self._note_new_processes()
        self.table.scheduler.wake_all()          # a pipe or a child may have changed
        if proc.exit_code is not None:
            m.stop(_Left("exit"))
        elif proc.signals.fatal is not None:
            m.stop(_Left("signal"))
        elif proc.yield_requested:
            proc.yield_requested = False
            m.stop(_Left("yield"))
        elif self._assist is not None:
            self._assist.leave(proc, returning=True)
        return result

    def _trace(self, proc: Process, line: str) -> None:
        self.trace(line if proc is self.process else f"[pid {proc.pid}] {line}")

    def _note_new_processes(self) -> None:
        for proc in self.table.processes.values():
            if proc.pid not in self.outcomes:
                self.processes.append(proc)
                self.outcomes[proc.pid] = Outcome()

    # -- how processes end ----------------------------------------------------------------

    def _signalled(self, info: SignalInfo, fault: GuestFault | None):
        """A signal that kills the first process: pending for a debugger, else the end."""
        self.outcome.fault = fault
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
            self.outcome.fault = None
            return
        if pending is not None and pending.signo == signo:
            self._terminate(pending)
            return
        self.outcome.fault = None
        signals.send(self.process, SignalInfo(signo, signals.SI_USER))
        fatal, self.process.signals.fatal = self.process.signals.fatal, None
        if fatal is not None:
            self._terminate(fatal)

    def _terminate(self, info: SignalInfo) -> None:
        fault = self.outcome.fault
        if fault is not None and fault.signo == info.signo:
            outcome = Outcome(fault=fault, stopped="fault", signal=info.signo, message=str(fault))
        else:
            outcome = Outcome(stopped="signal", signal=info.signo,
                              message=self._signal_message(self.process, info))
        self._end(self.process, outcome, signaled_status(info.signo))

    def _signal_message(self, proc: Process, info: SignalInfo) -> str:
        name = signal.Signals(info.signo).name
        rip = self.machine.reg("rip")
        where = self.symbols.describe(rip) or self.machine.describe(rip)
        sender = "the program sent it to itself" if info.pid == proc.pid else \
            f"sent by pid {info.pid}" if info.pid else "sent by the debugger"
        note = " (its handler was not run: emu runs no signal handlers)" \
            if signals.handled(proc, info.signo) else ""
        return (f"{name} ({signal.strsignal(info.signo)}): {sender}{note}\n"
                f"    rip {rip:#x}" + (f" <{where}>" if where else ""))

    def _end(self, proc: Process, outcome: Outcome, status: int) -> None:
        """`proc` has ended: record how, take its figures, free its memory and
        files, and let its parent (and everyone waiting) know."""
        if self.outcomes.get(proc.pid, Outcome()).ended:
            return
        self.outcomes[proc.pid] = outcome
        self.reports[proc.pid] = self._report(proc, outcome)
        if proc is not self.process:
            self._release(proc)
        proc.files.close_all()
        self.table.exited(proc, status)
        if proc is self.current:
            proc.context = None

    def _kill_all(self, why: str, message: str) -> None:
        """The run stops (its budget, a kernel panic, a deadlock): every
        process ends; the first one carries the message."""
        for proc in list(self.table.live()):
            outcome = Outcome(stopped=why, message=message if proc is self.process else "")
            self._end(proc, outcome, signaled_status(signal.SIGKILL))

    def _deadlock(self) -> None:
        self._kill_all("deadlock", "deadlock: every process is waiting (for a child, or "
                                   "for a pipe nobody will write), so none can run")

    def _release(self, proc: Process) -> None:
        if proc.aspace.root:
            try:
                proc.aspace.destroy()
            except KernelPanic as exc:
                if self.guest is None:
                    raise
                raise KernelPanic(f"{exc} ({self._blame()})") from None

    def _blame(self) -> str:
        """Who most likely broke a kernel invariant: emu itself, or the guest
        routines standing in for parts of the kernel."""
        if self.guest is None:
            return "a bug in emu: please report it"
        return (f"the kernel routines of {Path(self.guest.kernel.path).name} may have broken "
                f"the kernel's bookkeeping, e.g. freed a frame that is still mapped")

    def _report(self, proc: Process, outcome: Outcome) -> ProcessReport:
        space = proc.aspace
        return ProcessReport(
            pid=proc.pid, ppid=proc.ppid, outcome=outcome, maps=_maps(space),
            brk={"start": space.brk_start, "end": space.brk},
            pages_mapped=space.resident_pages(), page_faults=space.page_faults,
            cow_faults=space.cow_faults, shared_pages=space.shared_pages(),
            syscalls=proc.syscall_count)

    # -- undo support for the debugger ------------------------------------------------

    def kernel_state(self) -> dict:
        """Everything a syscall or page fault may change outside guest RAM."""
        m = self.machine
        return {"frames": m.frames.snapshot(), "memory_map": m.memory_map.snapshot(),
                "processes": {p.pid: (p, p.aspace.snapshot(), p.snapshot(), p.context,
                                      p.syscall_return, p.wait_status, p.ppid)
                              for p in self.table.processes.values()},
                "table": (dict(self.table.processes), self.table.scheduler.snapshot(),
                          self.table._next_pid),
                "spaces": set(self.spaces), "current": self.current,
                "runner": ({pid: o.copy() for pid, o in self.outcomes.items()},
                           dict(self.reports), list(self.processes), self.pending_signal)}

    def restore_kernel_state(self, state: dict) -> None:
        m = self.machine
        m.frames.restore(state["frames"])
        m.memory_map.restore(state["memory_map"])
        for proc, space, saved, context, returning, status, ppid in state["processes"].values():
            proc.aspace.restore(space)
            proc.restore(saved)
            proc.context, proc.syscall_return, proc.wait_status, proc.ppid = \
                context, returning, status, ppid
        processes, scheduler, next_pid = state["table"]
        self.table.processes = dict(processes)
        self.table.scheduler.restore(scheduler)
        self.table._next_pid = next_pid
        self.spaces.clear()
        self.spaces.update(state["spaces"])
        self.current = state["current"]
        outcomes, reports, every, self.pending_signal = state["runner"]
        self.outcomes = {pid: o.copy() for pid, o in outcomes.items()}
        self.reports, self.processes = dict(reports), list(every)

    # -- the end -------------------------------------------------------------------------

    def snapshot_maps(self) -> list[dict]:
        return _maps(self.aspace)

    def finish(self) -> RunResult:
        """Take the final figures, then free every address space."""
        if not self.finished:
            for proc in list(self.table.live()):
                if proc is not self.process:
                    self._end(proc, Outcome(stopped="signal", signal=signal.SIGKILL),
                              signaled_status(signal.SIGKILL))
        outcome, proc = self.outcome, self.process
        report = self.reports.get(proc.pid) or self._report(proc, outcome)
        result = RunResult(
            exit_code=outcome.exit_code, stdout=bytes(proc.output[1]),
            stderr=bytes(proc.output[2]), fault=outcome.fault, stopped=outcome.stopped,
            message=outcome.message, syscalls=proc.syscall_count, maps=report.maps,
            brk=report.brk, pages_mapped=report.pages_mapped, page_faults=report.page_faults,
            syscall_log=list(proc.syscalls), signal=outcome.signal,
            processes=[self.reports.get(p.pid) or self._report(p, self.outcomes[p.pid])
                       for p in self.processes])
        if not self.finished:
            self._release(proc)
            self.finished = True
        return result


_AGAIN = object()            # _run_traced: the first process left the CPU for a while


def _maps(space) -> list[dict]:
    return [{"start": v.start, "end": v.end, "perms": v.perms, "name": v.name}
            for v in space.vmas]


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

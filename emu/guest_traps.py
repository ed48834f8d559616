"""Calling guest kernel routines (emu/guest_kernel.py) for a process's traps.

A process that takes a page fault, or makes a system call a routine handles,
enters kernel mode: its registers are saved in a TrapFrame, the CPU runs the
routine on the process's CR3 at the kernel's privilege, on the kernel stack,
with the arguments the contract gives (asm/kernel/emu_kernel.h) and
HANDLER_RETURN as its return address. When the routine returns there, leave()
puts the process's registers back and applies the result:

    trap        routine's rax        the process then
    fault       0                    makes the faulting instruction again
    fault       anything else        gets SIGSEGV for the address (the fault stands)
    syscall     the result           finds it in rax after its syscall

The routine runs like any code: breakpoints stop in it and the debugger steps
through it (resume() goes on where it stopped, still in kernel mode). No other
process runs while one is inside a routine: they share the kernel stack. A
fault in the routine, a system call from it, or running past its budget is a
kernel oops (Oops): the process is killed and the report names the routine.

The routine's own accesses to user memory are demand-paged by the built-in
kernel, as copy_to_user would fault them in.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel import layout
from kernel.address_space import USER_TOP
from kernel.process import SyscallRecord
from kernel.syscalls.trace import format_call

from .errors import BudgetExceeded, GuestFault
from .guest_kernel import GuestKernel, Routine, error_code
from .machine import Budget, Traps
from .paging import NOT_PRESENT

HANDLER_RETURN = layout.kernel_virt(layout.RETURN_TRAP)   # never runs: the routine's return
HANDLER_STACK = layout.KERNEL_STACK_TOP                   # physical; used at its high alias
RFLAGS_IN_KERNEL = 0x2


@dataclass
class TrapFrame:
    """A process inside a routine: what to put back, and what the trap was."""
    kind: str                      # "fault" | "syscall"
    routine: Routine
    user: object                   # the process's CPU context at the trap
    budget_left: int
    fault: GuestFault | None = None
    number: int = 0                # kind syscall: the call's number and arguments
    args: tuple = ()
    return_rip: int = 0
    user_rflags: int = 0


class Oops(Exception):
    """A routine broke: the message for the report (not an EmuError: it ends
    the process it ran for, never the run)."""


@dataclass
class Verdict:
    """What leave() decided: "retry", "refused" (the fault stands: SIGSEGV),
    or "returned" (with the system call's record, logged like any other)."""
    what: str
    fault: GuestFault | None = None
    record: SyscallRecord | None = None


class GuestTraps:
    """Enters, runs and leaves a GuestKernel's routines for a runner's processes."""

    def __init__(self, machine, kernel: GuestKernel, builtin_fault):
        self.machine = machine
        self.kernel = kernel
        self._traps = Traps(syscall=self._syscall_in_routine,
                            page_fault=self._routine_fault(builtin_fault),
                            symbols=kernel.symbols)

    # -- entering ----------------------------------------------------------------------

    def enter_fault(self, proc, fault: GuestFault) -> None:
        """A user page fault goes to --on-fault: rdi address, rsi error code,
        rdx the PML4's physical address, rcx the faulting rip."""
        routine = self.kernel.on_fault
        present = fault.reason != NOT_PRESENT
        frame = TrapFrame("fault", routine, self.machine.save_context(), self.kernel.budget,
                          fault=fault)
        self._enter(proc, frame, {"rdi": fault.address, "rsi": error_code(fault.access, present),
                                  "rdx": proc.aspace.root, "rcx": fault.rip})

    def enter_syscall(self, proc, number: int, args: tuple, rip: int, rflags: int) -> None:
        """System call `number` goes to its routine: the Linux argument
        registers as they were, r10 in rcx too, rax the number. `rip` is the
        syscall instruction's address."""
        routine = self.kernel.syscalls[number]
        frame = TrapFrame("syscall", routine, self.machine.save_context(), self.kernel.budget,
                          number=number, args=args, return_rip=rip + 2, user_rflags=rflags)
        rdi, rsi, rdx, r10, r8, r9 = args
        self._enter(proc, frame, {"rax": number, "rdi": rdi, "rsi": rsi, "rdx": rdx,
                                  "r10": r10, "rcx": r10, "r8": r8, "r9": r9})

    def _enter(self, proc, frame: TrapFrame, arguments: dict) -> None:
        m = self.machine
        stack = HANDLER_STACK - 8
        m.ram.write_data(stack, HANDLER_RETURN.to_bytes(8, "little"))
        m.write_regs({**arguments, "rsp": layout.kernel_virt(stack), "rflags": RFLAGS_IN_KERNEL,
                      "rip": frame.routine.address})
        proc.trap = frame

    # -- running -----------------------------------------------------------------------

    def run(self, proc, budget: Budget) -> object:
        """Run the routine `proc` is in, kernel mode, on its CR3: None when it
        returned (leave() is next), else a hook's stop request. Raises Oops,
        or BudgetExceeded when `budget` (a debugger's step) ran out first."""
        frame = proc.trap
        steps = budget.instructions if budget.instructions is not None else frame.budget_left
        allowed = min(steps, frame.budget_left)
        self.kernel.process = proc
        m = self.machine
        try:
            return m.run(m.reg("rip"), until=HANDLER_RETURN, budget=Budget(instructions=allowed),
                         root=proc.aspace.root, user=False, traps=self._traps)
        except GuestFault as fault:
            raise Oops(f"kernel oops in {frame.routine.name} (handling a {frame.kind}): "
                       f"{fault}") from None
        except Oops as exc:
            raise Oops(self._oops(frame, str(exc))) from None
        except BudgetExceeded:
            frame.budget_left -= allowed
            if frame.budget_left <= 0:
                raise Oops(self._oops(frame, f"it did not return within {self.kernel.budget:,} "
                                             f"instructions")) from None
            raise
        finally:
            self.kernel.process = None

    def leave(self, proc) -> Verdict:
        """The routine returned: the process's registers back, and its result."""
        frame, proc.trap = proc.trap, None
        result = self.machine.reg("rax")
        self.machine.restore_context(frame.user)
        if frame.kind == "syscall":
            self.machine.write_regs({"rax": result, "rcx": frame.return_rip,
                                     "r11": frame.user_rflags, "rip": frame.return_rip})
            signed = result - (1 << 64) if result >> 63 else result
            record = SyscallRecord(frame.number, frame.routine.name, frame.args, signed)
            record.text = format_call(proc, frame.routine.name, ("hex",) * 6, frame.args, signed)
            proc.log(record)
            return Verdict("returned", record=record)
        if result == 0:
            proc.aspace.page_faults += 1            # handled, as Linux counts a minor fault
            return Verdict("retry")
        return Verdict("refused", fault=frame.fault)

    def _oops(self, frame: TrapFrame, what: str) -> str:
        rip = self.machine.reg("rip")
        where = self.kernel.symbols.describe(rip)
        return (f"kernel oops in {frame.routine.name} (handling a {frame.kind}): {what}\n"
                f"    rip {rip:#x}" + (f" <{where}>" if where else ""))

    # -- what a routine may not do, and may ------------------------------------------------

    def _syscall_in_routine(self, _regs) -> None:
        raise Oops("a system call from inside a kernel routine")

    def _routine_fault(self, builtin_fault):
        def fault(vaddr, access, leaf, reason):
            if vaddr >= USER_TOP:
                return reason
            return builtin_fault(vaddr, access, leaf, reason)
        return fault

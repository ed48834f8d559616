"""Calling a student's kernel routine the way the labs' checkers do.

Every call:
  * starts with every general register the routine does not take as input
    holding a random canary, so code that assumes zeroed registers fails here
    as it would in a real kernel, and a clobbered register shows;
  * runs under an instruction budget (never seconds): the same verdict on
    every machine;
  * ends in a CallResult that says in one line what went wrong, if anything:
    a fault (with the instruction), a budget overrun, a stack left unbalanced.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel import layout

from ...errors import BudgetExceeded, GuestFault
from ...machine import Budget
from ...registers import GPRS
from ..prng import Prng

DF = 1 << 10
RFLAGS_CLEAR = 0x2                 # the reserved bit 1 only
CALLABLE = tuple(r for r in GPRS if r != "rsp")


@dataclass
class CallResult:
    """What one call did: the registers after `ret`, or why there are none."""
    registers: dict | None
    problem: str = ""

    @property
    def returned(self) -> bool:
        return self.registers is not None


def canaries(rng: Prng, inputs: dict[str, int]) -> dict[str, int]:
    """Every callable register: the inputs as given, the rest random."""
    values = {name: rng.next_u64() for name in CALLABLE}
    values.update(inputs)
    return values


def call_routine(machine, name: str, registers: dict[str, int], budget: int,
                 rflags: int = RFLAGS_CLEAR) -> CallResult:
    """Call `name` in kernel mode with `registers`; never raises for the
    guest's mistakes (faults, budget), it describes them."""
    try:
        after = machine.call(name, budget=Budget(instructions=budget), rflags=rflags,
                             **registers)
    except GuestFault as fault:
        where = f" <{fault.symbol}>" if fault.symbol else ""
        return CallResult(None, f"{name} faulted: {fault.reason}"
                                + (f" ({fault.access} at {fault.address:#x})"
                                   if fault.access else "")
                                + f" at rip {fault.rip:#x}{where}: "
                                + (fault.instruction or "?"))
    except BudgetExceeded as exc:
        return CallResult(None, f"{name} did not return within {budget:,} instructions "
                                f"(stopped at rip {exc.rip:#x}: an endless loop?)")
    if after["rsp"] != layout.KERNEL_STACK_TOP:
        return CallResult(after, f"{name} returned with rsp off by "
                                 f"{after['rsp'] - layout.KERNEL_STACK_TOP:+d} bytes "
                                 f"(unbalanced pushes and pops)")
    return CallResult(after)


def clobbered(before: dict[str, int], after: dict[str, int], outputs) -> list[str]:
    """The registers (not outputs) whose value changed, as 'rbx: 0x.. -> 0x..'."""
    return [f"{name}: {before[name]:#x} -> {after[name]:#x}" for name in CALLABLE
            if name not in outputs and before[name] != after[name]]

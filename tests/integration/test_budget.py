"""Runaway guests stop cleanly with BudgetExceeded."""

import pytest

from emu import Budget, BudgetExceeded


def test_infinite_loop_hits_the_instruction_budget(machine):
    machine.load_source("spin:\n  jmp spin\n")
    with pytest.raises(BudgetExceeded) as info:
        machine.call("spin", budget=Budget(instructions=10_000))
    assert info.value.kind == "instructions" and info.value.rip == machine.resolve("spin")


def test_infinite_loop_hits_the_time_budget(machine):
    machine.load_source("spin:\n  jmp spin\n")
    with pytest.raises(BudgetExceeded) as info:
        machine.call("spin", budget=Budget(seconds=0.2))
    assert info.value.kind == "time"


def test_the_machine_still_works_after_a_timeout(kernel):
    """Unicorn ignores a count in code cached by an uncounted run: run() must
    flush, or this call would spin for ever."""
    kernel.load_source("spin:\n  jmp spin\n")
    with pytest.raises(BudgetExceeded):
        kernel.call("spin", budget=Budget(seconds=0.1))
    with pytest.raises(BudgetExceeded):
        kernel.call("spin", budget=Budget(instructions=1000))
    assert kernel.call("os_mem_allocate", rcx=1)["rax"] != 0


def test_halting_instead_of_returning_is_reported(machine):
    from emu import GuestFault
    machine.load_source("stop:\n  hlt\n")
    with pytest.raises(GuestFault, match="halted"):
        machine.call("stop")


def test_divide_error_is_a_sigfpe_fault(machine):
    import signal
    from emu import GuestFault
    machine.load_source("divide:\n  xor edx, edx\n  xor ecx, ecx\n  div rcx\n  ret\n")
    with pytest.raises(GuestFault) as info:
        machine.call("divide")
    assert info.value.signo == signal.SIGFPE and info.value.rip == machine.resolve("divide") + 4

"""The syscall instruction's way into the kernel (emu/syscall_entry.py): the
C hook and its Python reference leave a program the same registers."""

import pytest

from emu import Budget, Machine
from emu.loader import load_program
from emu.runner import ProcessRunner
from tests.conftest import FIXTURES


@pytest.mark.parametrize("native", [True, False])
def test_syscall_returns_rax_rcx_r11_and_keeps_every_other_register(native):
    machine = Machine(ram_mib=64, native=native)
    if native and not machine._syscall_entry.native:
        pytest.skip("the native syscall entry could not be built here")
    assert machine._syscall_entry.native is native
    path = FIXTURES / "syscall_regs.asm"
    runner = ProcessRunner(machine, load_program(path), [str(path)])
    runner.resume(Budget(seconds=60))
    # the fixture exits with the number of the first check that failed
    assert runner.exit_code == 0
    assert [r.name for r in runner.process.syscalls] == ["getpid", "syscall_500", "exit"]


def test_an_exception_in_the_kernel_stops_the_run_and_is_raised_by_it():
    machine = Machine(ram_mib=64)
    path = FIXTURES / "syscall_regs.asm"
    runner = ProcessRunner(machine, load_program(path), [str(path)])

    def broken(_regs):
        raise ZeroDivisionError("a kernel bug")
    runner._traps = type(runner._traps)(syscall=broken, page_fault=runner._traps.page_fault)
    with pytest.raises(ZeroDivisionError, match="a kernel bug"):
        runner.resume(Budget(seconds=60))

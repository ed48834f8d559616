"""The kernel half: every address space maps all RAM at DIRECT_MAP and the
kernel's first GiB at KERNEL_VIRT, supervisor only, in shared tables."""

import pytest

from emu import Budget, GuestFault, Machine
from emu.assembler import assemble
from emu.elf import image_from_program
from emu.paging import SUPERVISOR
from emu.runner import ProcessRunner
from kernel import layout
from tests.fuzz.machines import BootState, assert_back_at_boot

BUDGET = Budget(instructions=10_000)
USER_PROGRAM = "_start: mov eax, 60\nxor edi, edi\nsyscall\nsection .data\nvalue: dq 0x1122334455667788\n"


@pytest.fixture
def process():
    machine = Machine(ram_mib=64)
    program = assemble(USER_PROGRAM, base=0x400000, page_aligned=True)
    runner = ProcessRunner(machine, image_from_program(program), ["p"])
    yield machine, runner, program.symbols["value"]
    runner.finish()


def test_every_root_has_the_kernel_half_and_it_walks_to_the_same_frames(process):
    machine, runner, value = process
    frame = machine.mmu.walk(value, runner.aspace.root).paddr
    for root in (runner.aspace.root, layout.KERNEL_PML4):
        walk = machine.mmu.walk(layout.direct_map(frame), root)
        assert walk.paddr == frame and not walk.user
        text = machine.mmu.walk(layout.kernel_virt(layout.MEMORY_MAP), root)
        assert text.paddr == layout.MEMORY_MAP


def test_a_kernel_routine_on_a_process_cr3_reaches_user_memory_and_the_direct_map(process):
    machine, runner, value = process
    frame = machine.mmu.walk(value, runner.aspace.root).paddr
    routine = assemble(f"""
        mov rax, [{value}]                        ; the process's memory, at its user address
        mov rbx, {layout.direct_map(frame)}
        mov rbx, [rbx]                            ; the same bytes through the direct map
        mov rcx, {layout.kernel_virt(layout.OS_MEM_AMOUNT)}
        mov ecx, [rcx]                            ; os_MemAmount through the kernel text alias
    done: nop""", base=layout.kernel_virt(layout.KERNEL_CODE))
    machine.ram.write(layout.KERNEL_CODE, routine.image())
    machine.run(routine.start, until=routine.symbols["done"], budget=BUDGET,
                root=runner.aspace.root, user=False)
    assert machine.reg("rax") == machine.reg("rbx") == 0x1122334455667788
    assert machine.reg("rcx") == 64


def test_user_code_cannot_touch_the_kernel_half(process):
    machine, runner, _ = process
    user_copy = assemble(f"mov rax, {layout.DIRECT_MAP + 0x200000}\nmov rax, [rax]\ndone: nop",
                         base=0x400000)
    frame = machine.mmu.walk(0x400000, runner.aspace.root).paddr
    machine.ram.write(frame, user_copy.image())
    with pytest.raises(GuestFault) as fault:
        machine.run(0x400000, until=user_copy.symbols["done"], budget=BUDGET,
                    root=runner.aspace.root, user=True)
    assert fault.value.reason == SUPERVISOR


def test_the_kernel_half_is_shared_and_never_freed_with_a_process():
    machine = Machine(ram_mib=64)
    boot = BootState.of(machine)
    program = assemble(USER_PROGRAM, base=0x400000, page_aligned=True)
    for _ in range(3):
        runner = ProcessRunner(machine, image_from_program(program), ["p"])
        assert runner.run(Budget(seconds=10)).exit_code == 0
    assert_back_at_boot(machine, boot)
    assert machine.mmu.walk(layout.DIRECT_MAP + 0x200000, layout.KERNEL_PML4).mapped

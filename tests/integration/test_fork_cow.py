"""Copy-on-write fork of address spaces, at the kernel level (no scheduler):
frames are shared with a reference count, the first write copies, and every
frame comes back when both sides are gone."""

from emu import Machine
from emu.assembler import assemble
from emu.elf import image_from_program
from emu.paging import PTE_RW
from emu.runner import ProcessRunner
from kernel.fork import fork_address_space
from tests.fuzz.machines import BootState, assert_back_at_boot

PROGRAM = """
_start: nop
section .data
value: dq 7
section .bss
heap: resb 3 * 4096
"""


def setup():
    machine = Machine(ram_mib=64)
    boot = BootState.of(machine)
    program = assemble(PROGRAM, base=0x400000, page_aligned=True)
    runner = ProcessRunner(machine, image_from_program(program), ["parent"])
    return machine, boot, runner, program.symbols


def leaf(space, vaddr):
    return space.tables.walk(space.root, vaddr).leaf.entry


def test_fork_shares_frames_read_only_and_a_write_copies_once():
    machine, boot, runner, symbols = setup()
    parent = runner.process
    assert parent.write(symbols["heap"], b"parent data")
    space = parent.aspace
    child = fork_address_space(space)
    frame = machine.mmu.walk(symbols["heap"], space.root).paddr
    assert machine.mmu.walk(symbols["heap"], child.root).paddr == frame
    assert machine.frames.refcount(frame) == 2
    assert not leaf(space, symbols["heap"]) & PTE_RW and not leaf(child, symbols["heap"]) & PTE_RW
    assert space.shared_pages() == child.shared_pages() > 0

    assert parent.write(symbols["heap"], b"PARENT")                 # the parent writes: a copy
    assert space.cow_faults == 1 and machine.frames.refcount(frame) == 1
    assert machine.mmu.walk(symbols["heap"], space.root).paddr != frame
    assert child.read(symbols["heap"], 11) == b"parent data"        # the child's is untouched
    assert parent.read(symbols["heap"], 11) == b"PARENT data"

    child_frame = machine.mmu.walk(symbols["heap"], child.root).paddr
    assert child.prepare_write(symbols["heap"])                     # the last reference: no copy
    assert child.cow_faults == 0 and machine.mmu.walk(symbols["heap"], child.root).paddr == child_frame
    assert leaf(child, symbols["heap"]) & PTE_RW

    child.destroy()
    runner.finish()
    assert_back_at_boot(machine, boot)


def test_mprotect_does_not_make_a_shared_frame_writable():
    machine, boot, runner, symbols = setup()
    parent = runner.process
    assert parent.write(symbols["heap"], b"x")
    child = fork_address_space(parent.aspace)
    page = symbols["heap"] & ~0xFFF
    parent.aspace.protect(page, page + 0x1000, 1)
    parent.aspace.protect(page, page + 0x1000, 3)
    assert not leaf(parent.aspace, page) & PTE_RW
    assert parent.write(page, b"y") and child.read(page, 1) == b"x"
    child.destroy()
    runner.finish()
    assert_back_at_boot(machine, boot)


def test_frames_come_back_whichever_side_goes_first():
    for parent_first in (True, False):
        machine, boot, runner, symbols = setup()
        assert runner.process.write(symbols["heap"], bytes(3 * 4096))
        child = fork_address_space(runner.process.aspace)
        grandchild = fork_address_space(child)
        order = [runner.finish, child.destroy, grandchild.destroy]
        for step in (order if parent_first else order[::-1]):
            step()
        assert_back_at_boot(machine, boot)


def test_pt_marks_a_page_that_two_address_spaces_share_copy_on_write():
    from emu.views import walk_lines
    machine, boot, runner, symbols = setup()
    assert runner.process.write(symbols["heap"], b"x")
    child = fork_address_space(runner.process.aspace)
    walk = machine.mmu.walk(symbols["heap"], child.root)
    assert "shared by 2 address spaces: copy-on-write" in walk_lines(
        walk, refcount=machine.frames.refcount)[-1]
    child.destroy()
    walk = machine.mmu.walk(symbols["heap"], runner.aspace.root)
    assert "shared" not in walk_lines(walk, refcount=machine.frames.refcount)[-1]
    runner.finish()

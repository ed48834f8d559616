"""Fuzz target: sequences of system calls with wild arguments on a live process.

The calls go straight to the kernel's dispatch(), as the syscall instruction
would send them, mixed with touches of user memory (copy_to_user/from_user)
that fault pages in. Invariants after every step: the result is a 64-bit value
(a result or -errno), the kernel raised nothing, every resident page lies in a
VMA and its page-table entry grants no more than the VMA's protection (it may
grant less: a private page is read-only until its first write), the break lies
in [heap];
and after the process is torn down every frame and chunk is back.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from emu.paging import PTE_NX, PTE_RW, PTE_US, U64
from emu.runner import ProcessRunner
from kernel.address_space import MMAP_BASE, STACK_TOP
from kernel.syscalls import TABLE, dispatch
from kernel.vma import PROT_EXEC, PROT_NONE, PROT_WRITE
from tests.fuzz.conftest import FUZZ, record
from tests.fuzz.machines import assert_back_at_boot, shared_machine, image_of_bytes

MEMORY_CALLS = [9, 10, 11, 12, 25, 28]            # mmap mprotect munmap brk mremap madvise
OTHER_CALLS = sorted(set(TABLE) - set(MEMORY_CALLS) - {60, 231}) + [999, 1 << 32]
ADDRESSES = st.sampled_from([
    0, 0x1000, 0x10000, 0x400000, 0x401000, 0x402000, 0x500000, 0x6000_0000,
    MMAP_BASE - 0x10000, MMAP_BASE, STACK_TOP - 0x1000, STACK_TOP, 1 << 47, (1 << 47) - 0x1000,
    U64, U64 - 0xFFF, 1 << 63, 0x7FFF_FFFF_F000 + 1])
LENGTHS = st.sampled_from([0, 1, 0x1000, 0x1001, 0x3000, 0x10000, 0x200000, 1 << 30,
                           1 << 46, U64, U64 - 0xFFF, 1 << 63])
SMALL = st.sampled_from([0, 1, 2, 3, 4, 5, 7, 8, 9, 0x10, 0x20, 0x22, 0x32, 0x100022,
                         0x3, 0x13, 0x1000000, U64, 0xFFFF_FFFF])
ARG = st.one_of(ADDRESSES, LENGTHS, SMALL, st.integers(0, U64))

CALL = st.tuples(st.sampled_from(MEMORY_CALLS * 4 + OTHER_CALLS),
                 st.tuples(ARG, ARG, ARG, ARG, ARG, ARG))
TOUCH = st.tuples(st.just("touch"), st.tuples(ADDRESSES | st.integers(0, 1 << 47),
                                               st.sampled_from([1, 8, 4096, 5000]),
                                               st.booleans()))


def machine():
    return shared_machine("syscalls")


def check_pages_match_vmas(space) -> None:
    """Every resident user page lies in a VMA and grants no more than its prot."""
    vmas = space.vmas
    for vma in vmas:
        for _, mapping in space.tables.leaves(space.root, vma.start, vma.size, split=False):
            entry = mapping.entry
            if vma.prot == PROT_NONE:
                assert not entry & PTE_US, f"PROT_NONE page {mapping.vaddr:#x} is user"
                continue
            assert entry & PTE_US, f"{mapping.vaddr:#x} not user in {vma}"
            if entry & PTE_RW:
                assert vma.prot & PROT_WRITE, f"{mapping.vaddr:#x} writable in {vma}"
            if not entry & PTE_NX:
                assert vma.prot & PROT_EXEC, f"{mapping.vaddr:#x} executable in {vma}"
    resident = sum(1 for _ in space.tables.mappings(space.root))
    in_vmas = sum(1 for v in vmas for _ in space.tables.leaves(space.root, v.start, v.size,
                                                                 split=False))
    assert resident == in_vmas, "a page is mapped outside every VMA"


@FUZZ
@given(steps=st.lists(st.one_of(CALL, CALL, TOUCH), min_size=1, max_size=30))
def test_syscall_sequences_keep_the_kernel_consistent(steps):
    m, boot = machine()
    runner = ProcessRunner(m, image_of_bytes(b"\x90", bss=8192), ["fuzz"])
    process, space = runner.process, runner.aspace
    errors = 0
    try:
        for number, args in steps:
            if number == "touch":
                address, length, write = args
                ok = process.write(address, bytes(length)) if write else \
                    process.read(address, length) is not None
                errors += not ok
            else:
                result = dispatch(process, number, args)
                assert -4095 <= result <= U64, f"syscall {number} returned {result}"
                errors += result < 0
            check_pages_match_vmas(space)
            assert space.brk_start <= space.brk
    finally:
        runner.finish()
    assert_back_at_boot(m, boot)
    record("syscalls", "some refused" if errors else "all accepted")

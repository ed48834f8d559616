"""The MMU with guest code: translation, faults, A/D bits, and walk() agreement."""

import pytest

from emu import Budget, GuestFault
from emu.assembler import assemble
from emu.errors import UnmappedAccess
from emu.paging import (NOT_PRESENT, NO_EXECUTE, READ_ONLY, SUPERVISOR, PAGE_2M, PAGE_4K,
                        PTE_A, PTE_D, PTE_NX, PTE_RW, PTE_US)
from kernel import layout

CODE = 0x400000
DATA = 0x600000
HUGE = 0x4000_0000
BUDGET = Budget(instructions=100_000)


class Space:
    """A user address space with one code page, for running small snippets."""

    def __init__(self, machine):
        self.m = machine
        self.root = machine.page_tables.new_root()

    def page(self, vaddr, flags):
        frame = self.m.frames.alloc()
        assert self.m.page_tables.map(self.root, vaddr, frame, PAGE_4K, flags)
        return frame

    def run(self, source, **regs):
        program = assemble(source + "\ndone: nop\n", base=CODE)
        frame = self.m.mmu.walk(CODE, self.root).paddr if self.m.mmu.walk(CODE, self.root).mapped \
            else self.page(CODE, PTE_US)
        self.m.ram.write(frame, program.image())
        for name, value in regs.items():
            self.m.set_reg(name, value)
        self.m.run(CODE, until=program.symbols["done"], budget=BUDGET, root=self.root, user=True)
        return program


@pytest.fixture
def space(machine):
    return Space(machine)


def test_guest_reads_and_writes_land_on_the_mapped_4k_frame(space):
    frame = space.page(DATA, PTE_US | PTE_RW | PTE_NX)
    space.m.ram.write(frame + 16, (0xCAFE).to_bytes(8, "little"))
    space.run(f"mov rax, {DATA}\nmov qword [rax + 8], 0x1122\nmov rbx, [rax + 16]")
    assert space.m.reg("rbx") == 0xCAFE
    assert space.m.ram.read(frame + 8, 8) == (0x1122).to_bytes(8, "little")


def test_guest_accesses_through_a_2m_page_land_at_the_right_offset(space):
    chunk = space.m.memory_map.allocate(1)
    assert space.m.page_tables.map(space.root, HUGE, chunk, PAGE_2M, PTE_US | PTE_RW,
                                   page_size=PAGE_2M)
    space.run(f"mov rax, {HUGE + 0x123450}\nmov qword [rax], 77\nmov rbx, [rax]")
    assert space.m.reg("rbx") == 77
    assert space.m.ram.read(chunk + 0x123450, 8) == (77).to_bytes(8, "little")
    walk = space.m.mmu.walk(HUGE + 0x123450, space.root)
    assert walk.page_size == PAGE_2M and walk.paddr == chunk + 0x123450


def test_code_runs_from_a_2m_page(space):
    chunk = space.m.memory_map.allocate(1)
    space.m.page_tables.map(space.root, HUGE, chunk, PAGE_2M, PTE_US, page_size=PAGE_2M)
    code = assemble("mov rax, 99\ndone: nop", base=HUGE + 0x1000)
    space.m.ram.write(chunk + 0x1000, code.image())
    space.m.run(HUGE + 0x1000, until=code.symbols["done"], budget=BUDGET, root=space.root,
                user=True)
    assert space.m.reg("rax") == 99


def fault_of(space, source, **regs) -> GuestFault:
    with pytest.raises(GuestFault) as info:
        space.run(source, **regs)
    return info.value


def test_not_present_read_reports_exact_address_and_instruction(space):
    fault = fault_of(space, "mov rbx, 0x700000\nmov rax, [rbx + 0x18]")
    assert (fault.reason, fault.access, fault.address) == (NOT_PRESENT, "read", 0x700018)
    assert fault.rip == CODE + 5              # after mov ebx, 0x700000 (NASM's 5 bytes)
    assert fault.instruction == "mov rax, qword ptr [rbx + 0x18]"
    assert fault.mode == "user" and "SIGSEGV" in str(fault)


def test_write_to_read_only_page(space):
    space.page(DATA, PTE_US | PTE_NX)
    fault = fault_of(space, f"mov rax, {DATA}\nmov byte [rax + 5], 1")
    assert (fault.reason, fault.access, fault.address) == (READ_ONLY, "write", DATA + 5)


def test_fetch_from_nx_page(space):
    space.page(DATA, PTE_US | PTE_RW | PTE_NX)
    fault = fault_of(space, f"mov rax, {DATA + 0x40}\njmp rax")
    assert (fault.reason, fault.access, fault.address, fault.rip) == \
        (NO_EXECUTE, "fetch", DATA + 0x40, DATA + 0x40)


def test_user_access_to_supervisor_page(space):
    space.page(DATA, PTE_RW)          # no US
    fault = fault_of(space, f"mov rax, {DATA}\nmov rbx, [rax]")
    assert (fault.reason, fault.access) == (SUPERVISOR, "read")


def test_kernel_null_dereference_faults(machine):
    machine.load_source("read_null:\n  mov rax, [rbx]\n  ret\n")
    with pytest.raises(GuestFault) as info:
        machine.call("read_null", rbx=8)
    assert (info.value.reason, info.value.address, info.value.mode) == (NOT_PRESENT, 8, "kernel")
    assert info.value.symbol == "read_null"


def test_accessed_and_dirty_bits_appear_in_the_real_ptes(space):
    read_only_use = DATA
    written = DATA + 0x1000
    untouched = DATA + 0x2000
    for vaddr in (read_only_use, written, untouched):
        space.page(vaddr, PTE_US | PTE_RW | PTE_NX)
    def leaf(vaddr):
        return space.m.mmu.walk(vaddr, space.root).steps[-1].entry
    assert not leaf(read_only_use) & (PTE_A | PTE_D)
    space.run(f"mov rax, [{read_only_use}]\nmov rbx, {written}\nmov [rbx], rax")
    assert leaf(read_only_use) & PTE_A and not leaf(read_only_use) & PTE_D
    assert leaf(written) & PTE_A and leaf(written) & PTE_D
    assert not leaf(untouched) & (PTE_A | PTE_D)
    assert all(s.entry & PTE_A for s in space.m.mmu.walk(written, space.root).steps)


def test_first_write_after_a_read_still_sets_dirty(space):
    """A clean page is filled read-only, so the later write comes back for D."""
    space.page(DATA, PTE_US | PTE_RW | PTE_NX)
    space.run(f"mov rbx, {DATA}\nmov rax, [rbx]\nmov rcx, [rbx + 8]\nmov [rbx + 16], rcx")
    assert space.m.mmu.walk(DATA, space.root).steps[-1].entry & PTE_D


def test_walk_agrees_with_what_the_guest_saw(space):
    frames = [space.page(DATA + i * 4096, PTE_US | PTE_RW | PTE_NX) for i in range(4)]
    for i, frame in enumerate(frames):
        space.m.ram.write(frame + 8 * i, (0x1000 + i).to_bytes(8, "little"))
    loads = "\n".join(f"mov r{8 + i}, [{DATA + i * 4096 + 8 * i}]" for i in range(4))
    space.run(loads)
    for i in range(4):
        vaddr = DATA + i * 4096 + 8 * i
        paddr = space.m.mmu.walk(vaddr, space.root).paddr
        assert paddr == frames[i] + 8 * i
        assert space.m.reg(f"r{8 + i}") == int.from_bytes(space.m.ram.read(paddr, 8), "little")


def test_a_stale_translation_works_until_it_is_invalidated_as_on_hardware(space):
    space.page(DATA, PTE_US | PTE_RW | PTE_NX)
    space.run(f"mov rax, [{DATA}]")
    (removed,) = space.m.page_tables.unmap(space.root, DATA, PAGE_4K)
    assert removed.vaddr == DATA
    space.run(f"mov rax, [{DATA}]")                   # the TLB still holds the page
    space.m.mmu.invalidate(DATA, PAGE_4K)             # invlpg
    assert fault_of(space, f"mov rax, [{DATA}]").reason == NOT_PRESENT


def test_protect_and_invalidate_so_a_write_to_a_now_read_only_page_faults(space):
    space.page(DATA, PTE_US | PTE_RW | PTE_NX)
    space.run(f"mov rbx, {DATA}\nmov [rbx], rbx")
    space.m.page_tables.protect(space.root, DATA, PAGE_4K, PTE_US | PTE_NX)
    space.m.mmu.invalidate(DATA, PAGE_4K)
    assert fault_of(space, f"mov rbx, {DATA}\nmov [rbx], rbx").reason == READ_ONLY
    leaf = space.m.mmu.walk(DATA, space.root).steps[-1].entry
    assert leaf & PTE_D, "protect keeps the dirty bit"


def test_unmapping_part_of_a_2m_page_splits_it(space):
    chunk = space.m.memory_map.allocate(1)
    space.m.page_tables.map(space.root, HUGE, chunk, PAGE_2M, PTE_US | PTE_RW, page_size=PAGE_2M)
    space.m.page_tables.unmap(space.root, HUGE + 0x3000, PAGE_4K)
    assert not space.m.mmu.walk(HUGE + 0x3000, space.root).mapped
    neighbour = space.m.mmu.walk(HUGE + 0x4010, space.root)
    assert neighbour.page_size == 4096 and neighbour.paddr == chunk + 0x4010


def test_read_and_write_virtual_cross_pages_and_refuse_holes(space):
    space.page(DATA, PTE_US | PTE_RW)
    space.page(DATA + 4096, PTE_US | PTE_RW)
    space.m.mmu.write_virtual(DATA + 4090, b"0123456789", root=space.root)
    assert space.m.mmu.read_virtual(DATA + 4090, 10, root=space.root) == b"0123456789"
    with pytest.raises(UnmappedAccess):
        space.m.mmu.read_virtual(DATA + 8190, 4, root=space.root)


def test_kernel_identity_map_covers_ram_with_2m_supervisor_pages(machine):
    walk = machine.mmu.walk(0x3a00123)
    assert walk.paddr == 0x3a00123 and walk.page_size == PAGE_2M
    assert not walk.user and walk.writable and not walk.executable
    assert machine.mmu.walk(layout.KERNEL_CODE).executable
    assert not machine.mmu.walk(64 << 20).mapped       # past the end of RAM


def test_a_refused_write_sets_no_dirty_bit(space):
    """Hardware marks nothing for an access it refuses."""
    space.page(DATA, PTE_US | PTE_NX)                      # read-only
    space.run(f"mov rax, [{DATA}]")
    assert fault_of(space, f"mov rbx, {DATA}\nmov [rbx], rbx").reason == READ_ONLY
    assert not space.m.mmu.walk(DATA, space.root).steps[-1].entry & PTE_D


def test_non_canonical_addresses_do_not_alias_canonical_ones(space):
    space.page(DATA, PTE_US | PTE_RW)
    with pytest.raises(UnmappedAccess):
        space.m.mmu.read_virtual(DATA | (1 << 48), 8, root=space.root)
    with pytest.raises(UnmappedAccess):
        space.m.mmu.read_virtual(DATA | 0xDEAD_0000_0000_0000, 8, root=space.root)


def test_a_table_entry_pointing_outside_ram_is_reported_as_such(machine):
    from emu.paging import BAD_PHYSICAL, make_pte, PTE_P
    from kernel import layout
    machine.ram.write_u64(layout.KERNEL_PML4 + 8 * 1, make_pte(1 << 40, PTE_P | PTE_RW))
    machine.load_source("far:\n  mov rax, 0x8000000000\n  mov rax, [rax]\n  ret\n")
    with pytest.raises(GuestFault) as info:
        machine.call("far")
    assert info.value.reason == BAD_PHYSICAL

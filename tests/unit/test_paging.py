"""The page walk and its permission rules, on tables held in a bytearray."""

import struct

from emu.paging import (NOT_PRESENT, NO_EXECUTE, NON_CANONICAL, READ_ONLY, SUPERVISOR,
                        BAD_PHYSICAL, PAGE_2M, PTE_NX, PTE_P, PTE_PS, PTE_RW, PTE_US,
                        decode_flags, index_at, is_canonical, make_pte, refusal, walk)


class FakeRAM:
    def __init__(self, size=1 << 22):
        self.data = bytearray(size)

    def read_u64(self, paddr):
        return struct.unpack_from("<Q", self.data, paddr)[0]

    def set(self, paddr, value):
        struct.pack_into("<Q", self.data, paddr, value)


TABLE = PTE_P | PTE_RW | PTE_US


def build(vaddr, leaf_flags, huge=False):
    """Tables at 0x1000 (PML4), 0x2000, 0x3000, 0x4000 mapping vaddr to 0x200000."""
    ram = FakeRAM()
    ram.set(0x1000 + 8 * index_at(vaddr, "PML4"), make_pte(0x2000, TABLE))
    ram.set(0x2000 + 8 * index_at(vaddr, "PDPT"), make_pte(0x3000, TABLE))
    if huge:
        ram.set(0x3000 + 8 * index_at(vaddr, "PD"), make_pte(0x200000, leaf_flags | PTE_PS))
    else:
        ram.set(0x3000 + 8 * index_at(vaddr, "PD"), make_pte(0x4000, TABLE))
        ram.set(0x4000 + 8 * index_at(vaddr, "PT"), make_pte(0x200000, leaf_flags))
    return ram


def test_indices_follow_the_bit_layout():
    vaddr = (3 << 39) | (5 << 30) | (7 << 21) | (9 << 12) | 0x123
    assert [index_at(vaddr, lvl) for lvl in ("PML4", "PDPT", "PD", "PT")] == [3, 5, 7, 9]


def test_4k_walk_translates_with_offset():
    ram = build(0x400123, PTE_P | PTE_RW | PTE_US)
    result = walk(ram.read_u64, 0x1000, 0x400123)
    assert result.paddr == 0x200123
    assert result.page_size == 4096
    assert [s.level for s in result.steps] == ["PML4", "PDPT", "PD", "PT"]
    assert result.steps[-1].entry_addr == 0x4000 + 8 * 0


def test_2m_walk_stops_at_the_pd_and_keeps_21_offset_bits():
    ram = build(0x40000000 + 0x12345, PTE_P | PTE_RW, huge=True)
    result = walk(ram.read_u64, 0x1000, 0x40012345)
    assert result.page_size == PAGE_2M
    assert result.paddr == 0x200000 + 0x12345
    assert len(result.steps) == 3


def test_missing_entry_stops_the_walk_where_it_is_missing():
    ram = build(0x400000, PTE_P)
    result = walk(ram.read_u64, 0x1000, 0x400000 + (1 << 30))   # other PDPT slot
    assert not result.mapped
    assert result.stopped_at == "PDPT"
    assert result.reason == NOT_PRESENT


def test_refusal_reasons():
    ro_user = walk(build(0x400000, PTE_P | PTE_US).read_u64, 0x1000, 0x400000)
    assert refusal(ro_user, "write", user=True) == READ_ONLY
    assert refusal(ro_user, "read", user=True) is None
    kernel_page = walk(build(0x400000, PTE_P | PTE_RW).read_u64, 0x1000, 0x400000)
    assert refusal(kernel_page, "read", user=True) == SUPERVISOR
    assert refusal(kernel_page, "read", user=False) is None
    nx = walk(build(0x400000, PTE_P | PTE_US | PTE_NX).read_u64, 0x1000, 0x400000)
    assert refusal(nx, "fetch", user=True) == NO_EXECUTE
    assert refusal(nx, "read", user=True) is None


def test_supervisor_writes_honour_rw():
    ro_kernel = walk(build(0x400000, PTE_P).read_u64, 0x1000, 0x400000)
    assert refusal(ro_kernel, "write", user=False) == READ_ONLY


def test_us_must_be_set_at_every_level():
    ram = build(0x400000, PTE_P | PTE_US)
    ram.set(0x1000 + 8 * index_at(0x400000, "PML4"), make_pte(0x2000, PTE_P | PTE_RW))
    result = walk(ram.read_u64, 0x1000, 0x400000)
    assert refusal(result, "read", user=True) == SUPERVISOR


def test_non_canonical_addresses_never_translate():
    assert not is_canonical(0x0000_8000_0000_0000)
    assert is_canonical(0xFFFF_8000_0000_0000)
    result = walk(FakeRAM().read_u64, 0x1000, 0x0000_8000_0000_0000)
    assert result.reason == NON_CANONICAL


def test_entries_pointing_outside_ram_stop_the_walk():
    ram = build(0x400000, PTE_P)
    ram.set(0x3000 + 8 * index_at(0x400000, "PD"), make_pte(0x7000_0000, TABLE))
    result = walk(ram.read_u64, 0x1000, 0x400000, ram_size=len(ram.data))
    assert result.reason == BAD_PHYSICAL and result.stopped_at == "PD"


def test_decode_flags_names_bits():
    assert decode_flags(PTE_P | PTE_RW | PTE_NX) == "P RW NX"
    assert decode_flags(0) == "-"

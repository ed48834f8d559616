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


def _reference_pieces(read_u64, root, vaddr, length, ram_size):
    """translate_range's contract, walked naively page by page: the paddr (None
    when a level is missing, is a large page where none may be, or points
    outside RAM, or the bytes end outside RAM), and the leaf entry (a 2 MiB
    page's PD entry) with RW and US ANDed and NX ORed over the path (the raw
    entry when it is not present; 0 when no leaf was reached)."""
    from emu.paging import PAGE_4K, PTE_ADDR_MASK, is_canonical
    pieces = []
    whole = is_canonical(vaddr) and is_canonical(vaddr + max(length, 1) - 1)
    while length > 0:
        count = min(length, PAGE_4K - vaddr % PAGE_4K)
        paddr, entry, table, rw_us, nx = None, 0, root, PTE_RW | PTE_US, 0
        for level, shift in enumerate((39, 30, 21, 12)):
            if not whole:
                break
            e = read_u64(table + ((vaddr >> shift) & 511) * 8)
            if level == 2 and e & PTE_P and e & PTE_PS:
                entry = (e & ~(PTE_RW | PTE_US)) | (e & rw_us) | nx
                paddr = (e & PTE_ADDR_MASK & ~(PAGE_2M - 1)) | (vaddr & (PAGE_2M - 1))
                break
            if level == 3:
                entry = e
                if e & PTE_P:
                    paddr = (e & PTE_ADDR_MASK) | (vaddr & (PAGE_4K - 1))
                    entry = (e & ~(PTE_RW | PTE_US)) | (e & rw_us) | nx
                break
            if not e & PTE_P or (level < 2 and e & PTE_PS) or \
                    e & PTE_ADDR_MASK > ram_size - PAGE_4K:
                break
            rw_us &= e
            nx |= e & PTE_NX
            table = e & PTE_ADDR_MASK
        if paddr is not None and paddr + count > ram_size:
            paddr = None
        pieces.append((paddr, count, entry))
        vaddr, length = vaddr + count, length - count
    return pieces


def test_translate_range_agrees_with_a_page_by_page_walk_on_random_tables():
    """Random paths (missing levels, 1 GiB and 2 MiB PS bits, NX, RW/US off,
    tables and frames past the end of RAM) under random ranges."""
    import random
    from emu.paging import translate_range
    rng = random.Random(11)
    size = 64 * 4096
    mapped = 0
    for _ in range(1500):
        ram = FakeRAM(size)
        root = rng.randrange(64) * 4096
        vaddr = rng.choice([rng.getrandbits(47), (1 << 47) - rng.randrange(1, 20000),
                            0xFFFF_8000_0000_0000 + rng.getrandbits(40),
                            (rng.getrandbits(26) << 21) - rng.randrange(1, 9000)])
        length = rng.choice([0, 1, 8, 4095, 4096, 5000, 3 * 4096 + 17, 40000])
        for page in range(vaddr & ~0xFFF, vaddr + length, 4096):
            table = root
            for shift in (39, 30, 21, 12):
                slot = table + ((page >> shift) & 511) * 8
                entry = ram.read_u64(slot)
                if not entry & PTE_P:
                    flags = (rng.random() < 0.93) | rng.getrandbits(2) << 1 | \
                        (rng.random() < 0.1) << 63 | \
                        (PTE_PS if shift in (30, 21) and rng.random() < 0.08 else 0)
                    entry = rng.randrange(67) * 4096 | flags
                    ram.set(slot, entry)
                table = entry & 0x000F_FFFF_FFFF_F000
                if not entry & PTE_P or entry & PTE_PS or table + 4096 > size:
                    break
        got = translate_range(ram.read_u64, root, vaddr, length, size)
        assert got == _reference_pieces(ram.read_u64, root, vaddr, length, size)
        mapped += sum(paddr is not None for paddr, _, _ in got)
    assert mapped > 1000                     # the mapped path is well covered

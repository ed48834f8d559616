"""x86-64 4-level paging: entry bits, address arithmetic, and the page walk.

Pure logic: nothing here touches Unicorn. The walk reads 8-byte entries through a
`read_u64(paddr)` function, so tests can walk tables held in a bytearray.

A canonical 48-bit virtual address:

    63      48 47     39 38     30 29     21 20     12 11          0
   +----------+---------+---------+---------+---------+-------------+
   | sign ext | PML4    | PDPT    | PD      | PT      | offset      |
   +----------+---------+---------+---------+---------+-------------+
                9 bits    9 bits    9 bits    9 bits    12 bits

A page-table entry (the same layout at every level):

    63   62    52 51                       12 11  9  8   7   6   5   4   3   2   1   0
   +----+--------+---------------------------+-----+---+---+---+---+---+---+---+---+---+
   | NX | avail  | physical address 51..12   |avail| G |PS | D | A |PCD|PWT|US |RW | P |
   +----+--------+---------------------------+-----+---+---+---+---+---+---+---+---+---+

PS in a PD entry makes it a 2 MiB page (address bits 51..21); in a PDPT entry a
1 GiB page. Permissions combine across levels: a page is writable only if RW is
set at every level, user-accessible only if US is set at every level, and
executable only if NX is clear at every level (CR0.WP and EFER.NXE are on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import KernelPanic

PTE_P = 1 << 0       # present
PTE_RW = 1 << 1      # writable
PTE_US = 1 << 2      # user-accessible
PTE_PWT = 1 << 3     # write-through
PTE_PCD = 1 << 4     # cache disable
PTE_A = 1 << 5       # accessed: set by the walker on any use
PTE_D = 1 << 6       # dirty: set by the walker on a write (leaf entries)
PTE_PS = 1 << 7      # page size: 2 MiB page in a PD, 1 GiB page in a PDPT
PTE_G = 1 << 8       # global
PTE_NX = 1 << 63     # no execute

PTE_ADDR_MASK = 0x000F_FFFF_FFFF_F000    # bits 51..12

FLAG_NAMES = (
    (PTE_P, "P"), (PTE_RW, "RW"), (PTE_US, "US"), (PTE_PWT, "PWT"), (PTE_PCD, "PCD"),
    (PTE_A, "A"), (PTE_D, "D"), (PTE_PS, "PS"), (PTE_G, "G"), (PTE_NX, "NX"),
)

# The page arithmetic, named once for the whole project.
PAGE_4K = 1 << 12
PAGE_2M = 1 << 21
PAGE_1G = 1 << 30
ENTRIES = 512
U64 = (1 << 64) - 1                      # a 64-bit register or address, unsigned

LEVELS = ("PML4", "PDPT", "PD", "PT")
LEVEL_SHIFT = {"PML4": 39, "PDPT": 30, "PD": 21, "PT": 12}
# The page size a leaf at each level maps (PS at PDPT/PD, always at PT).
LEAF_SIZE = {"PDPT": PAGE_1G, "PD": PAGE_2M, "PT": PAGE_4K}

# Why a walk refuses an access: the GuestFault reasons.
NOT_PRESENT = "not present"
READ_ONLY = "write to read-only"
SUPERVISOR = "user access to supervisor page"
NO_EXECUTE = "fetch from NX"
BAD_PHYSICAL = "entry points outside RAM"
NON_CANONICAL = "non-canonical address"

ACCESSES = ("read", "write", "fetch")


def page_align_down(addr: int, size: int = PAGE_4K) -> int:
    """The start of the `size` page holding `addr` (size a power of two)."""
    return addr & ~(size - 1)


def page_align_up(addr: int, size: int = PAGE_4K) -> int:
    """`addr` rounded up to a multiple of `size` (size a power of two)."""
    return (addr + size - 1) & ~(size - 1)


def page_offset(addr: int, size: int = PAGE_4K) -> int:
    """The offset of `addr` inside its `size` page."""
    return addr & (size - 1)


def pages_in(vaddr: int, length: int, size: int = PAGE_4K) -> range:
    """The start of every `size` page that [vaddr, vaddr+length) touches."""
    return range(page_align_down(vaddr, size), page_align_up(vaddr + length, size), size)


def index_at(vaddr: int, level: str) -> int:
    """The 9-bit table index `vaddr` uses at `level`."""
    return (vaddr >> LEVEL_SHIFT[level]) & (ENTRIES - 1)


def pte_addr(entry: int) -> int:
    """The physical address an entry points to (next table or 4 KiB page)."""
    return entry & PTE_ADDR_MASK


def make_pte(paddr: int, flags: int) -> int:
    """An entry pointing at `paddr` (4 KiB aligned) with `flags`."""
    return (paddr & PTE_ADDR_MASK) | flags


def is_canonical(vaddr: int) -> bool:
    """True if bits 63..48 copy bit 47 (vaddr taken as an unsigned 64-bit value)."""
    top = vaddr >> 47
    return top == 0 or top == (1 << 17) - 1


def canonical(vaddr: int) -> int:
    """`vaddr` as an unsigned 64-bit value (negative Python ints wrap)."""
    return vaddr & U64


def decode_flags(entry: int) -> str:
    """The set flags of an entry as text: "P RW US A D NX"."""
    return " ".join(name for bit, name in FLAG_NAMES if entry & bit) or "-"


@dataclass(frozen=True)
class WalkStep:
    """One level of a walk: which entry was read and what it held."""
    level: str
    index: int
    entry_addr: int
    entry: int

    @property
    def present(self) -> bool:
        return bool(self.entry & PTE_P)

    @property
    def leaf(self) -> bool:
        """True if this entry maps a page rather than pointing to a table."""
        return self.present and (self.level == "PT" or
                                 (self.level in ("PDPT", "PD") and bool(self.entry & PTE_PS)))

    @property
    def flags(self) -> str:
        return decode_flags(self.entry)


@dataclass
class Walk:
    """The result of walking the tables under `root` for `vaddr`.

    paddr is the translated physical address, or None when the walk stopped at
    `stopped_at` (a level name) because that entry was not present, or held an
    address outside RAM (`reason` says which).
    """
    vaddr: int
    root: int
    steps: list[WalkStep] = field(default_factory=list)
    paddr: int | None = None
    page_size: int | None = None
    stopped_at: str | None = None
    reason: str | None = None

    @property
    def mapped(self) -> bool:
        return self.paddr is not None

    @property
    def leaf(self) -> WalkStep | None:
        return self.steps[-1] if self.mapped else None

    @property
    def writable(self) -> bool:
        return all(s.entry & PTE_RW for s in self.steps)

    @property
    def user(self) -> bool:
        return all(s.entry & PTE_US for s in self.steps)

    @property
    def executable(self) -> bool:
        return not any(s.entry & PTE_NX for s in self.steps)

    @property
    def page_base(self) -> int | None:
        """Virtual address of the first byte of the page that maps vaddr."""
        if self.page_size is None:
            return None
        return self.vaddr & ~(self.page_size - 1)


def walk(read_u64, root: int, vaddr: int, ram_size: int | None = None) -> Walk:
    """Walk the 4-level tables rooted at physical `root` for virtual `vaddr`.

    `read_u64(paddr)` returns the 8-byte little-endian value at a physical
    address. When `ram_size` is given, an entry pointing at or beyond it stops the
    walk with reason BAD_PHYSICAL instead of reading outside RAM. Reads only:
    the Accessed and Dirty bits are the caller's to set.
    """
    vaddr = canonical(vaddr)
    result = Walk(vaddr=vaddr, root=root)
    if not is_canonical(vaddr):
        result.stopped_at, result.reason = "PML4", NON_CANONICAL
        return result
    table = root
    for level in LEVELS:
        index = index_at(vaddr, level)
        entry_addr = table + 8 * index
        step = WalkStep(level, index, entry_addr, read_u64(entry_addr))
        result.steps.append(step)
        if not step.present:
            result.stopped_at, result.reason = level, NOT_PRESENT
            return result
        if step.leaf:
            size = LEAF_SIZE[level]
            base = pte_addr(step.entry) & ~(size - 1)
            result.paddr = base | (vaddr & (size - 1))
            result.page_size = size
            if ram_size is not None and base + size > ram_size:
                result.paddr, result.page_size = None, None
                result.stopped_at, result.reason = level, BAD_PHYSICAL
            return result
        table = pte_addr(step.entry)
        if ram_size is not None and table + PAGE_4K > ram_size:
            result.stopped_at, result.reason = level, BAD_PHYSICAL
            return result
    raise KernelPanic("walk: a PT entry is always a leaf")


def refusal(result: Walk, access: str, user: bool) -> str | None:
    """Why the hardware would refuse `access` through `result`, or None.

    access is "read", "write" or "fetch"; user is the privilege of the access.
    Supervisor writes honour RW too (CR0.WP = 1), as on every modern kernel.
    """
    if not result.mapped:
        return result.reason or NOT_PRESENT
    if user and not result.user:
        return SUPERVISOR
    if access == "write" and not result.writable:
        return READ_ONLY
    if access == "fetch" and not result.executable:
        return NO_EXECUTE
    return None


# -- translating a range: one walk of the upper levels per 2 MiB ---------------------

def translate_range(read_u64, root: int, vaddr: int, length: int, ram_size: int):
    """[(paddr or None, byte count, leaf entry)] covering [vaddr, vaddr+length),
    one piece per 4 KiB page (None where nothing is mapped). The upper levels
    are walked once per 2 MiB, so a large copy costs one entry read per page.

    The entry of a piece speaks for its whole path: RW and US are ANDed over
    the levels, NX is ORed. Reads only, like walk(). (Written out flat: the
    kernel's copies to and from user memory call it for every buffer.)"""
    if not (is_canonical(vaddr) and is_canonical(vaddr + max(length, 1) - 1)):
        return [(None, count, 0) for count in _page_pieces(vaddr, length)]
    pieces = []
    region, pde = -1, 0
    while length > 0:
        count = PAGE_4K - (vaddr & (PAGE_4K - 1))
        if count > length:
            count = length
        if vaddr >> 21 != region:                    # a new 2 MiB region: walk to its PD entry
            region = vaddr >> 21
            pde = _directory_entry(read_u64, root, vaddr, ram_size)
        entry, paddr = 0, None
        if pde & PTE_P:
            if pde & PTE_PS:
                entry = pde
                paddr = (pde & PTE_ADDR_MASK & ~(PAGE_2M - 1)) | (vaddr & (PAGE_2M - 1))
            else:
                entry = read_u64((pde & PTE_ADDR_MASK) + ((vaddr >> 9) & 0xFF8))
                if entry & PTE_P:
                    paddr = (entry & PTE_ADDR_MASK) | (vaddr & (PAGE_4K - 1))
                    entry = (entry & ~(PTE_RW | PTE_US)) | (entry & pde & (PTE_RW | PTE_US)) \
                        | (pde & PTE_NX)
        if paddr is not None and paddr + count > ram_size:
            paddr = None
        pieces.append((paddr, count, entry))
        vaddr += count
        length -= count
    return pieces


def _page_pieces(vaddr: int, length: int):
    """The byte counts of [vaddr, vaddr+length) cut at 4 KiB page boundaries."""
    while length > 0:
        count = min(length, PAGE_4K - page_offset(vaddr))
        yield count
        vaddr, length = vaddr + count, length - count


def _directory_entry(read_u64, root: int, vaddr: int, ram_size: int) -> int:
    """The PD entry for `vaddr` (a table or a 2 MiB page), or 0 when a level
    above it is missing or points outside RAM. RW and US of the upper levels
    are ANDed in and NX is ORed in, so the result speaks for the whole path."""
    limit = ram_size - PAGE_4K
    pml4e = read_u64(root + ((vaddr >> 36) & 0xFF8))
    if not pml4e & PTE_P or pml4e & PTE_PS or pml4e & PTE_ADDR_MASK > limit:
        return 0
    pdpte = read_u64((pml4e & PTE_ADDR_MASK) + ((vaddr >> 27) & 0xFF8))
    if not pdpte & PTE_P or pdpte & PTE_PS or pdpte & PTE_ADDR_MASK > limit:
        return 0
    pde = read_u64((pdpte & PTE_ADDR_MASK) + ((vaddr >> 18) & 0xFF8))
    if pde & PTE_P and not pde & PTE_PS and pde & PTE_ADDR_MASK > limit:
        return 0
    return (pde & ~(PTE_RW | PTE_US)) | (pde & pml4e & pdpte & (PTE_RW | PTE_US)) \
        | ((pml4e | pdpte) & PTE_NX)

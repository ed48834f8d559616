"""Editing 4-level page tables held in guest RAM: the kernel's job (xv6's vm.c).

The MMU (emu/mmu.py) only walks tables; the kernel builds and edits them here.
Tables are 4 KiB frames from the kernel's frame allocator; every function here
reads and writes real entries (layout in emu/paging.py), so what the guest, the
debugger and the tests see is exactly what a hardware walker would see. Editing
a table does not touch any TLB: whoever changes the current address space
invalidates what changed (AddressSpace does, through the MMU).

Intermediate entries are made P | RW, plus US when a user page lies below them:
the leaf entry decides the page's permissions, as on Linux.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

from emu.errors import KernelPanic

from .layout import KERNEL_HALF
from emu.paging import (ENTRIES, LEVELS, PAGE_2M, PAGE_4K, PTE_A, PTE_ADDR_MASK, PTE_D,
                        PTE_NX, PTE_P, PTE_PS, PTE_RW, PTE_US, LEVEL_SHIFT, index_at, make_pte,
                        page_align_down, pte_addr, translate_range, walk)

# Bits a caller may ask for in a leaf; P is added, PS follows the page size.
LEAF_FLAGS = PTE_RW | PTE_US | PTE_NX | (1 << 3) | (1 << 4) | (1 << 8)
_TABLE_FLAGS = PTE_P | PTE_RW
_LEVEL_OF_SIZE = {PAGE_4K: "PT", PAGE_2M: "PD"}


class Mapping(NamedTuple):
    """One leaf: `size` bytes at virtual `vaddr` map physical `paddr`. (A
    named tuple: unmapping makes one per page, and it is ~3x cheaper to make
    than a frozen dataclass.)"""
    vaddr: int
    paddr: int
    size: int
    entry: int


# Mapping(vaddr, paddr, size, entry) without the named tuple's Python __new__
# (unmapping makes one per page: a third less time)
_mapping = partial(tuple.__new__, Mapping)


class PageTables:
    """map / unmap / protect on the tables under a root (a PML4's address).

    `frames` provides alloc() -> zeroed frame or 0, and free(frame).
    `kernel_half` holds the PML4 entries (slot -> entry) every new root gets:
    the kernel's tables, shared by all address spaces, never freed with one.
    """

    def __init__(self, ram, frames, kernel_half: dict[int, int] | None = None):
        self.ram = ram
        self.frames = frames
        self.kernel_half = dict(kernel_half or {})
        # The machine's unmap in C, when it has one (emu/native_mmu.py's
        # unmap_leaves(root, start, end) -> [(vaddr, entry)], or None when a
        # large page is in the range); unmap() below is the reference.
        self.unmap_leaves = None

    def read_entry(self, paddr: int) -> int:
        return self.ram.read_u64(paddr)

    def walk(self, root: int, vaddr: int):
        return walk(self.ram.read_u64, root, vaddr, self.ram.size)

    def translate_range(self, root: int, vaddr: int, length: int):
        """See emu.paging.translate_range."""
        return translate_range(self.ram.read_u64, root, vaddr, length, self.ram.size)

    def new_root(self) -> int:
        """A fresh PML4 with nothing in its user half and the kernel half in
        place; 0 if no frame is left."""
        root = self.frames.alloc()
        for index, entry in self.kernel_half.items():
            self.ram.write_u64(root + 8 * index, entry)
        return root

    # -- map --------------------------------------------------------------------

    def map(self, root: int, vaddr: int, paddr: int, size: int, flags: int,
            page_size: int = PAGE_4K) -> bool:
        """Map [vaddr, vaddr+size) to [paddr, paddr+size) with leaf `flags`.

        vaddr, paddr and size must be multiples of page_size (4 KiB or 2 MiB)
        and nothing may be mapped there yet (KernelPanic "map: remap").
        Returns False, having mapped nothing, when frames for tables run out.
        """
        level = _LEVEL_OF_SIZE.get(page_size)
        if level is None:
            raise KernelPanic(f"map: page size {page_size:#x} is not 4 KiB or 2 MiB")
        if (vaddr | paddr | size) % page_size or size <= 0:
            raise KernelPanic(f"map: {vaddr:#x} -> {paddr:#x} size {size:#x} "
                              f"is not {page_size:#x}-aligned")
        if flags & ~LEAF_FLAGS:
            raise KernelPanic(f"map: flags {flags:#x} are not leaf flags")
        leaf = flags | PTE_P | (PTE_PS if page_size == PAGE_2M else 0)
        user = bool(flags & PTE_US)
        ram = self.ram
        for offset in range(0, size, page_size):
            slot = self._slot(root, vaddr + offset, level, create=True, user=user)
            if slot == 0:
                self.unmap(root, vaddr, offset)
                return False
            if ram.read_u64(slot) & PTE_P:
                raise KernelPanic(f"map: remap of {vaddr + offset:#x}")
            ram.write_u64(slot, make_pte(paddr + offset, leaf))
        return True

    def _slot(self, root: int, vaddr: int, level: str, create: bool, user: bool) -> int:
        """Physical address of the entry for `vaddr` at `level`.

        Walks down from the PML4, creating missing tables when `create` (0 when
        no frame is left) and splitting a 2 MiB page that is in the way. Returns
        0 when a table is missing and `create` is False.
        """
        table, read = root, self.ram.read_u64
        for current in LEVELS:
            slot = table + 8 * index_at(vaddr, current)
            if current == level:
                return slot
            entry = read(slot)
            if not entry & PTE_P:
                if not create:
                    return 0
                frame = self.frames.alloc()
                if frame == 0:
                    return 0
                entry = make_pte(frame, _TABLE_FLAGS | (PTE_US if user else 0))
                self.ram.write_u64(slot, entry)
            elif entry & PTE_PS:
                if current != "PD":
                    raise KernelPanic(f"map: {vaddr:#x} lies in a 1 GiB page")
                entry = self._split(slot, entry, user)
                if entry == 0:
                    return 0
            elif user and not entry & PTE_US:
                entry |= PTE_US
                self.ram.write_u64(slot, entry)
            table = pte_addr(entry)
        raise KernelPanic(f"walk: no level {level}")

    def _split(self, slot: int, entry: int, user: bool) -> int:
        """Turn the 2 MiB page in PD entry `slot` into a table of 512 4 KiB pages
        with the same flags; returns the new PD entry, or 0 if no frame is left."""
        frame = self.frames.alloc()
        if frame == 0:
            return 0
        flags = entry & ~(PTE_PS | PTE_ADDR_MASK)
        base = page_align_down(pte_addr(entry), PAGE_2M)
        entries = b"".join(make_pte(base + i * PAGE_4K, flags).to_bytes(8, "little")
                           for i in range(ENTRIES))
        self.ram.write_data(frame, entries)
        table_entry = make_pte(frame, _TABLE_FLAGS | (entry & PTE_US) |
                               (PTE_US if user else 0))
        self.ram.write_u64(slot, table_entry)
        return table_entry

    # -- unmap and protect --------------------------------------------------------

    def leaves(self, root: int, vaddr: int, size: int, split: bool = True):
        """Yield (slot, Mapping) for each present leaf in [vaddr, vaddr+size).

        A 2 MiB page only partly inside the range is split first when `split`.
        Holes are skipped a whole missing table's reach at a time, and the
        entries of one page table are read in a row, without walking down again.
        """
        addr, end = vaddr, vaddr + size
        while addr < end:
            level, slot, entry = self._leaf_at(root, addr, stop_at_table=True)
            reach = 1 << LEVEL_SHIFT[level]
            base = page_align_down(addr, reach)
            if not entry & PTE_P:
                addr = base + reach
                continue
            if level == "PD" and not entry & PTE_PS:      # a page table: read it in a row
                page, stop = page_align_down(addr), min(end, base + PAGE_2M)
                pte_slot = pte_addr(entry) + 8 * index_at(page, "PT")
                for pte in self.ram.read_u64s(pte_slot, (stop - page + PAGE_4K - 1) // PAGE_4K):
                    if pte & PTE_P:
                        yield pte_slot, Mapping(page, pte_addr(pte), PAGE_4K, pte)
                    page, pte_slot = page + PAGE_4K, pte_slot + 8
                addr = stop
                continue
            if reach > PAGE_4K and split and (base < vaddr or base + reach > end):
                if level != "PD" or self._split(slot, entry, bool(entry & PTE_US)) == 0:
                    raise KernelPanic(f"leaves: cannot split the {level} page at {base:#x}")
                continue  # look at addr again, now through the new page table
            yield slot, Mapping(base, page_align_down(pte_addr(entry), reach), reach, entry)
            addr = base + reach

    def _leaf_at(self, root: int, vaddr: int, stop_at_table: bool = False) -> tuple[str, int, int]:
        """(level, slot, entry) of the leaf mapping `vaddr`, or of the first entry
        that is not present on the way down; with stop_at_table, of the PD entry
        when it points to a page table."""
        table = root
        for level in LEVELS:
            slot = table + 8 * index_at(vaddr, level)
            entry = self.read_entry(slot)
            if not entry & PTE_P or level == "PT" or (entry & PTE_PS and level != "PML4") \
                    or (stop_at_table and level == "PD"):
                return level, slot, entry
            table = pte_addr(entry)
        raise KernelPanic("leaf_at: walked past the PT level")

    def unmap(self, root: int, vaddr: int, size: int) -> list[Mapping]:
        """Remove every mapping in [vaddr, vaddr+size); returns what was removed.

        The caller owns the physical pages and frees them; table frames stay
        until free_tables(). vaddr and size must be 4 KiB aligned.
        """
        if (vaddr | size) % PAGE_4K:
            raise KernelPanic(f"unmap: {vaddr:#x} size {size:#x} is not page-aligned")
        if self.unmap_leaves is not None and not self.ram.observers:
            cleared = self.unmap_leaves(root, vaddr, vaddr + size)
            if cleared is not None:
                return [_mapping((page, entry & PTE_ADDR_MASK, PAGE_4K, entry))
                        for page, entry in cleared]
        removed = []
        for slot, mapping in self.leaves(root, vaddr, size):
            self.ram.write_u64(slot, 0)
            removed.append(mapping)
        return removed

    def protect(self, root: int, vaddr: int, size: int, flags: int) -> int:
        """Set the leaf flags of every page in the range to `flags` (plus P, and
        PS for 2 MiB pages), keeping A and D; returns how many leaves changed."""
        if (vaddr | size) % PAGE_4K:
            raise KernelPanic(f"protect: {vaddr:#x} size {size:#x} is not page-aligned")
        if flags & ~LEAF_FLAGS:
            raise KernelPanic(f"protect: flags {flags:#x} are not leaf flags")
        changed = 0
        for slot, mapping in self.leaves(root, vaddr, size):
            kept = mapping.entry & (PTE_A | PTE_D | PTE_PS)
            self.ram.write_u64(slot, make_pte(pte_addr(mapping.entry), flags | PTE_P | kept))
            if flags & PTE_US:
                self._grant_user(root, mapping.vaddr)
            changed += 1
        return changed

    def _grant_user(self, root: int, vaddr: int) -> None:
        """Set US on the intermediate entries above a leaf that became user."""
        table = root
        for level in LEVELS[:-1]:
            slot = table + 8 * index_at(vaddr, level)
            entry = self.read_entry(slot)
            if entry & PTE_PS:
                return
            if not entry & PTE_US:
                self.ram.write_u64(slot, entry | PTE_US)
            table = pte_addr(entry)

    # -- whole address spaces -----------------------------------------------------

    def mappings(self, root: int, kernel_half: bool = False):
        """Yield every present leaf under `root` as a Mapping, lowest address
        first: the user half's, and the kernel half's too when asked."""
        yield from self._mappings_in(root, 0, 0, ENTRIES if kernel_half else KERNEL_HALF)

    def _mappings_in(self, table: int, depth: int, base: int, slots: int = ENTRIES):
        level = LEVELS[depth]
        shift = LEVEL_SHIFT[level]
        for index in range(slots):
            entry = self.read_entry(table + 8 * index)
            if not entry & PTE_P:
                continue
            vaddr = base | (index << shift)
            if depth == 0 and vaddr & (1 << 47):
                vaddr |= 0xFFFF_0000_0000_0000
            if level == "PT" or (entry & PTE_PS and level != "PML4"):
                size = 1 << shift
                yield Mapping(vaddr, page_align_down(pte_addr(entry), size), size, entry)
            else:
                yield from self._mappings_in(pte_addr(entry), depth + 1, vaddr)

    def free_tables(self, root: int) -> int:
        """Free every table frame of the user half under `root`, and root
        itself; returns how many. The kernel half is shared and stays.

        Leaf pages are not touched: the caller unmaps and frees those first.
        """
        return self._free_table(root, 0, KERNEL_HALF)

    def _free_table(self, table: int, depth: int, slots: int = ENTRIES) -> int:
        freed = 0
        if depth < len(LEVELS) - 1:
            for index in range(slots):
                entry = self.read_entry(table + 8 * index)
                if entry & PTE_P and not entry & PTE_PS:
                    freed += self._free_table(pte_addr(entry), depth + 1)
        self.frames.free(table)
        return freed + 1

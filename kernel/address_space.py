"""A process's address space: its own PML4, its VMAs, and demand paging.

The user half of an x86-64 address space, as this kernel lays it out (like
Linux without randomization):

    0x7ffffffff000  STACK_TOP      top of the stack, which grows down
    0x7ffffefff000                 STACK_TOP - STACK_LIMIT: lowest stack page
    0x7ffff7fff000  MMAP_BASE      mmap areas are placed top-down below this
          ...
                    brk            the program break: [heap] grows up to it
                    brk_start      first page after the program's bss
    0x000000400000                 a typical ET_EXEC's first segment
    0x000000010000  MMAP_MIN_ADDR  nothing is mapped below this

Pages are mapped on first touch: the MMU offers every refused access to
`fault()`, which maps a zeroed frame when the address lies in a VMA that
allows the access. Each user page owns one 4 KiB frame; unmapping a page
frees its frame, and destroy() frees every frame and table, so after a process
exits the os_MemoryMap is back to where it was.

PROT_NONE pages stay mapped without US, so their contents survive a later
mprotect; a user access to one faults and is reported as such.
"""

from __future__ import annotations

from emu.errors import KernelPanic, OutOfMemory
from emu.paging import (NO_EXECUTE, NOT_PRESENT, PAGE_4K, READ_ONLY, PTE_NX, PTE_RW, PTE_US,
                        page_align_down, pages_in)

from .vma import PROT_EXEC, PROT_NONE, PROT_WRITE, VMA, VMAList

STACK_TOP = 0x7FFF_FFFF_F000
STACK_LIMIT = 8 << 20
MMAP_BASE = 0x7FFF_F7FF_F000
MMAP_MIN_ADDR = 0x10000
USER_TOP = STACK_TOP

PROT_NONE_ACCESS = "access to PROT_NONE page"


def pte_flags(prot: int) -> int:
    """Leaf flags for a user page with protection `prot` (x86 cannot express
    write-only, so PROT_WRITE implies read; PROT_NONE drops US)."""
    if prot == PROT_NONE:
        return PTE_NX
    return PTE_US | (PTE_RW if prot & PROT_WRITE else 0) | (0 if prot & PROT_EXEC else PTE_NX)


class AddressSpace:
    """The user address space of one process."""

    def __init__(self, tables, frames, tlb):
        """`tables` edits page tables (kernel/page_tables.py), `frames` gives
        4 KiB frames, `tlb` is the CPU's MMU: invalidate() and cr3."""
        self.tables = tables
        self.ram = tables.ram
        self.frames = frames
        self.tlb = tlb
        self.root = self.tables.new_root()
        if self.root == 0:
            raise OutOfMemory("no frame for a new page table")
        self.vmas = VMAList()
        self.page_faults = 0
        self.brk_start = 0
        self.brk = 0
        # What the program's own pages held when it was loaded: a page dropped
        # with MADV_DONTNEED comes back with this, as a file page comes back
        # from the file on Linux (exec.map_image fills it in).
        self.file_pages: dict[int, bytes] = {}

    # -- VMAs and pages ---------------------------------------------------------------

    def add(self, start: int, end: int, prot: int, name: str) -> VMA:
        """A new demand-paged VMA over free, page-aligned [start, end)."""
        vma = VMA(start, end, prot, name)
        self.vmas.insert(vma)
        return vma

    def fault(self, vaddr: int, access: str, walk, reason: str):
        """The MMU's fault handler: True when a page was mapped, else the reason
        the access is refused."""
        vma = self.vmas.find(vaddr)
        if vma is None:
            return reason
        if not vma.allows(access):
            return {"write": READ_ONLY, "fetch": NO_EXECUTE}.get(access, PROT_NONE_ACCESS) \
                if vma.prot != PROT_NONE else PROT_NONE_ACCESS
        if walk.mapped or reason != NOT_PRESENT:
            return reason
        self._map_new_page(page_align_down(vaddr), vma.prot)
        self.page_faults += 1
        return True

    def _map_new_page(self, page: int, prot: int) -> int:
        """A zeroed frame (or the page's file contents) mapped at `page`."""
        frame = self.frames.alloc()
        if frame == 0:
            raise OutOfMemory(f"out of memory: no free frame for the page at {page:#x}")
        if not self.tables.map(self.root, page, frame, PAGE_4K, pte_flags(prot)):
            self.frames.free(frame)
            raise OutOfMemory(f"out of memory: no frame for a page table at {page:#x}")
        if page in self.file_pages:
            self.ram.write(frame, self.file_pages[page])
        return frame

    def map_page(self, page: int) -> bool:
        """Give the page at `page` a zeroed frame if it has none; False when the
        page has none and no VMA covers it."""
        if self.tables.walk(self.root, page).mapped:
            return True
        vma = self.vmas.find(page)
        if vma is None:
            return False
        self._map_new_page(page, vma.prot)
        return True

    def populate(self, vaddr: int, data: bytes) -> None:
        """Write `data` at `vaddr` as the kernel (loader, stack setup), mapping
        pages of the enclosing VMAs first. No permission checks."""
        for page in pages_in(vaddr, len(data)):
            if not self.map_page(page):
                raise KernelPanic(f"populate: {page:#x} is outside every VMA")
        done = 0
        for paddr, count, _ in self.tables.translate_range(self.root, vaddr, len(data)):
            self.ram.write(paddr, data[done:done + count])
            done += count

    def read(self, vaddr: int, length: int) -> bytes:
        """The bytes at [vaddr, vaddr+length) as the kernel sees them (no
        permission checks); KernelPanic where a page has no frame."""
        pieces = self.tables.translate_range(self.root, vaddr, length)
        if any(paddr is None for paddr, _, _ in pieces):
            raise KernelPanic(f"read: [{vaddr:#x}, +{length:#x}) is not all mapped")
        return b"".join(self.ram.view[p:p + n] for p, n, _ in pieces)

    def unmap(self, start: int, end: int) -> int:
        """Remove [start, end) from VMAs and page tables, freeing the frames;
        returns how many pages were resident there."""
        self.vmas.remove(start, end)
        removed = self.tables.unmap(self.root, start, end - start)
        for mapping in removed:
            self.frames.free(mapping.paddr)
        self._invalidate(start, end, bool(removed))
        return len(removed)

    def _invalidate(self, start: int, end: int, changed: bool = True) -> None:
        if changed and self.tlb.cr3 == self.root:
            self.tlb.invalidate(start, end - start)

    def discard(self, start: int, end: int) -> int:
        """Drop the resident pages of [start, end) but keep the VMAs, so the next
        touch maps zeroed pages again (MADV_DONTNEED)."""
        removed = self.tables.unmap(self.root, start, end - start)
        for mapping in removed:
            self.frames.free(mapping.paddr)
        self._invalidate(start, end, bool(removed))
        return len(removed)

    def protect(self, start: int, end: int, prot: int) -> None:
        """Set the protection of [start, end) (which must be covered by VMAs)."""
        self.vmas.reprotect(start, end, prot)
        self.tables.protect(self.root, start, end - start, pte_flags(prot))
        self._invalidate(start, end)

    def move(self, old: int, new: int, length: int) -> None:
        """Move the pages and VMAs of [old, old+length) to [new, new+length)
        (mremap); the target range must be free."""
        for piece in self.vmas.remove(old, old + length):
            self.add(piece.start - old + new, piece.end - old + new, piece.prot, piece.name)
        for mapping in self.tables.unmap(self.root, old, length):
            target = mapping.vaddr - old + new
            flags = mapping.entry & (PTE_US | PTE_RW | PTE_NX)
            if not self.tables.map(self.root, target, mapping.paddr, PAGE_4K, flags):
                raise OutOfMemory("out of memory: no frame for a page table during mremap")
        self._invalidate(old, old + length)

    def snapshot(self) -> dict:
        """The Python-side state (VMAs, break, counters); page tables live in RAM."""
        return {"vmas": self.vmas.snapshot(), "brk": self.brk, "brk_start": self.brk_start,
                "page_faults": self.page_faults}

    def restore(self, state: dict) -> None:
        self.vmas.restore(state["vmas"])
        self.brk, self.brk_start = state["brk"], state["brk_start"]
        self.page_faults = state["page_faults"]

    # -- accounting ------------------------------------------------------------------

    def resident_pages(self) -> int:
        """User pages that currently have a frame."""
        return sum(1 for v in self.vmas
                   for _ in self.tables.leaves(self.root, v.start, v.size, split=False))

    def destroy(self) -> None:
        """Free every page, every table and the PML4 (process exit)."""
        for vma in list(self.vmas):
            self.unmap(vma.start, vma.end)
        self.tables.free_tables(self.root)
        self.root = 0

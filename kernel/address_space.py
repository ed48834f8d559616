"""A process's address space: its own PML4, its VMAs, and demand paging.

The user half of an x86-64 address space, as this kernel lays it out (like
Linux without randomization):

    0x7ffffffff000  STACK_TOP      top of the stack, which grows down
    0x7fffff7ff000                 STACK_TOP - STACK_LIMIT: lowest stack page
    0x7ffff7fff000  MMAP_BASE      mmap areas are placed top-down below this
          ...
                    brk            the program break: [heap] grows up to it
                    brk_start      first page after the program's bss
    0x000000400000                 a typical ET_EXEC's first segment
    0x000000010000  MMAP_MIN_ADDR  nothing is mapped below this

Pages are mapped on first touch: the MMU offers every refused access to
`fault()`, which maps a zeroed frame when the address lies in a VMA that
allows the access. Each private user page owns one 4 KiB frame; unmapping
the page frees it, and destroy() frees every frame and table, so after a process
exits the os_MemoryMap is back to where it was.

PROT_NONE pages stay mapped without US, so their contents survive a later
mprotect; a user access to one faults and is reported as such.

A page of a shared mapping belongs to its SharedMemory object (kernel/vma.py),
not to the page-table entry that maps it: dropping the entry (MADV_DONTNEED,
munmap of one of two VMAs showing it) keeps the frame, and the object's frames
go back when no VMA shows the object any more.

Private memory gets its anon_vma (kernel/vma.py) at its first write, as on
Linux, where a read fault maps the shared zero page read-only and only a
write gives the VMA an anon_vma: here a read fault in a private VMA without
one maps its page read-only (PTE without RW), and the write fault that
follows gives the VMA its anon_vma and the page RW (prepare_write).

Copy-on-write (kernel/fork.py makes it): after a fork, parent and child map
the same frames, each holding a reference (FrameAllocator.share). A private
page whose frame has more than one reference is never writable: the first
write copies it into a frame of its own, or takes the frame back writable when
the other references are gone (the write fault below).

Guard pages (MADV_GUARD_INSTALL, Linux 6.13) are pages of a VMA that fault on
every access. Like Linux's guard PTE markers they stay through MADV_DONTNEED
and mprotect, move with mremap, and go with munmap or MADV_GUARD_REMOVE.
"""

from __future__ import annotations

from emu.errors import KernelPanic, OutOfMemory
from emu.paging import (NO_EXECUTE, NOT_PRESENT, PAGE_4K, PTE_ADDR_MASK, PTE_NX, PTE_RW,
                        PTE_US, READ_ONLY, page_align_down, pages_in)

from .vma import (EVERYWHERE, PROT_EXEC, PROT_NONE, PROT_WRITE, VM_ACCOUNT, VMA, AnonVMA,
                  GuardPages, VMAList)

STACK_TOP = 0x7FFF_FFFF_F000
STACK_LIMIT = 8 << 20
MMAP_BASE = 0x7FFF_F7FF_F000
MMAP_MIN_ADDR = 0x10000
USER_TOP = STACK_TOP

PROT_NONE_ACCESS = "access to PROT_NONE page"
GUARD_ACCESS = "access to a guard page (MADV_GUARD_INSTALL)"
BEYOND_SHARED = "access past the end of the shared memory object (SIGBUS on Linux)"


def pte_flags(prot: int) -> int:
    """Leaf flags for a user page with protection `prot` (x86 cannot express
    write-only, so PROT_WRITE implies read; PROT_NONE drops US)."""
    if prot == PROT_NONE:
        return PTE_NX
    return PTE_US | (PTE_RW if prot & PROT_WRITE else 0) | (0 if prot & PROT_EXEC else PTE_NX)


def vma_pte_flags(vma: VMA) -> int:
    """Leaf flags for a page of `vma`: pte_flags(prot), without RW while a
    private VMA has no anon_vma (its pages are Linux's read-only zero page
    until the first write)."""
    flags = pte_flags(vma.prot)
    return flags if vma.shared or vma.anon else flags & ~PTE_RW


class AddressSpace:
    """The user address space of one process."""

    def __init__(self, tables, frames, tlb, spaces: set | None = None):
        """`tables` edits page tables (kernel/page_tables.py), `frames` gives
        4 KiB frames, `tlb` is the CPU's MMU: invalidate() and cr3. `spaces`
        is the set of every live address space of the machine, which shared
        memory objects may be shown in (this one joins it)."""
        self.tables = tables
        self.ram = tables.ram
        self.tlb = tlb
        self.frames = frames
        self.spaces = spaces if spaces is not None else set()
        self.spaces.add(self)
        self.root = self.tables.new_root()
        if self.root == 0:
            raise OutOfMemory("no frame for a new page table")
        # The MMU's demand-zero assist (kernel/assist.py), told of every change
        # to the VMAs and guard pages; None when there is none.
        self.assist = None
        self.vmas = VMAList(on_change=self._layout_changed)
        self.guards = GuardPages()
        self.page_faults = 0
        self.cow_faults = 0              # of page_faults: writes that copied a shared frame
        self.brk_start = 0
        self.brk = 0
        # What the program's own pages held when it was loaded: a page dropped
        # with MADV_DONTNEED comes back with this, as a file page comes back
        # from the file on Linux (exec.map_image fills it in).
        self.file_pages: dict[int, bytes] = {}
        self.file_span = (0, 0)         # [lowest, highest + 1 page) of file_pages

    # -- VMAs and pages ---------------------------------------------------------------

    @property
    def guards(self) -> GuardPages:
        return self._guards

    @guards.setter
    def guards(self, guards: GuardPages) -> None:
        self._guards = guards
        guards.on_change = self._guards_changed
        self._guards_changed()

    def _layout_changed(self, start: int, end: int, vma: VMA | None = None) -> None:
        if self.assist is not None:
            self.assist.layout_changed(self, start, end, vma)

    def _guards_changed(self) -> None:
        self._layout_changed(*EVERYWHERE)

    def add(self, start: int, end: int, prot: int, name: str, **kind) -> VMA:
        """A new demand-paged VMA over free, page-aligned [start, end); `kind`
        holds the VMA's other fields (shmem, pgoff, flags, anon). A private
        VMA's page offset is its address / PAGE_4K unless given."""
        kind.setdefault("pgoff", 0 if kind.get("shmem") else start // PAGE_4K)
        vma = VMA(start, end, prot, name, **kind)
        self.vmas.insert(vma)
        return vma

    def fault(self, vaddr: int, access: str, leaf: int, reason: str):
        """The MMU's fault handler: True when the page was mapped or made
        writable, else the reason the access is refused. `leaf` is the entry
        that maps the page, 0 when none does."""
        vma, page = self.vmas.find(vaddr), page_align_down(vaddr)
        if vma is None:
            return reason
        if page in self.guards:
            return GUARD_ACCESS
        if vaddr >= vma.shared_end():
            return BEYOND_SHARED
        if not vma.allows(access):
            return {"write": READ_ONLY, "fetch": NO_EXECUTE}.get(access, PROT_NONE_ACCESS) \
                if vma.prot != PROT_NONE else PROT_NONE_ACCESS
        if access == "write" and reason in (NOT_PRESENT, READ_ONLY):
            self._write_fault(page, vma, leaf)
        elif leaf or reason != NOT_PRESENT:
            return reason
        else:
            self._map_new_page(page, vma)
        self.page_faults += 1
        return True

    def prepare_write(self, page: int) -> bool:
        """What a write fault does, for the kernel's own writes to user memory
        (the VMA must allow writing); False if there was nothing to do."""
        walk = self.tables.walk(self.root, page)
        return self._write_fault(page, self.vmas.find(page), walk.leaf.entry if walk.mapped else 0)

    def _write_fault(self, page: int, vma: VMA, leaf: int) -> bool:
        """Give `vma` an anon_vma if it is private memory without one, then map
        the page writable (`leaf` is its entry, 0 when it has none), copying a
        frame other address spaces share (copy-on-write); False if it already
        was."""
        vma = self._give_anon(vma)
        if not leaf:
            self._map_new_page(page, vma)
            return True
        if leaf & PTE_RW:
            return False
        frame = leaf & PTE_ADDR_MASK
        if not vma.shared and self.frames.refcount(frame) > 1:
            self._copy_on_write(page, vma, frame)
            return True
        self.tables.protect(self.root, page, PAGE_4K, vma_pte_flags(vma))
        self._invalidate(page, page + PAGE_4K)
        return True

    def _copy_on_write(self, page: int, vma: VMA, shared: int) -> None:
        """Give `page` a writable copy of the frame it shares, and drop this
        space's reference to the shared one."""
        copy = self.frames.alloc()
        if copy == 0:
            raise OutOfMemory(f"out of memory: no free frame to copy the page at {page:#x}")
        self.ram.write(copy, self.ram.page(shared))
        self.tables.unmap(self.root, page, PAGE_4K)
        if not self.tables.map(self.root, page, copy, PAGE_4K, vma_pte_flags(vma)):
            self.frames.free(copy)
            raise OutOfMemory(f"out of memory: no frame for a page table at {page:#x}")
        self.frames.free(shared)
        self.cow_faults += 1
        self._invalidate(page, page + PAGE_4K)

    def keep_file_page(self, page: int, data: bytes) -> None:
        """Remember what the program's page at `page` holds from its file."""
        self.file_pages[page] = data
        lo, hi = self.file_span
        self.file_span = (min(lo, page) if hi else page, max(hi, page + PAGE_4K))
        self._layout_changed(page, page + PAGE_4K)

    def give_anon(self, vaddr: int) -> None:
        """What a first write does to the private VMA holding `vaddr`: give it
        its anon_vma (for writes the MMU's assist mapped, kernel/assist.py)."""
        vma = self.vmas.find(vaddr)
        if vma is not None:
            self._give_anon(vma)

    def _give_anon(self, vma: VMA) -> VMA:
        """anon_vma_prepare(): a private VMA without an anon_vma takes its
        neighbour's, the next one's first, if that neighbour could share it
        (VMA.follows: only the protection may differ), else a new one."""
        if vma.shared or vma.anon is not None:
            return vma
        after = self.vmas.find(vma.end)
        before = self.vmas.find(vma.start - 1)
        if after is not None and after.anon is not None and after.follows(vma):
            anon = after.anon
        elif before is not None and before.anon is not None and vma.follows(before):
            anon = before.anon
        else:
            anon = AnonVMA()
        given = vma._replace(anon=anon)
        self.vmas.replace(vma, given)
        return given

    def first_blocked(self, start: int, end: int) -> int | None:
        """The lowest page in [start, end) that faults whatever the protection
        says: a guard page, or a page of a shared mapping past the end of its
        object. None if there is none."""
        found = [self.guards.first_in(start, end)]
        for vma in self.vmas.overlapping(start, end):
            stop = max(vma.shared_end(), page_align_down(start))
            if stop < min(vma.end, end):
                found.append(stop)
        found = [page for page in found if page is not None]
        return min(found) if found else None

    def _map_new_page(self, page: int, vma: VMA) -> int:
        """Map the frame `page` shows: the shared object's page (allocated on
        first touch), else a new zeroed frame (or the page's file contents)."""
        index = vma.page_index(page)
        frame = vma.shmem.frames.get(index, 0) if vma.shared else 0
        fresh = frame == 0
        if fresh:
            frame = self.frames.alloc()
            if frame == 0:
                raise OutOfMemory(f"out of memory: no free frame for the page at {page:#x}")
        if not self.tables.map(self.root, page, frame, PAGE_4K, vma_pte_flags(vma)):
            if fresh:
                self.frames.free(frame)
            raise OutOfMemory(f"out of memory: no frame for a page table at {page:#x}")
        if vma.shared:
            vma.shmem.frames[index] = frame
        elif page in self.file_pages:
            self.ram.write(frame, self.file_pages[page])
        return frame

    def map_page(self, page: int) -> bool:
        """Give the page at `page` its frame if it has none; False when the page
        has none and no VMA covers it."""
        if self.tables.walk(self.root, page).mapped:
            return True
        vma = self.vmas.find(page)
        if vma is None:
            return False
        self._map_new_page(page, vma)
        return True

    def populate(self, vaddr: int, data: bytes) -> None:
        """Write `data` at `vaddr` as the kernel (loader, stack setup), mapping
        pages of the enclosing VMAs first (writable ones as a write would).
        No permission checks."""
        for page in pages_in(vaddr, len(data)):
            vma = self.vmas.find(page)
            if vma is None:
                raise KernelPanic(f"populate: {page:#x} is outside every VMA")
            if vma.allows("write"):
                self.prepare_write(page)
            else:
                self.map_page(page)
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
        """Remove [start, end) from VMAs, guard pages and page tables, freeing
        the private frames (and shared objects no VMA shows any more); returns
        how many pages were resident there."""
        if end <= start:
            return 0
        pieces = self.vmas.remove(start, end)
        self.guards.remove(start, end)
        resident = self._drop_entries(start, end, pieces)
        self._release_unshown(pieces)
        return resident

    def _drop_entries(self, start: int, end: int, pieces: list[VMA]) -> int:
        """Clear the page-table entries of [start, end) and free the frames that
        were private to them (those of `pieces` that are not shared); returns
        how many entries there were."""
        removed = self.tables.unmap(self.root, start, end - start)
        shared = [v for v in pieces if v.shared]
        self.frames.free_many([m.paddr for m in removed]
                              if not shared else
                              [m.paddr for m in removed if not any(m.vaddr in v for v in shared)])
        self._invalidate(start, end, bool(removed))
        return len(removed)

    def _release_unshown(self, pieces: list[VMA]) -> None:
        """Free the frames of every shared object among `pieces` that no VMA
        shows any more."""
        objects = {id(v.shmem): v.shmem for v in pieces if v.shared}
        if not objects:
            return
        shown = {id(v.shmem) for space in self.spaces for v in space.vmas if v.shared}
        for shmem in objects.values():
            if id(shmem) not in shown:
                for frame in shmem.frames.values():
                    self.frames.free(frame)
                shmem.frames.clear()

    def _invalidate(self, start: int, end: int, changed: bool = True) -> None:
        if changed and self.tlb.cr3 == self.root:
            self.tlb.invalidate(start, end - start)

    def discard(self, start: int, end: int) -> int:
        """Drop the page-table entries of [start, end) but keep the VMAs and guard
        pages (MADV_DONTNEED): the next touch maps a zeroed page again, or the
        same page of a shared mapping. Returns how many entries there were."""
        return self._drop_entries(start, end, self.vmas.overlapping(start, end))

    def punch(self, vma: VMA, start: int, end: int) -> None:
        """Free the shared object pages that [start, end) of shared `vma` shows,
        in every VMA that shows them (MADV_REMOVE): they read as zeros after."""
        first, last = vma.page_index(start), vma.page_index(end)
        for space in self.spaces:
            for other in space.vmas:
                if other.shmem is vma.shmem:
                    lo = max(other.start, other.start + (first - other.pgoff) * PAGE_4K)
                    hi = min(other.end, other.start + (last - other.pgoff) * PAGE_4K)
                    if lo < hi:
                        space._drop_entries(lo, hi, [other])
        for index in range(first, last):
            frame = vma.shmem.frames.pop(index, 0)
            if frame:
                self.frames.free(frame)

    def protect(self, start: int, end: int, prot: int) -> None:
        """Set the protection of [start, end) (which must be covered by VMAs)."""
        self.restyle(start, end, lambda vma: vma._replace(prot=prot))

    def restyle(self, start: int, end: int, change) -> None:
        """Replace each VMA's part of [start, end) by change(part) (a new
        protection, new flags), splitting and merging VMAs as Linux does, and
        give the pages there the leaf flags their VMAs now call for."""
        self.vmas.update(start, end, change)
        for vma in self.vmas.overlapping(start, end):
            piece = vma.clip(start, end)
            self.tables.protect(self.root, piece.start, piece.size, vma_pte_flags(vma))
            if not vma.shared and vma.prot & PROT_WRITE:
                self.keep_shared_frames_read_only(piece.start, piece.end)
        self._invalidate(start, end)

    def keep_shared_frames_read_only(self, start: int, end: int) -> int:
        """Take RW off every private page in [start, end) whose frame another
        address space shares, so its next write copies it; returns how many."""
        count = 0
        for slot, mapping in self.tables.leaves(self.root, start, end - start, split=False):
            if mapping.entry & PTE_RW and self.frames.refcount(mapping.paddr) > 1:
                self.ram.write_u64(slot, mapping.entry & ~PTE_RW)
                count += 1
        return count

    def move(self, old: int, new: int, length: int, keep_source: bool = False) -> None:
        """Move the pages, guard pages and VMAs of [old, old+length) to
        [new, new+length), which must be free (mremap). Private anonymous
        memory never written (no anon_vma) takes its new address as its page
        offset, as copy_vma does; written memory keeps its offset, so it may
        not merge at the new place. With `keep_source` the VMAs stay at the
        old place too, with no pages (MREMAP_DONTUNMAP): a touch there finds
        a zeroed page, or the shared object's page; Linux then takes
        VM_ACCOUNT from the old VMA, and its anon_vma when all of it moved."""
        end = old + length
        if keep_source:
            pieces = [v.clip(old, end) for v in self.vmas.overlapping(old, end)]
            for vma in self.vmas.overlapping(old, end):
                whole = old <= vma.start and vma.end <= end
                self.vmas.replace(vma, vma._replace(flags=vma.flags & ~VM_ACCOUNT,
                                                    anon=None if whole else vma.anon))
        else:
            pieces = self.vmas.remove(old, end)
        for piece in pieces:
            moved = piece.shifted(new - old)
            if piece.anonymous and piece.anon is None:
                moved = moved._replace(pgoff=moved.start // PAGE_4K)
            self.vmas.insert(moved)
        self.guards.add_pages([page - old + new for page in self.guards.remove(old, end)])
        for mapping in self.tables.unmap(self.root, old, length):
            target = mapping.vaddr - old + new
            flags = mapping.entry & (PTE_US | PTE_RW | PTE_NX)
            if not self.tables.map(self.root, target, mapping.paddr, PAGE_4K, flags):
                raise OutOfMemory("out of memory: no frame for a page table during mremap")
        self._invalidate(old, end)

    def snapshot(self) -> dict:
        """The Python-side state (VMAs, guard pages, shared objects, break,
        counters); page tables live in RAM."""
        objects = {id(v.shmem): v.shmem for v in self.vmas if v.shared}
        return {"vmas": self.vmas.snapshot(), "guards": list(self.guards),
                "shmem": [(obj, dict(obj.frames)) for obj in objects.values()],
                "brk": self.brk, "brk_start": self.brk_start,
                "faults": (self.page_faults, self.cow_faults)}

    def restore(self, state: dict) -> None:
        self.vmas.restore(state["vmas"])
        self.guards = GuardPages(state["guards"])
        for obj, frames in state["shmem"]:
            obj.frames = dict(frames)
        self.brk, self.brk_start = state["brk"], state["brk_start"]
        self.page_faults, self.cow_faults = state["faults"]

    # -- accounting ------------------------------------------------------------------

    def resident_pages(self) -> int:
        """User pages that currently have a frame."""
        return sum(1 for v in self.vmas
                   for _ in self.tables.leaves(self.root, v.start, v.size, split=False))

    def shared_pages(self) -> int:
        """Resident private pages whose frame another address space shares."""
        return sum(1 for v in self.vmas if not v.shared
                   for _, m in self.tables.leaves(self.root, v.start, v.size, split=False)
                   if self.frames.refcount(m.paddr) > 1)

    def destroy(self) -> None:
        """Free every page, every table and the PML4 (process exit)."""
        for vma in list(self.vmas):
            self.unmap(vma.start, vma.end)
        self.tables.free_tables(self.root)
        self._layout_changed(*EVERYWHERE)          # the root frame may serve another space
        self.root = 0
        self.spaces.discard(self)

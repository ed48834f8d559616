"""The kernel's side of the MMU's demand-zero assist.

Most page faults are first touches of private anonymous memory: find the VMA,
take a zeroed frame, map it, count the fault. The C walker (emu/native/mmu.c,
"the demand-zero assist") can do exactly that without calling Python, for
the VMAs this module lists and with frames this module lends it:

  * regions: every private VMA that is not PROT_NONE, has no guard page and
    holds no page of the program's file is listed (root, range, the leaf
    flags fault() would give, the accesses the VMA allows) when it is made or
    changed, and again at a fault Python handles in it; any change to the
    VMAs or guard pages of a range forgets the regions there first;
  * frames: FrameAllocator.lend() gives the walker the free lists of the
    first chunks alloc() takes from, and the allocator settles the loan
    before its next use (its own alloc() takes from the loan), so the frames
    and tables are the ones fault() would have used;
  * at every kernel entry and after every run (enter()), the faults the
    walker handled are added to the address space's count, and the VMAs a
    first write gave an anon_vma get it here, in the order of the writes.

So what a program, the debugger and a grader see is what fault() alone would
give: the same frames, tables, A/D bits, leaf flags, fault counts and
anon_vmas (tests/integration/test_native_mmu.py holds the two to it).

Nothing is lent, so every fault reaches Python, while Python must see each
one (the runner's `may_lend`: kernel routines take faults, something watches
kernel entries, or RAM writes are observed).
"""

from __future__ import annotations

from .address_space import USER_TOP, AddressSpace, pte_flags, vma_pte_flags
from .vma import PROT_NONE, PROT_READ, PROT_WRITE, VMA


class AssistedFaults:
    """Lists regions and lends frames to `hardware` (emu/native_mmu.py's
    DemandZeroAssist) for the address spaces that take it as their assist."""

    def __init__(self, hardware, frames, may_lend, maps=None):
        self._hw = hardware
        self._frames = frames
        self._may_lend = may_lend           # callable: may the walker map pages now?
        self.maps = maps                    # kernel/anon_maps.py's AnonMaps, or None

    def watch(self, space: AddressSpace) -> None:
        """Take `space`'s faults from now on (its VMAs are listed at their next
        change or fault)."""
        space.assist = self

    # -- regions ---------------------------------------------------------------------

    def layout_changed(self, space: AddressSpace, start: int, end: int, vma: VMA | None) -> None:
        """[start, end) of `space` changed; `vma` now covers all of it, or None.
        The regions there are forgotten, and `vma` listed if it can be (one
        call into the walker for both). After a removal (None), the parts left
        of VMAs it cut are listed again: their region went with it."""
        if self.maps is not None:
            self.maps.changed(space, start, end)
        listing = None if vma is None else self._listing(space, vma)
        if listing is not None:
            self._hw.set_region(space.root, vma.start, vma.end, *listing)
            return
        self._hw.drop_regions(space.root, start, end)
        if vma is None and end - start <= USER_TOP:
            for cut in (space.vmas.find(start - 1), space.vmas.find(end)):
                listing = None if cut is None else self._listing(space, cut)
                if listing is not None:
                    self._hw.set_region(space.root, cut.start, cut.end, *listing)

    def faulted(self, space: AddressSpace, vaddr: int) -> None:
        """Python handled a user fault at `vaddr`: list its VMA if it is not
        listed, and lend frames if the walker has none."""
        if not self._hw.holds(space.root, vaddr):
            vma = space.vmas.find(vaddr)
            listing = None if vma is None else self._listing(space, vma)
            if listing is not None:
                self._hw.add_region(space.root, vma.start, vma.end, *listing)
        self.refill()

    @staticmethod
    def _listing(space: AddressSpace, vma: VMA) -> tuple[int, int, int] | None:
        """The region `vma` is listed as: (leaf flags, flags from the first
        write on or 0, the accesses allowed), or None when it is not listed."""
        if vma.shmem is not None or vma.prot == PROT_NONE or \
                space.guards.first_in(vma.start, vma.end) is not None:
            return None
        lo, hi = space.file_span
        if lo < vma.end and vma.start < hi:
            return None                     # a page may come back from the file
        write_flags = pte_flags(vma.prot) if vma.anon is None and vma.prot & PROT_WRITE else 0
        return vma_pte_flags(vma), write_flags, vma.prot | PROT_READ

    # -- frames and counts --------------------------------------------------------------

    def refill(self) -> None:
        """Lend the walker frames if it has none left (and may have them)."""
        if self._hw.lent == 0:
            self._frames.settle()
            if self._may_lend():
                loan = self._frames.lend(self._hw)
                if loan is not None:
                    self._hw.lend(*loan)

    def enter(self, space: AddressSpace) -> None:
        """The kernel runs for `space` (the address space that just ran): count
        the faults the walker handled and give the anon_vmas its writes gave
        (after taking in what the C mmap and munmap did)."""
        if self.maps is not None:
            self.maps.pull()
        faults = self._hw.faults()
        if faults:
            space.page_faults += faults
        for root, start in self._hw.written():
            owner = space if root == space.root else \
                next((s for s in space.spaces if s.root == root), None)
            if owner is not None:
                owner.give_anon(start)

    def calls_made(self) -> bool:
        """Has C made a system call since the last time this was asked?"""
        return self.maps is not None and self.maps.calls_made()

    def leave(self, proc, returning: bool = False) -> None:
        """The CPU runs `proc` next (`returning` from a call or fault Python
        handled): the C mmap and munmap may make its calls."""
        if self.maps is not None:
            self.maps.push(proc, returning)

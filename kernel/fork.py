"""fork() for address spaces: the child gets the parent's memory, copy-on-write.

    child = fork_address_space(parent)

What the child gets, mapping by mapping, as Linux's dup_mmap does:

    parent VMA                      child                       pages
    private                         the same VMA                shared read-only,
                                                                 copied on a write
    shared (MAP_SHARED)             the same VMA, same object   the same frames,
                                                                 writable in both
    MADV_DONTFORK (VM_DONTCOPY)     nothing                     -
    MADV_WIPEONFORK, private        the same VMA                none: zeros on touch

A private page stays resident in both and its frame gets one more reference
(FrameAllocator.share); its entry loses RW in both address spaces, so the
first write from either side faults, and AddressSpace._write_fault copies the
frame (or takes it back writable once the other side has let it go). A
private VMA's anon_vma is the child's own, one new AnonVMA per parent one, so
the child's VMAs merge among themselves as the parent's did.
"""

from __future__ import annotations

from emu.errors import OutOfMemory
from emu.paging import PAGE_4K, PTE_NX, PTE_RW, PTE_US

from .address_space import AddressSpace
from .vma import VM_DONTCOPY, VM_WIPEONFORK, VMA, AnonVMA, GuardPages

_KEPT_FLAGS = PTE_US | PTE_RW | PTE_NX


def fork_address_space(parent: AddressSpace) -> AddressSpace:
    """A copy-on-write copy of `parent` (OutOfMemory, with nothing left
    behind, when frames for the child's tables run out)."""
    child = AddressSpace(parent.tables, parent.frames, parent.tlb, parent.spaces)
    try:
        copied = _copy_vmas(parent, child)
        for original, copy in copied:
            if not copy.flags & VM_WIPEONFORK or copy.shared:
                _share_pages(parent, child, original)
    except OutOfMemory:
        child.destroy()
        raise
    finally:
        for vma in parent.vmas:                 # entries lost RW: forget the old ones
            parent._invalidate(vma.start, vma.end)
    child.guards = GuardPages(page for page in parent.guards
                              if any(page in copy for _, copy in copied))
    child.brk_start, child.brk = parent.brk_start, parent.brk
    child.file_pages = dict(parent.file_pages)
    child.file_span = parent.file_span
    child.assist = parent.assist
    return child


def _copy_vmas(parent: AddressSpace, child: AddressSpace) -> list[tuple[VMA, VMA]]:
    """The child's VMAs, exactly the parent's list less VM_DONTCOPY ones."""
    anon_copies: dict[int, AnonVMA] = {}
    copied = []
    for vma in parent.vmas:
        if vma.flags & VM_DONTCOPY:
            continue
        anon = None
        if vma.anon is not None and not vma.flags & VM_WIPEONFORK:
            anon = anon_copies.setdefault(id(vma.anon), AnonVMA())
        copied.append((vma, vma._replace(anon=anon)))
    child.vmas.restore([copy for _, copy in copied])
    return copied


def _share_pages(parent: AddressSpace, child: AddressSpace, vma: VMA) -> None:
    """Map every resident page of `vma` in the child too: the same frame,
    read-only on both sides for private memory."""
    tables, frames = parent.tables, parent.frames
    for slot, mapping in tables.leaves(parent.root, vma.start, vma.size, split=False):
        flags = mapping.entry & _KEPT_FLAGS
        if not vma.shared:
            if flags & PTE_RW:
                parent.ram.write_u64(slot, mapping.entry & ~PTE_RW)
                flags &= ~PTE_RW
            frames.share(mapping.paddr)
        if not tables.map(child.root, mapping.vaddr, mapping.paddr, PAGE_4K, flags):
            if not vma.shared:
                frames.free(mapping.paddr)
            raise OutOfMemory(f"out of memory: no frame for a page table of the child "
                              f"at {mapping.vaddr:#x}")

"""mremap(2) as Linux 6.18 does it (mm/mremap.c).

The shape of the call, after both sizes are rounded up to pages (a size
within a page of 2^64 becomes 0, as PAGE_ALIGN wraps):

    check_params          flags, alignment, sizes and the target: EINVAL
    MREMAP_FIXED, old size == new size   (a plain move)
        move_all          every mapping in [old, old+size), gaps kept
    otherwise             the mapping at `old` (EFAULT if none)
        check_vma         what that mapping allows: EFAULT, EINVAL, ENOMEM
        remap_to          MREMAP_FIXED or MREMAP_DONTUNMAP: to a new place
        remap_at          in place: shrink, grow, or move if MREMAP_MAYMOVE

Since Linux 6.17 a plain move (MREMAP_FIXED with equal sizes) may span
several mappings and the holes between them, which keep their sizes at the
target; the first page must be mapped (else EFAULT). Every other mremap needs
a mapping at `old`: since Linux 5.16 even a shrink of an unmapped range is
EFAULT. A shrink may run past the end of that mapping, across others.

MREMAP_DONTUNMAP leaves the old range mapped but empty: a touch there finds a
zeroed page, or for shared memory the same page the new range shows. An old
size of 0 on shared memory maps the same pages a second time.
"""

from __future__ import annotations

from emu.paging import PAGE_4K

from ..address_space import MMAP_MIN_ADDR, USER_TOP
from ..errno import EFAULT, EINVAL, ENOMEM, EPERM
from ..vma import PROT_WRITE
from .mman import U64, aligned, fits_in_memory, fixed_range_error, placement, within_data_limit

MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MREMAP_DONTUNMAP = 4
MREMAP_KNOWN = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP
NEW_PLACE = MREMAP_FIXED | MREMAP_DONTUNMAP       # flags that name a target


def page_align_u64(length: int) -> int:
    """PAGE_ALIGN on an unsigned long: rounds up, wrapping to 0 past 2^64."""
    return (length + PAGE_4K - 1) & ~(PAGE_4K - 1) & U64


def sys_mremap(proc, old: int, old_size: int, new_size: int, flags: int, new_addr: int) -> int:
    """Resize and/or move the mapping(s) at `old`; returns the new address or -errno."""
    old_size, new_size = page_align_u64(old_size), page_align_u64(new_size)
    error = check_params(old, old_size, new_size, flags, new_addr)
    if error:
        return error
    if flags & MREMAP_FIXED and old_size == new_size:
        return move_all(proc, old, old_size, flags, new_addr)
    vma = proc.aspace.vmas.find(old)
    error = check_vma(proc, vma, old, old_size, new_size, flags)
    if error:
        return error
    if flags & NEW_PLACE:
        return remap_to(proc, old, old_size, new_size, flags, new_addr)
    return remap_at(proc, vma, old, old_size, new_size, flags)


def check_params(old: int, old_size: int, new_size: int, flags: int, new_addr: int) -> int:
    """check_mremap_params(): 0, or -EINVAL for unknown flags, an unaligned
    `old`, a new size of 0 or beyond user memory; and when a target is named,
    for a target beyond user memory or unaligned, without MREMAP_MAYMOVE, a
    DONTUNMAP that resizes, or a target overlapping the source."""
    if flags & ~MREMAP_KNOWN or not aligned(old) or new_size == 0 or new_size > USER_TOP:
        return -EINVAL
    if not flags & NEW_PLACE:
        return 0
    if new_addr > USER_TOP - new_size or not aligned(new_addr) or not flags & MREMAP_MAYMOVE:
        return -EINVAL
    if flags & MREMAP_DONTUNMAP and old_size != new_size:
        return -EINVAL
    if old + old_size > new_addr and new_addr + new_size > old:
        return -EINVAL
    return 0


def check_vma(proc, vma, addr: int, old_size: int, new_size: int, flags: int) -> int:
    """check_prep_vma(): may `vma` (the mapping at `addr`, or None) be resized
    or moved so? 0, or -EFAULT without a mapping; and when the call maps
    anything new (it grows or names a target): -EINVAL for an old size of 0
    on private memory, -EFAULT when the part kept runs past the mapping's
    end, -ENOMEM when growing breaks RLIMIT_DATA."""
    if vma is None:
        return -EFAULT
    if not (new_size > old_size or flags & NEW_PLACE):
        return 0
    if old_size == 0 and not vma.shared:
        return -EINVAL
    if min(old_size, new_size) > vma.end - addr:
        return -EFAULT
    if new_size > old_size and not within_data_limit(proc, new_size - old_size, _counted(vma)):
        return -ENOMEM
    return 0


def remap_at(proc, vma, addr: int, old_size: int, new_size: int, flags: int) -> int:
    """mremap_at(): shrink in place (unmapping whatever lies past the new end,
    across mappings); grow in place when [addr, addr+old_size) ends the
    mapping and the pages after it are free; else move with MREMAP_MAYMOVE
    (ENOMEM without it, or when no gap is big enough)."""
    space = proc.aspace
    if new_size <= old_size:
        if new_size < old_size:
            space.unmap(addr + new_size, addr + old_size)
        return addr
    growth, end = new_size - old_size, addr + old_size
    if end == vma.end and end + growth <= USER_TOP and space.vmas.is_free(end, end + growth):
        if not _charge(proc, vma, growth):
            return -ENOMEM
        _extend(space, vma, end, growth)
        return addr
    if not flags & MREMAP_MAYMOVE:
        return -ENOMEM
    target = placement(space, 0, new_size)
    if target is None:
        return -ENOMEM
    return move_vma(proc, addr, old_size, new_size, target, keep_source=False)


def remap_to(proc, addr: int, old_size: int, new_size: int, flags: int, new_addr: int) -> int:
    """mremap_to(): with MREMAP_FIXED, first unmap the target and shrink the
    source; then place the target (MREMAP_FIXED: exactly there, EPERM below
    mmap_min_addr; MREMAP_DONTUNMAP alone: new_addr is a hint) and move."""
    space = proc.aspace
    if flags & MREMAP_FIXED:
        space.unmap(new_addr, new_addr + new_size)
        if space.vmas.find(addr) is None:
            return -EFAULT
    if new_size < old_size:
        space.unmap(addr + new_size, addr + old_size)
        old_size = new_size
    if flags & MREMAP_FIXED:
        target = fixed_range_error(new_addr, new_size) or new_addr
    else:
        target = placement(space, new_addr, new_size)
        target = -ENOMEM if target is None else target
        if 0 <= target < MMAP_MIN_ADDR:
            target = -EPERM             # a hint below mmap_min_addr is not raised here
    if target < 0:
        return target
    return move_vma(proc, addr, old_size, new_size, target,
                    keep_source=bool(flags & MREMAP_DONTUNMAP))


def move_all(proc, start: int, size: int, flags: int, new_addr: int) -> int:
    """remap_move() (Linux 6.17): a plain move of every mapping in [start,
    start+size), each to the same offset from the first one's target, so
    the holes between them stay. The first page must be mapped (EFAULT).
    Each mapping is moved as remap_to would move it alone; an error stops
    the move where it is, as on Linux. Returns where the first one went."""
    space, first, target, last_end = proc.aspace, None, new_addr, start
    for vma in space.vmas.overlapping(start, start + size):
        piece = vma.clip(start, start + size)
        if first is None and piece.start > start:
            return -EFAULT              # a hole at the start of the range
        piece_target = target if first is None else target + vma.start - last_end
        last_end = vma.end
        moved = check_vma(proc, space.vmas.find(piece.start), piece.start, piece.size,
                          piece.size, flags) or \
            remap_to(proc, piece.start, piece.size, piece.size, flags, piece_target)
        if moved < 0:
            return moved
        first = moved if first is None else first
        target = moved + piece.size
    return -EFAULT if first is None else first


def move_vma(proc, addr: int, old_size: int, new_size: int, target: int, keep_source: bool) -> int:
    """move_vma(): the pages of [addr, addr+old_size) (one mapping) go to
    `target`, the mapping growing to new_size there; the source is unmapped
    unless `keep_source` (MREMAP_DONTUNMAP). ENOMEM if the growth (all of
    it when the source is kept) is more than the memory there is."""
    space = proc.aspace
    vma = space.vmas.find(addr)
    if not _charge(proc, vma, new_size if keep_source else new_size - old_size):
        return -ENOMEM
    if old_size:
        space.move(addr, target, old_size, keep_source=keep_source)
        vma = space.vmas.find(target)
        addr = target
    if new_size > old_size:
        _extend(space, vma, addr + old_size, new_size - old_size, at=target + old_size)
    return target


def _extend(space, vma, end: int, growth: int, at: int | None = None) -> None:
    """Map `growth` more bytes of `vma` (whose part ending at `end` they
    follow) at `at` (default `end`): the same kind of memory with the next
    page offsets, which then merges with it (vma_merge_extend)."""
    at = end if at is None else at
    space.add(at, at + growth, vma.prot, vma.name, shmem=vma.shmem, pgoff=vma.page_index(end),
              flags=vma.flags, anon=vma.anon)


def _counted(vma) -> bool:
    """Is `vma` private writable memory, which Linux accounts and counts as data?"""
    return not vma.shared and bool(vma.prot & PROT_WRITE)


def _charge(proc, vma, growth: int) -> bool:
    """vrm_calc_charge(): the overcommit check for memory a move or growth adds."""
    return not _counted(vma) or growth <= 0 or fits_in_memory(proc, growth)

"""Memory syscalls: brk, mmap, munmap, mprotect, mremap, madvise.

Semantics follow the Linux man pages, errno included. A request larger than
the memory the machine has free fails with ENOMEM up front (the heuristic
overcommit check); pages themselves arrive on first touch.
"""

from __future__ import annotations

from emu.paging import PAGE_4K, page_align_down, page_align_up

from ..address_space import MMAP_BASE, MMAP_MIN_ADDR, USER_TOP
from ..errno import EBADF, EEXIST, EFAULT, EINVAL, ENODEV, ENOMEM, EPERM
from ..vma import PROT_EXEC, PROT_READ, PROT_WRITE

PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC
PROT_GROWSDOWN = 0x0100_0000
PROT_GROWSUP = 0x0200_0000

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_SHARED_VALIDATE = 0x03
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_NORESERVE = 0x4000
MAP_FIXED_NOREPLACE = 0x10_0000
MAP_KNOWN = 0x1F_FFFF            # every flag Linux defines; VALIDATE refuses others

MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MREMAP_DONTUNMAP = 4

MADV_DONTNEED = 4
MADV_FREE = 8
MADV_KNOWN = {0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}

HEAP_NAME = "[heap]"
ANON_NAME = "[anon]"


def _pages(length: int) -> int:
    return page_align_up(length) // PAGE_4K


def _fits_in_memory(proc, length: int) -> bool:
    return _pages(length) <= proc.aspace.frames.available()


def _reserves_only(prot: int, flags: int) -> bool:
    """A PROT_NONE or MAP_NORESERVE mapping reserves address space only: Linux
    does not hold it against the machine's memory (runtimes rely on that)."""
    return prot == 0 or bool(flags & MAP_NORESERVE)


def _data_size(space) -> int:
    """Bytes counted against RLIMIT_DATA: the heap and writable anonymous maps."""
    return sum(v.size for v in space.vmas
               if v.name in (HEAP_NAME, ANON_NAME) and v.prot & PROT_WRITE)


def _within_data_limit(proc, growth: int, writable: bool = True) -> bool:
    if proc.data_limit is None or not writable:
        return True
    return _data_size(proc.aspace) + growth <= proc.data_limit


def _aligned(addr: int) -> bool:
    return addr % PAGE_4K == 0


# -- brk ------------------------------------------------------------------------------

def sys_brk(proc, addr: int) -> int:
    """Set the program break; returns the new break, or the old one if refused
    (brk(0) and any address below the start of the heap just report it)."""
    space = proc.aspace
    if addr < space.brk_start or addr > USER_TOP:
        return space.brk
    old_end, new_end = page_align_up(space.brk), page_align_up(addr)
    if new_end > old_end:
        if not space.vmas.is_free(old_end, new_end) or \
                not _fits_in_memory(proc, new_end - old_end) or \
                not _within_data_limit(proc, new_end - old_end):
            return space.brk
        space.add(old_end, new_end, PROT_READ | PROT_WRITE, HEAP_NAME)
    elif new_end < old_end:
        space.unmap(new_end, old_end)
    space.brk = addr
    return addr


# -- mmap -------------------------------------------------------------------------------

def sys_mmap(proc, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    space = proc.aspace
    if length == 0 or offset % PAGE_4K:
        return -EINVAL
    prot &= PROT_MASK                   # Linux ignores the bits it does not know here
    kind = flags & MAP_TYPE
    if kind not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        return -EINVAL
    if kind == MAP_SHARED_VALIDATE and flags & ~MAP_KNOWN:
        return -EINVAL
    size = page_align_up(length)
    if size > USER_TOP:
        return -ENOMEM
    if not flags & MAP_ANONYMOUS:
        fd = fd if fd < (1 << 31) else fd - (1 << 32)
        return -ENODEV if fd in (0, 1, 2) else -EBADF
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if not _aligned(addr):
            return -EINVAL
        if addr < MMAP_MIN_ADDR:
            return -EPERM
        if addr + size > USER_TOP:
            return -ENOMEM
        if flags & MAP_FIXED_NOREPLACE and not space.vmas.is_free(addr, addr + size):
            return -EEXIST
        if not _granted(proc, size, prot, flags):
            return -ENOMEM
        space.unmap(addr, addr + size)
        start = addr
    else:
        start = _place(space, addr, size)
        if start is None or not _granted(proc, size, prot, flags):
            return -ENOMEM
    space.add(start, start + size, prot, ANON_NAME)
    return start


def _granted(proc, size: int, prot: int, flags: int) -> bool:
    """The overcommit check and RLIMIT_DATA, for a new mapping."""
    if _reserves_only(prot, flags):
        return True
    return _fits_in_memory(proc, size) and \
        _within_data_limit(proc, size, bool(prot & PROT_WRITE))


def _place(space, hint: int, size: int) -> int | None:
    """Where a non-fixed mapping goes: at the hint (rounded down to a page, and
    raised to MMAP_MIN_ADDR) if that range is free, else the highest free gap
    below MMAP_BASE, as x86 Linux does."""
    if hint:
        hint = max(page_align_down(hint), MMAP_MIN_ADDR)
        if hint + size <= USER_TOP and space.vmas.is_free(hint, hint + size):
            return hint
    return space.vmas.free_gap_below(MMAP_BASE, size, MMAP_MIN_ADDR)


def sys_munmap(proc, addr: int, length: int) -> int:
    if not _aligned(addr) or length == 0 or addr + length > USER_TOP:
        return -EINVAL
    proc.aspace.unmap(addr, page_align_up(addr + length))
    return 0


def sys_mprotect(proc, addr: int, length: int, prot: int) -> int:
    if not _aligned(addr) or prot & ~(PROT_MASK | PROT_GROWSDOWN | PROT_GROWSUP):
        return -EINVAL
    if prot & PROT_GROWSUP:
        return -EINVAL                  # nothing grows up on x86
    if prot & PROT_GROWSDOWN:
        vma = proc.aspace.vmas.find(addr)
        if vma is None or vma.name != "[stack]":
            return -EINVAL              # only the stack grows down
    if length == 0:
        return 0
    end = page_align_up(addr + length)
    if end > USER_TOP or not proc.aspace.vmas.covered(addr, end):
        return -ENOMEM
    proc.aspace.protect(addr, end, prot & PROT_MASK)
    return 0


# -- mremap ------------------------------------------------------------------------------

def sys_mremap(proc, old: int, old_size: int, new_size: int, flags: int, new_addr: int) -> int:
    space = proc.aspace
    if not _aligned(old) or flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP):
        return -EINVAL
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        return -EINVAL
    if flags & MREMAP_DONTUNMAP:
        return -EINVAL                    # not supported: no shared mappings here
    old_size, new_size = page_align_up(old_size), page_align_up(new_size)
    if new_size == 0 or old_size == 0:
        return -EINVAL
    if old + old_size > USER_TOP:
        return -EINVAL
    if new_size <= old_size and not flags & MREMAP_FIXED:
        space.unmap(old + new_size, old + old_size)     # shrinking: across VMAs too
        return old
    vma = space.vmas.find(old)
    if vma is None or old + old_size > vma.end:
        return -EFAULT
    if flags & MREMAP_FIXED:
        return _remap_fixed(proc, vma, old, old_size, new_size, new_addr)
    grow = new_size - old_size
    if not _fits_in_memory(proc, grow) or \
            not _within_data_limit(proc, grow, bool(vma.prot & PROT_WRITE)):
        return -ENOMEM
    if old + new_size <= USER_TOP and space.vmas.is_free(old + old_size, old + new_size):
        space.add(old + old_size, old + new_size, vma.prot, vma.name)
        return old
    if not flags & MREMAP_MAYMOVE:
        return -ENOMEM
    target = space.vmas.free_gap_below(MMAP_BASE, new_size, MMAP_MIN_ADDR)
    if target is None:
        return -ENOMEM
    space.move(old, target, old_size)
    space.add(target + old_size, target + new_size, vma.prot, vma.name)
    return target


def _remap_fixed(proc, vma, old: int, old_size: int, new_size: int, new_addr: int) -> int:
    space = proc.aspace
    if not _aligned(new_addr) or new_addr + new_size > USER_TOP:
        return -EINVAL
    if new_addr < MMAP_MIN_ADDR:
        return -EPERM
    if new_addr < old + old_size and old < new_addr + new_size:
        return -EINVAL                    # the ranges may not overlap
    if new_size > old_size and not _fits_in_memory(proc, new_size - old_size):
        return -ENOMEM
    space.unmap(new_addr, new_addr + new_size)
    kept = min(old_size, new_size)
    if old_size > kept:
        space.unmap(old + kept, old + old_size)
    space.move(old, new_addr, kept)
    if new_size > kept:
        space.add(new_addr + kept, new_addr + new_size, vma.prot, vma.name)
    return new_addr


# -- madvise ------------------------------------------------------------------------------

def sys_madvise(proc, addr: int, length: int, advice: int) -> int:
    """Accept every advice Linux knows. DONTNEED drops the pages: the next
    touch sees zeros, or the program's file contents in its own segments.
    FREE does the same but only for anonymous memory. The rest are hints with
    nothing to do here."""
    if not _aligned(addr) or advice not in MADV_KNOWN:
        return -EINVAL
    if length == 0:
        return 0
    end = page_align_up(addr + length)
    if end <= addr or end > USER_TOP:
        return -EINVAL                  # the length wraps around
    space = proc.aspace
    if not space.vmas.covered(addr, end):
        return -ENOMEM
    if advice == MADV_FREE and any(not v.name.startswith("[")
                                   for v in space.vmas.overlapping(addr, end)):
        return -EINVAL                  # MADV_FREE is for private anonymous memory
    if advice in (MADV_DONTNEED, MADV_FREE):
        space.discard(addr, end)
    return 0

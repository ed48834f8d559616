"""madvise(2) as Linux 6.18 does it (mm/madvise.c).

Checks first, in Linux's order: an advice Linux does not know EINVAL; addr
not page-aligned EINVAL; a length that wraps around EINVAL; a length of 0
returns 0; MADV_HWPOISON and MADV_SOFT_OFFLINE need CAP_SYS_ADMIN (EPERM).

Then, like madvise_walk_vmas(), the advice is given to each mapping in the
range in turn: an error from one stops the walk (the mappings before it keep
the advice); a hole does not stop it, but the call returns ENOMEM at the end.
MADV_POPULATE_READ/WRITE fault the pages in instead (populate).

What each advice does here (advise_vma):
  DONTNEED, DONTNEED_LOCKED  drop the pages: private memory reads as zeros
                             after, shared memory keeps its pages (DONTNEED,
                             FREE, REMOVE, COLD, PAGEOUT, GUARD_INSTALL are
                             EINVAL on MAP_LOCKED memory)
  FREE          private anonymous memory only (EINVAL otherwise); the pages
                stay until written, as on Linux without memory pressure
  REMOVE        shared memory: frees the pages (zeros after); EINVAL for
                private anonymous memory, EACCES for the program's own file
  WIPEONFORK    EINVAL on shared memory or the program's file
  KEEPONFORK, DODUMP        EINVAL on MAP_DROPPABLE memory
  GUARD_INSTALL drops the pages and makes them guard pages (Linux 6.13)
  GUARD_REMOVE  guard pages become ordinary (empty) pages again
  COLLAPSE      EINVAL: no transparent huge pages here (as on a host whose
                mappings cannot hold one)
  NORMAL, RANDOM, SEQUENTIAL, DONTFORK, DOFORK, DONTDUMP, DODUMP, WIPEONFORK,
  KEEPONFORK, HUGEPAGE, NOHUGEPAGE, MERGEABLE, UNMERGEABLE
                set or clear VM_* flags (FLAG_ADVICE), which splits and merges
                VMAs as on Linux (MERGEABLE leaves shared and droppable
                memory alone, as KSM ignores them)
  the rest      hints with nothing to do: 0
"""

from __future__ import annotations

from emu.paging import PAGE_4K, page_align_up

from ..errno import EACCES, EFAULT, EINVAL, ENOMEM, EPERM
from ..vma import (PROT_READ, PROT_WRITE, VM_DONTCOPY, VM_DONTDUMP, VM_HUGEPAGE, VM_LOCKED,
                   VM_MERGEABLE, VM_NOHUGEPAGE, VM_RAND_READ, VM_SEQ_READ, VM_WIPEONFORK)
from .mman import U64, aligned

MADV_DONTNEED = 4
MADV_FREE = 8
MADV_REMOVE = 9
MADV_DODUMP = 17
MADV_WIPEONFORK = 18
MADV_KEEPONFORK = 19
MADV_POPULATE_READ = 22
MADV_POPULATE_WRITE = 23
MADV_DONTNEED_LOCKED = 24
MADV_COLLAPSE = 25
MADV_HWPOISON = 100
MADV_SOFT_OFFLINE = 101
MADV_GUARD_INSTALL = 102
MADV_GUARD_REMOVE = 103
MADV_KNOWN = frozenset(range(0, 5)) | frozenset(range(8, 26)) | frozenset(range(100, 104))
MADV_COLD, MADV_PAGEOUT = 20, 21
MADV_MERGEABLE = 12

# advice -> (VM_* flags it sets, VM_* flags it clears)   (madvise_update_vma)
FLAG_ADVICE = {
    0: (0, VM_RAND_READ | VM_SEQ_READ),                  # MADV_NORMAL
    1: (VM_RAND_READ, VM_SEQ_READ),                      # MADV_RANDOM
    2: (VM_SEQ_READ, VM_RAND_READ),                      # MADV_SEQUENTIAL
    10: (VM_DONTCOPY, 0),                                # MADV_DONTFORK
    11: (0, VM_DONTCOPY),                                # MADV_DOFORK
    12: (VM_MERGEABLE, 0),                               # MADV_MERGEABLE
    13: (0, VM_MERGEABLE),                               # MADV_UNMERGEABLE
    14: (VM_HUGEPAGE, VM_NOHUGEPAGE),                    # MADV_HUGEPAGE
    15: (VM_NOHUGEPAGE, VM_HUGEPAGE),                    # MADV_NOHUGEPAGE
    16: (VM_DONTDUMP, 0),                                # MADV_DONTDUMP
    17: (0, VM_DONTDUMP),                                # MADV_DODUMP
    18: (VM_WIPEONFORK, 0),                              # MADV_WIPEONFORK
    19: (0, VM_WIPEONFORK),                              # MADV_KEEPONFORK
}
REFUSED_WHEN_LOCKED = frozenset({MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_COLD,
                                 MADV_PAGEOUT, MADV_GUARD_INSTALL})


def sys_madvise(proc, addr: int, length: int, advice: int) -> int:
    if advice not in MADV_KNOWN or not aligned(addr):
        return -EINVAL
    size = page_align_up(length)
    if size > U64 or addr + size > U64:
        return -EINVAL                  # the length wraps around
    if size == 0:
        return 0
    if advice in (MADV_HWPOISON, MADV_SOFT_OFFLINE):
        return -EPERM
    if advice in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
        return populate(proc.aspace, addr, addr + size, advice == MADV_POPULATE_WRITE)
    return walk(proc.aspace, addr, addr + size, advice)


def walk(space, start: int, end: int, advice: int) -> int:
    """madvise_walk_vmas(): advise each mapping's part of [start, end); the
    first error stops; a hole makes the result ENOMEM once all are done."""
    reach, result = start, 0
    for vma in space.vmas.overlapping(start, end):
        if vma.start > reach:
            result = -ENOMEM
        piece = vma.clip(start, end)
        error = advise_vma(space, piece, advice)
        if error:
            return error
        reach = piece.end
    return -ENOMEM if reach < end else result


def advise_vma(space, vma, advice: int) -> int:
    """Give `advice` to `vma` (the part of one mapping in the range): 0 or -errno."""
    if advice in REFUSED_WHEN_LOCKED and vma.flags & VM_LOCKED:
        return -EINVAL
    if advice in (MADV_DONTNEED, MADV_DONTNEED_LOCKED):
        space.discard(vma.start, vma.end)
    elif advice == MADV_FREE and not vma.anonymous:
        return -EINVAL
    elif advice == MADV_REMOVE:
        return _remove(space, vma)
    elif advice == MADV_WIPEONFORK and not vma.anonymous:
        return -EINVAL
    elif advice in (MADV_KEEPONFORK, MADV_DODUMP) and vma.droppable:
        return -EINVAL
    elif advice == MADV_COLLAPSE:
        return -EINVAL
    elif advice == MADV_GUARD_INSTALL:
        space.discard(vma.start, vma.end)
        space.guards.add(vma.start, vma.end)
    elif advice == MADV_GUARD_REMOVE:
        space.guards.remove(vma.start, vma.end)
    elif advice in FLAG_ADVICE:
        _set_flags(space, vma, advice)
    return 0


def _set_flags(space, vma, advice: int) -> None:
    """Set and clear the VM_* flags `advice` stands for on `vma`'s range."""
    if advice == MADV_MERGEABLE and (vma.shared or vma.droppable):
        return                          # vma_ksm_compatible(): KSM ignores these
    on, off = FLAG_ADVICE[advice]
    space.restyle(vma.start, vma.end, lambda part: part._replace(flags=part.flags & ~off | on))


def _remove(space, vma) -> int:
    """MADV_REMOVE (madvise_remove): only a shared mapping of a file may have
    its pages freed; anonymous private memory has no file (EINVAL), the
    program's own segments are a private mapping of one (EACCES)."""
    if vma.shared:
        space.punch(vma, vma.start, vma.end)
        return 0
    return -EINVAL if vma.name.startswith("[") else -EACCES


def populate(space, start: int, end: int, write: bool) -> int:
    """MADV_POPULATE_READ/WRITE (madvise_populate): fault every page in as a
    read or a write would, in order. A page in no mapping ENOMEM; a mapping
    without PROT_READ (for a read) or PROT_WRITE (for a write) EINVAL, even
    where x86 could read it; a page that faults anyway (a guard page, shared
    memory past its end) EFAULT."""
    needed = PROT_WRITE if write else PROT_READ
    for page in range(start, end, PAGE_4K):
        vma = space.vmas.find(page)
        if vma is None:
            return -ENOMEM
        if not vma.prot & needed:
            return -EINVAL
        if space.first_blocked(page, page + PAGE_4K) is not None:
            return -EFAULT
        space.map_page(page)
    return 0

"""Memory syscalls: brk, mmap, munmap, mprotect (mremap.py and madvise.py hold the rest).

Each call makes Linux's checks in Linux's order, so a call with several things
wrong gets Linux's errno; the function docstrings list the order and the
functions they follow (Linux 6.18: mm/mmap.c, mm/mprotect.c, mm/vma.c,
arch/x86/kernel/sys_x86_64.c). tests/integration/test_syscall_differential.py
runs the same calls natively and here and compares every result.

A request larger than the memory the machine has free fails with ENOMEM up
front when Linux would account it (the heuristic overcommit check: private
writable or shared memory, without MAP_NORESERVE); pages themselves arrive on
first touch.
"""

from __future__ import annotations

from emu.paging import PAGE_4K, page_align_down, page_align_up

from ..address_space import MMAP_BASE, MMAP_MIN_ADDR, USER_TOP
from ..errno import EACCES, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOPNOTSUPP, EPERM
from ..vma import (PROT_EXEC, PROT_READ, PROT_WRITE, SHARED_NAME, VM_ACCOUNT, VM_DONTDUMP,
                   VM_DROPPABLE, VM_LOCKED, VM_NOHUGEPAGE, VM_NORESERVE, VM_WIPEONFORK,
                   SharedMemory)

PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC
PROT_SEM = 0x8                       # accepted by mprotect, means nothing on x86
PROT_GROWSDOWN = 0x0100_0000
PROT_GROWSUP = 0x0200_0000

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_SHARED_VALIDATE = 0x03
MAP_DROPPABLE = 0x08                 # Linux 6.11: private memory the kernel may drop
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_GROWSDOWN = 0x100
MAP_LOCKED = 0x2000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_NONBLOCK = 0x10000
MAP_STACK = 0x20000
MAP_HUGETLB = 0x40000
MAP_FIXED_NOREPLACE = 0x10_0000
MAP_LEGACY = 0x7C07_F9F3             # LEGACY_MAP_MASK: the flags MAP_SHARED_VALIDATE accepts on a file

HEAP_NAME = "[heap]"
ANON_NAME = "[anon]"
STACK_NAME = "[stack]"
STDIO_FDS = (0, 1, 2)
U64 = (1 << 64) - 1


def pages_of(length: int) -> int:
    return page_align_up(length) // PAGE_4K


def aligned(addr: int) -> bool:
    return addr % PAGE_4K == 0


def signed_fd(fd: int) -> int:
    fd &= 0xFFFF_FFFF
    return fd - (1 << 32) if fd >= 1 << 31 else fd


def fits_in_memory(proc, length: int) -> bool:
    """The overcommit check: could the machine's free frames hold `length` bytes?"""
    return pages_of(length) <= proc.aspace.frames.available()


def _data_size(space) -> int:
    """Bytes counted against RLIMIT_DATA: the heap and private writable anonymous maps."""
    return sum(v.size for v in space.vmas
               if v.name in (HEAP_NAME, ANON_NAME) and v.prot & PROT_WRITE)


def within_data_limit(proc, growth: int, counted: bool = True) -> bool:
    """Does growing the data by `growth` bytes stay within RLIMIT_DATA? Only
    private writable anonymous memory is `counted` (Linux's data_vm)."""
    if proc.data_limit is None or not counted:
        return True
    return _data_size(proc.aspace) + growth <= proc.data_limit


def data_room(proc) -> int | None:
    """Bytes the data may still grow by under RLIMIT_DATA, below 0 when it is
    over the limit already (mremap does not check it); None with no limit."""
    return None if proc.data_limit is None else proc.data_limit - _data_size(proc.aspace)


def placement(space, hint: int, size: int) -> int | None:
    """Where a mapping that need not be fixed goes: at the hint if [hint,
    hint+size) is free and inside user memory, else the highest free gap
    below MMAP_BASE, as x86 Linux's top-down allocator does; None if none."""
    if hint and hint <= USER_TOP - size and space.vmas.is_free(hint, hint + size):
        return hint
    return space.vmas.free_gap_below(MMAP_BASE, size, MMAP_MIN_ADDR)


def fixed_range_error(start: int, size: int) -> int:
    """get_unmapped_area()'s checks on a MAP_FIXED range: 0 or -errno."""
    if size > USER_TOP or start > USER_TOP - size:
        return -ENOMEM
    if not aligned(start):
        return -EINVAL
    if start < MMAP_MIN_ADDR:
        return -EPERM                   # security_mmap_addr(): below mmap_min_addr
    return 0


# -- brk ------------------------------------------------------------------------------

def sys_brk(proc, addr: int) -> int:
    """Set the program break as Linux's brk does; returns the new break, or
    the unchanged one when refused:

      - below the start of the heap (brk(0) too): refused;
      - within the page the break is in: accepted;
      - shrinking: whatever is mapped between the new and the old end of the
        heap is unmapped; refused when nothing is (Linux finds no VMA);
      - growing: refused unless [old end, new end + one page) is free (Linux
        keeps a free page between the heap and the next mapping), the
        memory is there and RLIMIT_DATA allows it.
    """
    space = proc.aspace
    if addr < space.brk_start:
        return space.brk
    old_end, new_end = page_align_up(space.brk), page_align_up(addr)
    if new_end == old_end:
        space.brk = addr
        return addr
    if addr <= space.brk:
        if space.vmas.is_free(new_end, old_end):
            return space.brk
        space.unmap(new_end, old_end)
    else:
        growth = new_end - old_end
        if new_end > USER_TOP or not space.vmas.is_free(old_end, new_end + PAGE_4K) or \
                not fits_in_memory(proc, growth) or not within_data_limit(proc, growth):
            return space.brk
        space.add(old_end, new_end, PROT_READ | PROT_WRITE, HEAP_NAME, flags=VM_ACCOUNT)
    space.brk = addr
    return addr


# -- mmap -------------------------------------------------------------------------------

def sys_mmap(proc, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    """mmap(2), anonymous memory only (the only fds are stdio's pipes). The
    checks, in Linux's order (sys_mmap, ksys_mmap_pgoff, do_mmap):

      offset not page-aligned EINVAL; not MAP_ANONYMOUS and fd not open
      EBADF; MAP_HUGETLB EINVAL (no huge page sizes: a kernel without
      hugetlbfs); length 0 EINVAL; length rounding up past 2^64 ENOMEM; the
      range (mmap_range); MAP_FIXED_NOREPLACE over a mapping EEXIST; the
      mapping type (type_error); then memory (overcommit, RLIMIT_DATA) ENOMEM.

    Unknown prot bits are ignored, as Linux ignores them here.
    """
    if offset % PAGE_4K:
        return -EINVAL
    anonymous = bool(flags & MAP_ANONYMOUS)
    if not anonymous and signed_fd(fd) not in STDIO_FDS:
        return -EBADF
    if flags & MAP_HUGETLB:
        return -EINVAL
    if length == 0:
        return -EINVAL
    size = page_align_up(length)
    if size > U64:
        return -ENOMEM
    start = mmap_range(proc.aspace, addr, size, flags)
    if start < 0:
        return start
    if flags & MAP_FIXED_NOREPLACE and not proc.aspace.vmas.is_free(start, start + size):
        return -EEXIST
    error = type_error(flags, prot, None if anonymous else signed_fd(fd))
    if error:
        return error
    if not _granted(proc, size, prot, flags):
        return -ENOMEM
    _map_anonymous(proc.aspace, start, size, prot & PROT_MASK, flags)
    return start


def mmap_range(space, addr: int, size: int, flags: int) -> int:
    """get_unmapped_area() for mmap: the start address, or -errno. A hint is
    rounded down to a page and raised to MMAP_MIN_ADDR (round_hint_to_min)."""
    if size > USER_TOP:
        return -ENOMEM
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        return fixed_range_error(addr, size) or addr
    hint = page_align_down(addr)
    if hint and hint < MMAP_MIN_ADDR:
        hint = MMAP_MIN_ADDR
    start = placement(space, hint, size)
    return -ENOMEM if start is None else start


def type_error(flags: int, prot: int, fd: int | None) -> int:
    """do_mmap()'s check of the mapping type: 0 or -errno. Anonymous memory
    (fd None) may be MAP_PRIVATE, MAP_SHARED (not growing down) or
    MAP_DROPPABLE (not locked, not growing down); anything else EINVAL, even
    MAP_SHARED_VALIDATE. For stdio's pipes see _pipe_type_error."""
    kind = flags & MAP_TYPE
    if fd is not None:
        return _pipe_type_error(flags, prot, fd)
    if kind == MAP_SHARED:
        return -EINVAL if flags & MAP_GROWSDOWN else 0
    if kind == MAP_DROPPABLE:
        return -EINVAL if flags & (MAP_LOCKED | MAP_GROWSDOWN) else 0
    return 0 if kind == MAP_PRIVATE else -EINVAL


def _pipe_type_error(flags: int, prot: int, fd: int) -> int:
    """The file branch of do_mmap() for stdio, which are pipes: fd 0 is open
    for reading only, fds 1 and 2 for writing only, and a pipe has no mmap."""
    kind = flags & MAP_TYPE
    if kind not in (MAP_SHARED, MAP_SHARED_VALIDATE, MAP_PRIVATE):
        return -EINVAL
    if kind == MAP_SHARED_VALIDATE and flags & ~MAP_LEGACY:
        return -EOPNOTSUPP
    if kind != MAP_PRIVATE and prot & PROT_WRITE and fd == 0:
        return -EACCES                  # shared and writable needs a file open for writing
    if fd != 0:
        return -EACCES                  # any mapping needs a file open for reading
    return -ENODEV


def _granted(proc, size: int, prot: int, flags: int) -> bool:
    """The overcommit check and RLIMIT_DATA for a new mapping. Linux accounts
    shared memory and private writable memory, unless MAP_NORESERVE (or
    MAP_DROPPABLE, which implies it)."""
    kind = flags & MAP_TYPE
    private_writable = kind != MAP_SHARED and bool(prot & PROT_WRITE)
    accounted = not flags & MAP_NORESERVE and kind != MAP_DROPPABLE and \
        (kind == MAP_SHARED or private_writable)
    if accounted and not fits_in_memory(proc, size):
        return False
    return within_data_limit(proc, size, private_writable)


def _map_anonymous(space, start: int, size: int, prot: int, flags: int) -> None:
    """Replace whatever is at [start, start+size) with a new anonymous VMA,
    with the VM_* flags do_mmap gives it, and populate it if asked."""
    if not space.vmas.is_free(start, start + size):
        space.unmap(start, start + size)
    vm_flags = _vm_flags(prot, flags)
    if flags & MAP_TYPE == MAP_SHARED:
        space.add(start, start + size, prot, SHARED_NAME, shmem=SharedMemory(size // PAGE_4K),
                  flags=vm_flags)
    else:
        space.add(start, start + size, prot, ANON_NAME, flags=vm_flags)
    if flags & MAP_LOCKED or flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE:
        _populate(space, start, start + size, prot, flags & MAP_TYPE == MAP_SHARED)


def _vm_flags(prot: int, flags: int) -> int:
    """The VM_* flags of a new anonymous mapping: VM_ACCOUNT for private
    writable memory (accountable_mapping), VM_NORESERVE, VM_LOCKED, MAP_STACK's
    VM_NOHUGEPAGE, and what MAP_DROPPABLE implies."""
    kind = flags & MAP_TYPE
    vm_flags = (VM_NORESERVE if flags & MAP_NORESERVE else 0) | \
        (VM_LOCKED if flags & MAP_LOCKED else 0) | (VM_NOHUGEPAGE if flags & MAP_STACK else 0)
    if kind == MAP_DROPPABLE:
        return vm_flags | VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP
    if kind != MAP_SHARED and prot & PROT_WRITE and not flags & MAP_NORESERVE:
        vm_flags |= VM_ACCOUNT
    return vm_flags


def _populate(space, start: int, end: int, prot: int, shared: bool) -> None:
    """mm_populate(): fault every page in, private writable memory with a
    write (so it gets its anon_vma), the rest with a read; PROT_NONE memory
    is left alone."""
    if prot == 0:
        return
    for page in range(start, end, PAGE_4K):
        if prot & PROT_WRITE and not shared:
            space.prepare_write(page)
        else:
            space.map_page(page)


# -- munmap, mprotect --------------------------------------------------------------------

def sys_munmap(proc, addr: int, length: int) -> int:
    if not aligned(addr) or length == 0 or addr + length > USER_TOP:
        return -EINVAL
    proc.aspace.unmap(addr, page_align_up(addr + length))
    return 0


def sys_mprotect(proc, addr: int, length: int, prot: int) -> int:
    """mprotect(2) as Linux's do_mprotect_pkey: PROT_GROWSDOWN with
    PROT_GROWSUP EINVAL; addr not page-aligned EINVAL; length 0 returns 0
    (before prot is looked at); a range wrapping around ENOMEM; prot bits
    other than READ, WRITE, EXEC and SEM EINVAL; no mapping in the range
    ENOMEM; PROT_GROWSDOWN starts at the first mapping, which must be the
    stack, else EINVAL; otherwise the range must start in a mapping (ENOMEM)
    and PROT_GROWSUP is EINVAL (nothing grows up on x86).

    The mappings from the start up to the first hole get the protection; a
    hole before the end of the range then makes it ENOMEM, as on Linux.
    """
    grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP)
    if grows == PROT_GROWSDOWN | PROT_GROWSUP or not aligned(addr):
        return -EINVAL
    if length == 0:
        return 0
    end = addr + page_align_up(length)
    if end > U64:
        return -ENOMEM
    if prot & ~(PROT_MASK | PROT_SEM | grows):
        return -EINVAL
    space = proc.aspace
    vmas = space.vmas.overlapping(addr, end)
    if not vmas:
        return -ENOMEM
    if grows & PROT_GROWSDOWN:
        if vmas[0].name != STACK_NAME:
            return -EINVAL
        addr = vmas[0].start
    elif vmas[0].start > addr:
        return -ENOMEM
    elif grows & PROT_GROWSUP:
        return -EINVAL
    return _protect_vmas(proc, vmas, addr, end, prot & PROT_MASK)


def _protect_vmas(proc, vmas, start: int, end: int, prot: int) -> int:
    """mprotect's loop: give each VMA's part of [start, end) protection
    `prot` and the flags mprotect_fixup gives it, in order; stop with ENOMEM
    at a hole or when memory runs out, the parts before keeping the change."""
    reach = start
    for vma in vmas:
        if vma.start > reach:
            return -ENOMEM
        piece = vma.clip(start, end)
        vm_flags = _protected_flags(proc, piece, prot)
        if vm_flags < 0:
            return vm_flags
        proc.aspace.restyle(piece.start, piece.end,
                            lambda part, f=vm_flags: part._replace(prot=prot, flags=f))
        reach = piece.end
    return 0 if reach >= end else -ENOMEM


def _protected_flags(proc, piece, prot: int) -> int:
    """mprotect_fixup()'s flags for `piece` given `prot`, or -ENOMEM: private
    memory becoming writable is charged and gets VM_ACCOUNT (unless it has it,
    is writable, shared or MAP_NORESERVE) and counts as data from then on;
    anonymous memory losing write before its first write (no anon_vma) gives
    VM_ACCOUNT back."""
    flags = piece.flags
    if prot & PROT_WRITE:
        if not piece.prot & PROT_WRITE and piece.name in (HEAP_NAME, ANON_NAME) and \
                not within_data_limit(proc, piece.size):
            return -ENOMEM
        if not (flags & (VM_ACCOUNT | VM_NORESERVE) or piece.prot & PROT_WRITE or piece.shared):
            if not fits_in_memory(proc, piece.size):
                return -ENOMEM
            flags |= VM_ACCOUNT
    elif flags & VM_ACCOUNT and piece.anonymous and piece.anon is None:
        flags &= ~VM_ACCOUNT
    return flags

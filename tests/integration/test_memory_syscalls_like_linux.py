"""Regression tests for the differences from Linux that the syscall
differential (test_syscall_differential.py) found, one test each.

Every expected value here was measured natively on Linux 6.18 (most are lines
of tests/fixtures/mm_differential.expected); the kernel function named in a
docstring is where Linux decides it.
"""

import pytest

from kernel.errno import EBADF, EFAULT, EINVAL, ENOMEM, EPERM
from emu import Machine
from emu.assembler import assemble
from emu.elf import image_from_program
from emu.runner import ProcessRunner
from tests.integration.test_syscalls import PAGE, RW, RO, NONE, call, mmap

FIXED, NOREPLACE, ANON, SHARED, PRIVATE = 0x10, 0x100000, 0x20, 0x01, 0x02
PRIVATE_FIXED, SHARED_FIXED = PRIVATE | ANON | FIXED, SHARED | ANON | FIXED
READ, WRITE, WRITEV, MPROTECT, MUNMAP, BRK, MREMAP, MADVISE = 0, 1, 20, 10, 11, 12, 25, 28
MAYMOVE, MREMAP_FIXED, DONTUNMAP = 1, 2, 4
DONTNEED, FREE, REMOVE, POPULATE_READ, POPULATE_WRITE = 4, 8, 9, 22, 23
GUARD_INSTALL, GUARD_REMOVE = 102, 103
WRITE_ONLY = 2
ARENA = 0x2000_0000_0000


@pytest.fixture
def proc():
    """A process of a tiny program whose syscalls the tests make through dispatch()."""
    program = assemble("_start: nop\nsection .bss\nbuf: resb 100\n", base=0x400000,
                       page_aligned=True)
    runner = ProcessRunner(Machine(ram_mib=64), image_from_program(program), ["t"])
    yield runner.process
    runner.finish()


def page(n: int) -> int:
    return ARENA + n * PAGE


def tagged(proc, first: int, count: int, flags=PRIVATE_FIXED, prot=RW, tag=b"a") -> None:
    """Pages [first, first+count) of the arena, mapped and tagged a, b, c..."""
    assert mmap(proc, page(first), count * PAGE, prot | RW, flags) == page(first)
    for i in range(count):
        assert proc.write(page(first + i), bytes([tag[0] + i]))
    if prot != RW:
        assert call(proc, MPROTECT, page(first), count * PAGE, prot) == 0


def tag(proc, n: int):
    """The first byte of arena page n, or None if a user read would fault."""
    data = proc.read(page(n), 1)
    return None if data is None else data


# -- read, write, writev: short counts ---------------------------------------------------

def test_write_stops_at_an_unmapped_tail_with_a_short_count(proc):
    """Linux (a regular file): the bytes before the fault, not EFAULT."""
    tagged(proc, 0, 2)
    assert call(proc, WRITE, 2, page(0), 3 * PAGE) == 2 * PAGE
    assert call(proc, WRITE, 2, page(1) + 100, 3 * PAGE) == PAGE - 100
    assert call(proc, WRITE, 2, page(2), PAGE) == -EFAULT
    assert bytes(proc.output[2]) == proc.read(page(0), 2 * PAGE) + proc.read(page(1) + 100, PAGE - 100)


def test_read_stops_at_a_read_only_tail_and_consumes_only_what_it_stored(proc):
    tagged(proc, 0, 2)
    assert call(proc, MPROTECT, page(1), PAGE, RO) == 0
    stdin = proc.files.get(0)
    stdin.data = b"x" * 500
    assert call(proc, READ, 0, page(1) - 96, 200) == 96
    assert stdin.position == 96
    assert call(proc, READ, 0, page(1) + 10, 200) == -EFAULT
    assert stdin.position == 96


def test_read_and_write_check_the_whole_range_against_user_memory_first(proc):
    """vfs_read/vfs_write: access_ok(buf, count) before anything is copied."""
    tagged(proc, 0, 1)
    stdin = proc.files.get(0)
    stdin.data = b"x" * 10
    assert call(proc, READ, 0, page(0), 1 << 47) == -EFAULT
    assert call(proc, WRITE, 1, page(0), 1 << 47) == -EFAULT
    assert stdin.position == 0 and not proc.output[1]


def iovecs(proc, at: int, *vectors) -> int:
    data = b"".join(base.to_bytes(8, "little") + length.to_bytes(8, "little")
                    for base, length in vectors)
    assert proc.write(at, data)
    return at


def test_writev_stops_inside_the_vector_that_faults(proc):
    tagged(proc, 0, 2)
    vec = iovecs(proc, page(1), (page(0), 10), (page(2) - 5, 20), (page(0), 10))
    assert call(proc, WRITEV, 2, vec, 3) == 15


def test_writev_refuses_a_negative_length_before_looking_at_memory(proc):
    """copy_iovec_from_user: a length < 0 as ssize_t is EINVAL."""
    tagged(proc, 0, 2)
    assert call(proc, WRITEV, 2, iovecs(proc, page(1), (page(0), (1 << 64) - 1)), 1) == -EINVAL


def test_writev_caps_a_single_huge_vector_but_checks_several_in_full(proc):
    """import_ubuf caps one vector at MAX_RW_COUNT before access_ok;
    __import_iovec checks each of several with its full length."""
    tagged(proc, 0, 3)
    vec = iovecs(proc, page(2), (page(0), 1 << 47), (page(0), 1))
    assert call(proc, WRITEV, 2, vec, 1) == 3 * PAGE
    assert call(proc, WRITEV, 2, vec, 2) == -EFAULT


# -- mmap: flags in Linux's order ---------------------------------------------------------

@pytest.mark.parametrize("kwargs,errno", [
    (dict(flags=0, fd=-1), EBADF),                      # not anonymous: the fd comes first
    (dict(flags=0, fd=-1, length=0), EBADF),            # ...before the length
    (dict(flags=0, fd=-1, offset=1), EINVAL),           # the offset comes before the fd
    (dict(flags=SHARED | ANON | 0x100), EINVAL),        # MAP_SHARED | MAP_GROWSDOWN
    (dict(flags=0x03 | ANON), EINVAL),                  # MAP_SHARED_VALIDATE: not for anonymous
    (dict(flags=0x03 | ANON | 0x800000), EINVAL),
    (dict(flags=0x08 | ANON | 0x100), EINVAL),          # MAP_DROPPABLE | MAP_GROWSDOWN
    (dict(flags=PRIVATE | ANON | 0x40000), EINVAL),     # MAP_HUGETLB: no hugetlbfs here
])
def test_mmap_checks_flags_in_linuxs_order(proc, kwargs, errno):
    assert mmap(proc, **kwargs) == -errno


def test_map_droppable_gives_private_memory(proc):
    """Linux 6.11's MAP_DROPPABLE (anonymous only): private memory the kernel
    may drop under memory pressure, which never comes here."""
    assert mmap(proc, page(0), PAGE, RW, 0x08 | ANON | FIXED) == page(0)
    assert proc.write(page(0), b"d") and tag(proc, 0) == b"d"
    assert mmap(proc, page(1), PAGE, RW, 0x08 | FIXED) == -EBADF


# -- mprotect -----------------------------------------------------------------------------

def test_mprotect_over_a_hole_changes_the_part_before_it_then_says_enomem(proc):
    """do_mprotect_pkey applies to each VMA until it meets the hole."""
    tagged(proc, 0, 2)
    tagged(proc, 3, 2)
    assert call(proc, MPROTECT, page(0), 5 * PAGE, RO) == -ENOMEM
    assert [v.perms for v in proc.aspace.vmas.overlapping(page(0), page(5))] == ["r--p", "rw-p"]
    assert call(proc, MPROTECT, page(2), 3 * PAGE, NONE) == -ENOMEM     # starts in the hole
    assert proc.can_access(page(3), PAGE, "write")


def test_mprotect_accepts_prot_sem_and_a_zero_length_before_checking_prot(proc):
    tagged(proc, 0, 1)
    assert call(proc, MPROTECT, page(0), PAGE, RO | 0x8) == 0
    assert call(proc, MPROTECT, page(0), 0, 0x10) == 0
    assert call(proc, MPROTECT, page(0), PAGE, 0x10) == -EINVAL


def test_mprotect_growsdown_without_a_mapping_is_enomem(proc):
    assert call(proc, MPROTECT, page(20), PAGE, 0x0100_0000 | RO) == -ENOMEM
    tagged(proc, 0, 1)
    assert call(proc, MPROTECT, page(0), PAGE, 0x0100_0000 | RO) == -EINVAL


# -- madvise ------------------------------------------------------------------------------

def test_madvise_over_a_hole_advises_the_mapped_parts_then_says_enomem(proc):
    """madvise_walk_vmas: a hole is remembered and reported at the end."""
    tagged(proc, 0, 2)
    tagged(proc, 3, 2)
    assert call(proc, MADVISE, page(0), 6 * PAGE, DONTNEED) == -ENOMEM
    assert [tag(proc, n) for n in (0, 1, 3, 4)] == [b"\0"] * 4


def test_madvise_free_is_for_private_anonymous_memory_and_frees_lazily(proc):
    """MADV_FREE on shared memory is EINVAL; on private memory the pages stay
    until Linux needs memory, so without pressure they read back unchanged."""
    tagged(proc, 0, 1, SHARED_FIXED)
    tagged(proc, 1, 1)
    assert call(proc, MADVISE, page(0), PAGE, FREE) == -EINVAL
    assert call(proc, MADVISE, page(1), PAGE, FREE) == 0
    assert tag(proc, 1) == b"a"
    assert call(proc, MADVISE, page(1), 2 * PAGE, FREE) == -ENOMEM


def test_shared_memory_keeps_its_pages_through_dontneed_and_loses_them_to_remove(proc):
    tagged(proc, 0, 2, SHARED_FIXED)
    assert call(proc, MADVISE, page(0), 2 * PAGE, DONTNEED) == 0
    assert tag(proc, 0) == b"a"
    assert call(proc, MADVISE, page(1), PAGE, REMOVE) == 0
    assert tag(proc, 1) == b"\0"
    tagged(proc, 4, 1)
    assert call(proc, MADVISE, page(4), PAGE, REMOVE) == -EINVAL         # private: no file


def test_guard_pages_fault_until_removed_and_move_with_mremap(proc):
    """Linux 6.13's MADV_GUARD_INSTALL: the page's contents go, every access
    faults; MADV_GUARD_REMOVE gives an empty page back."""
    tagged(proc, 0, 2)
    assert call(proc, MADVISE, page(1), PAGE, GUARD_INSTALL) == 0
    assert call(proc, WRITE, 2, page(0), 2 * PAGE) == PAGE
    assert call(proc, MADVISE, page(1), PAGE, POPULATE_READ) == -EFAULT
    assert call(proc, MADVISE, page(1), PAGE, DONTNEED) == 0
    assert call(proc, MREMAP, page(0), 2 * PAGE, 2 * PAGE, MAYMOVE | MREMAP_FIXED, page(10)) == page(10)
    assert tag(proc, 10) == b"a" and tag(proc, 11) is None
    assert call(proc, MADVISE, page(11), PAGE, GUARD_REMOVE) == 0
    assert tag(proc, 11) == b"\0"


def test_populate_needs_the_protection_it_populates_for(proc):
    """madvise_populate: no PROT_READ (even write-only, which x86 can read) or
    no PROT_WRITE is EINVAL; no mapping ENOMEM."""
    tagged(proc, 0, 1, prot=WRITE_ONLY)
    assert call(proc, MADVISE, page(0), PAGE, POPULATE_READ) == -EINVAL
    assert call(proc, MADVISE, page(0), PAGE, POPULATE_WRITE) == 0
    assert call(proc, MADVISE, page(0), 2 * PAGE, POPULATE_WRITE) == -ENOMEM



def test_keeponfork_and_dodump_are_einval_on_droppable_memory(proc):
    assert mmap(proc, page(0), PAGE, RW, 0x08 | ANON | FIXED) == page(0)
    assert call(proc, MADVISE, page(0), PAGE, 19) == -EINVAL            # MADV_KEEPONFORK
    assert call(proc, MADVISE, page(0), PAGE, 17) == -EINVAL            # MADV_DODUMP
    assert call(proc, MADVISE, page(0), PAGE, 18) == 0                  # MADV_WIPEONFORK


def test_madvise_knows_linux_6_18s_advice(proc):
    tagged(proc, 0, 1)
    assert call(proc, MADVISE, page(0), PAGE, 24) == 0                  # MADV_DONTNEED_LOCKED
    assert call(proc, MADVISE, page(0), PAGE, 25) == -EINVAL            # MADV_COLLAPSE: no THP
    assert call(proc, MADVISE, page(0), PAGE, 100) == -EPERM            # MADV_HWPOISON
    assert call(proc, MADVISE, page(0), PAGE, 104) == -EINVAL


# -- mremap -------------------------------------------------------------------------------

def test_mremap_of_an_unmapped_range_is_efault_even_to_shrink(proc):
    assert call(proc, MREMAP, page(0), 2 * PAGE, PAGE, 0, 0) == -EFAULT
    assert call(proc, MREMAP, page(0), PAGE, PAGE, 0, 0) == -EFAULT


def test_a_plain_move_takes_every_mapping_in_the_range_and_keeps_the_gaps(proc):
    """Linux 6.17's remap_move(): MREMAP_FIXED with equal sizes may span
    mappings and holes; a hole at the start is EFAULT."""
    tagged(proc, 1, 2)
    tagged(proc, 4, 1, tag=b"d")
    assert call(proc, MREMAP, page(0), 3 * PAGE, 3 * PAGE, MAYMOVE | MREMAP_FIXED, page(20)) == -EFAULT
    assert call(proc, MREMAP, page(1), 4 * PAGE, 4 * PAGE, MAYMOVE | MREMAP_FIXED, page(20)) == page(20)
    assert [tag(proc, n) for n in range(20, 24)] == [b"a", b"b", None, b"d"]
    assert proc.aspace.vmas.is_free(page(1), page(5))


def test_mremap_checks_the_target_before_looking_for_the_source(proc):
    """check_mremap_params(): a new size beyond user memory, or a target that
    overlaps the source, is EINVAL even when nothing is mapped."""
    assert call(proc, MREMAP, page(0), PAGE, 1 << 47, MAYMOVE, 0) == -EINVAL
    assert call(proc, MREMAP, page(1), PAGE, 2 * PAGE, MAYMOVE | MREMAP_FIXED, page(0)) == -EINVAL


def test_dontunmap_leaves_private_memory_empty_and_shared_memory_shown_twice(proc):
    tagged(proc, 0, 1)
    tagged(proc, 4, 1, SHARED_FIXED, tag=b"e")
    flags = MAYMOVE | DONTUNMAP | MREMAP_FIXED
    assert call(proc, MREMAP, page(0), PAGE, PAGE, flags, page(8)) == page(8)
    assert (tag(proc, 0), tag(proc, 8)) == (b"\0", b"a")
    assert call(proc, MREMAP, page(4), PAGE, PAGE, flags, page(12)) == page(12)
    assert proc.write(page(12), b"E")
    assert tag(proc, 4) == b"E"


def test_shared_memory_can_be_mapped_twice_and_grown_only_within_its_object(proc):
    tagged(proc, 0, 2, SHARED_FIXED)
    assert call(proc, MREMAP, page(0), 0, 2 * PAGE, MAYMOVE | MREMAP_FIXED, page(10)) == page(10)
    assert tag(proc, 11) == b"b"
    assert call(proc, MREMAP, page(0), 2 * PAGE, PAGE, 0, 0) == page(0)
    assert call(proc, MREMAP, page(0), PAGE, 3 * PAGE, 0, 0) == page(0)
    assert tag(proc, 1) == b"b"                                          # the object kept it
    assert tag(proc, 2) is None                                          # past its end: SIGBUS
    assert call(proc, MADVISE, page(2), PAGE, POPULATE_READ) == -EFAULT


# -- brk ----------------------------------------------------------------------------------

def test_brk_keeps_a_free_page_before_the_next_mapping(proc):
    start = call(proc, BRK, 0)
    assert mmap(proc, start + 8 * PAGE, PAGE, RW, PRIVATE | ANON | NOREPLACE) == start + 8 * PAGE
    assert call(proc, BRK, start + 7 * PAGE) == start + 7 * PAGE
    assert call(proc, BRK, start + 7 * PAGE + 1) == start + 7 * PAGE


def test_brk_cannot_shrink_a_heap_whose_pages_were_unmapped(proc):
    start = call(proc, BRK, 0)
    assert call(proc, BRK, start + 6 * PAGE + 1) == start + 6 * PAGE + 1
    assert call(proc, MUNMAP, start, 7 * PAGE) == 0
    assert call(proc, BRK, start + 3 * PAGE) == start + 6 * PAGE + 1
    assert call(proc, BRK, start + 6 * PAGE + 2) == start + 6 * PAGE + 2      # same page: fine


def test_shared_mappings_show_as_shared_in_the_maps(proc):
    tagged(proc, 0, 1, SHARED_FIXED)
    assert [(v.perms, v.name) for v in proc.aspace.vmas.overlapping(page(0), page(1))] == \
        [("rw-s", "/dev/zero (deleted)")]


def test_every_frame_comes_back_after_shared_memory_and_guards_are_unmapped(proc):
    tagged(proc, 0, 4)                        # page tables for both ranges, kept after
    tagged(proc, 10, 4)
    assert call(proc, MUNMAP, page(0), 14 * PAGE) == 0
    frames, before = proc.aspace.frames, proc.aspace.frames.frames_in_use
    tagged(proc, 0, 4, SHARED_FIXED)
    shmem = proc.aspace.vmas.find(page(0)).shmem
    assert call(proc, MREMAP, page(0), 0, 4 * PAGE, MAYMOVE | MREMAP_FIXED, page(10)) == page(10)
    assert call(proc, MADVISE, page(1), PAGE, GUARD_INSTALL) == 0
    assert call(proc, MUNMAP, page(0), 4 * PAGE) == 0
    assert len(shmem.frames) == 4                                       # page(10) still shows them
    assert call(proc, MUNMAP, page(10), 4 * PAGE) == 0
    assert shmem.frames == {} and frames.frames_in_use == before
    assert list(proc.aspace.guards) == []


# -- VMA boundaries, which mremap shows: it grows one VMA at a time ---------------------

def grows_in_place(proc, first: int, pages: int) -> int:
    """mremap of arena pages [first, first+pages) to one page more, in place:
    the address if they end one VMA, -EFAULT if they span two."""
    return call(proc, MREMAP, page(first), pages * PAGE, (pages + 1) * PAGE, 0, 0)


@pytest.mark.parametrize("advice", [1, 2, 10, 12, 14, 15, 16, 18])
def test_advice_that_sets_a_vma_flag_splits_the_vma(proc, advice):
    """Seed 3150 of the differential: MADV_SEQUENTIAL on part of a mapping
    made a later mremap across it EFAULT on Linux, not here."""
    tagged(proc, 0, 2)
    assert call(proc, MADVISE, page(1), PAGE, advice) == 0
    assert grows_in_place(proc, 0, 2) == -EFAULT
    assert grows_in_place(proc, 1, 1) == page(1)


def test_madv_normal_clears_only_the_read_ahead_flags(proc):
    tagged(proc, 0, 3)
    assert call(proc, MADVISE, page(1), PAGE, 2) == 0                   # SEQUENTIAL
    assert call(proc, MADVISE, page(2), PAGE, 10) == 0                  # DONTFORK
    assert call(proc, MADVISE, page(0), 3 * PAGE, 0) == 0               # NORMAL
    assert grows_in_place(proc, 0, 2) == -ENOMEM        # one VMA again; page 2 (DONTFORK) in the way
    assert grows_in_place(proc, 0, 3) == -EFAULT


@pytest.mark.parametrize("flags", [0x4000, 0x20000])                    # NORESERVE, STACK
def test_noreserve_and_stack_mappings_are_vmas_of_their_own(proc, flags):
    assert mmap(proc, page(0), PAGE, RW, PRIVATE_FIXED) == page(0)
    assert mmap(proc, page(1), PAGE, RW, PRIVATE_FIXED | flags) == page(1)
    assert grows_in_place(proc, 0, 2) == -EFAULT


def test_a_written_mapping_keeps_its_page_offset_when_moved(proc):
    """copy_vma(): memory never written takes its new address as its offset
    and merges at the new place; written memory does not."""
    assert mmap(proc, page(10), PAGE, RW, PRIVATE_FIXED) == page(10)
    assert mmap(proc, page(0), PAGE, RW, PRIVATE_FIXED) == page(0)
    assert proc.write(page(10), b"m")
    assert call(proc, MREMAP, page(10), PAGE, PAGE, MAYMOVE | MREMAP_FIXED, page(1)) == page(1)
    assert grows_in_place(proc, 0, 2) == -EFAULT
    assert mmap(proc, page(20), PAGE, RW, PRIVATE_FIXED) == page(20)
    assert call(proc, MREMAP, page(20), PAGE, PAGE, MAYMOVE | MREMAP_FIXED, page(4)) == page(4)
    assert mmap(proc, page(3), PAGE, RW, PRIVATE_FIXED) == page(3)
    assert grows_in_place(proc, 3, 2) == page(3)


def test_a_read_gives_no_anon_vma_but_a_write_does(proc):
    """A read fault maps a read-only page (Linux's zero page): the mapping
    still merges anywhere; the first write makes the page writable and gives
    the VMA its anon_vma."""
    assert mmap(proc, page(0), PAGE, RW, PRIVATE_FIXED) == page(0)
    assert proc.read(page(0), 1) == b"\0"
    walk = proc.aspace.tables.walk(proc.aspace.root, page(0))
    assert walk.mapped and not walk.writable
    assert proc.aspace.vmas.find(page(0)).anon is None
    assert proc.write(page(0), b"w")
    assert proc.aspace.tables.walk(proc.aspace.root, page(0)).writable
    assert proc.aspace.vmas.find(page(0)).anon is not None


def test_the_gap_between_two_written_mappings_joins_the_first_only(proc):
    tagged(proc, 0, 1)
    tagged(proc, 2, 1)
    assert mmap(proc, page(1), PAGE, RW, PRIVATE_FIXED) == page(1)
    assert grows_in_place(proc, 1, 2) == -EFAULT
    assert grows_in_place(proc, 0, 2) == -ENOMEM                        # one VMA, page 2 in the way


def test_unwritten_memory_made_read_only_gives_back_vm_account(proc):
    """mprotect_fixup(): it then merges with read-only memory beside it; once
    written, it keeps VM_ACCOUNT and does not."""
    assert mmap(proc, page(0), PAGE, RW, PRIVATE_FIXED) == page(0)
    assert call(proc, MPROTECT, page(0), PAGE, RO) == 0
    assert mmap(proc, page(1), PAGE, RO, PRIVATE_FIXED) == page(1)
    assert grows_in_place(proc, 0, 2) == page(0)
    tagged(proc, 4, 1, prot=RO)
    assert mmap(proc, page(5), PAGE, RO, PRIVATE_FIXED) == page(5)
    assert grows_in_place(proc, 4, 2) == -EFAULT


def test_a_mapping_beside_the_heap_joins_it(proc):
    start = call(proc, BRK, 0)
    assert call(proc, BRK, start + 2 * PAGE) == start + 2 * PAGE
    assert proc.write(start, b"h")
    assert mmap(proc, start + 2 * PAGE, 2 * PAGE, RW, PRIVATE_FIXED) == start + 2 * PAGE
    assert call(proc, MREMAP, start + PAGE, 3 * PAGE, 4 * PAGE, 0, 0) == start + PAGE


def test_locked_memory_refuses_advice_that_would_drop_its_pages(proc):
    assert mmap(proc, page(0), PAGE, RW, PRIVATE_FIXED | 0x2000) == page(0)    # MAP_LOCKED
    for advice in (DONTNEED, FREE, 20, 21, GUARD_INSTALL):
        assert call(proc, MADVISE, page(0), PAGE, advice) == -EINVAL
    assert call(proc, MADVISE, page(0), PAGE, 24) == 0                  # MADV_DONTNEED_LOCKED

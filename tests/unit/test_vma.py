"""VMAs and VMA lists, pure: splitting keeps page offsets, merging follows
Linux's rules (kernel/vma.py), guard pages are a sorted set."""

import random

from kernel.vma import (SHARED_NAME, VM_ACCOUNT, VM_DROPPABLE, VM_NORESERVE, VM_SEQ_READ, VMA,
                        AnonVMA, GuardPages, SharedMemory, VMAList)

PAGE = 4096
RW = 3


def test_clipping_a_shared_vma_moves_its_page_offset_with_its_start():
    shmem = SharedMemory(8)
    vma = VMA(0x10000, 0x18000, RW, SHARED_NAME, shmem=shmem, pgoff=2)
    part = vma.clip(0x12000, 0x20000)
    assert (part.start, part.end, part.pgoff, part.shmem) == (0x12000, 0x18000, 4, shmem)
    assert part.page_index(0x13000) == 5


def test_unmapping_the_middle_of_a_shared_vma_leaves_pieces_that_show_the_right_pages():
    vmas = VMAList()
    shmem = SharedMemory(4)
    vmas.insert(VMA(0x10000, 0x14000, RW, SHARED_NAME, shmem=shmem))
    removed = vmas.remove(0x11000, 0x12000)
    assert [(v.start, v.pgoff) for v in vmas] == [(0x10000, 0), (0x12000, 2)]
    assert [(v.start, v.pgoff) for v in removed] == [(0x11000, 1)]


def test_shared_vmas_merge_only_when_they_show_the_next_page_of_the_same_object():
    vmas, shmem = VMAList(), SharedMemory(4)
    vmas.insert(VMA(0x10000, 0x11000, RW, SHARED_NAME, shmem=shmem, pgoff=0))
    vmas.insert(VMA(0x11000, 0x12000, RW, SHARED_NAME, shmem=shmem, pgoff=2))
    vmas.insert(VMA(0x12000, 0x13000, RW, SHARED_NAME, shmem=SharedMemory(1), pgoff=0))
    assert len(vmas) == 3
    vmas.insert(VMA(0x13000, 0x14000, RW, SHARED_NAME, shmem=shmem, pgoff=0))
    vmas.remove(0x11000, 0x12000)
    vmas.insert(VMA(0x11000, 0x12000, RW, SHARED_NAME, shmem=shmem, pgoff=1))
    assert [(v.start, v.end) for v in vmas][0] == (0x10000, 0x12000)


def test_shared_private_and_droppable_memory_never_merge():
    vmas = VMAList()
    vmas.insert(VMA(0x10000, 0x11000, RW, "[anon]", pgoff=0x10))
    vmas.insert(VMA(0x11000, 0x12000, RW, "[anon]", pgoff=0x11, flags=VM_DROPPABLE))
    vmas.insert(VMA(0x12000, 0x13000, RW, SHARED_NAME, shmem=SharedMemory(1)))
    vmas.insert(VMA(0x13000, 0x14000, RW, "[anon]", pgoff=0x13))
    assert len(vmas) == 4


def test_a_shared_vma_knows_where_its_object_ends():
    vma = VMA(0x10000, 0x14000, RW, SHARED_NAME, shmem=SharedMemory(3), pgoff=1)
    assert vma.shared_end() == 0x12000
    assert VMA(0x10000, 0x14000, RW, "[anon]").shared_end() == 0x14000
    assert vma.perms == "rw-s" and not vma.anonymous


def test_guard_pages_are_found_added_and_taken_by_range():
    guards = GuardPages()
    guards.add(0x5000, 0x8000)
    guards.add_pages([0x2000])
    assert list(guards) == [0x2000, 0x5000, 0x6000, 0x7000]
    assert guards.first_in(0x3fff, 0x9000) == 0x5000
    assert guards.first_in(0x2fff, 0x5000) == 0x2000          # the page holding 0x2fff
    assert guards.first_in(0x8000, 0x9000) is None
    assert guards.remove(0x6000, 0x9000) == [0x6000, 0x7000]
    assert 0x5000 in guards and 0x6000 not in guards


def anon_vma(start, end, **kind):
    """A private anonymous VMA as mmap makes it: page offset = address / PAGE."""
    kind.setdefault("pgoff", start // PAGE)
    return VMA(start, end, RW, "[anon]", **kind)


def test_private_vmas_merge_only_with_following_page_offsets():
    vmas = VMAList()
    vmas.insert(anon_vma(0x10000, 0x11000))
    vmas.insert(anon_vma(0x11000, 0x12000, pgoff=0x99))          # moved here after a write
    assert len(vmas) == 2


def test_vmas_with_different_anon_vmas_never_merge_and_the_one_before_wins():
    """vma_merge_new_range: a new VMA between two it could join, whose
    anon_vmas differ, joins the one before."""
    vmas, x, y = VMAList(), AnonVMA(), AnonVMA()
    vmas.insert(anon_vma(0x10000, 0x11000, anon=x))
    vmas.insert(anon_vma(0x12000, 0x13000, anon=y))
    vmas.insert(anon_vma(0x11000, 0x12000))
    assert [(v.start, v.end, v.anon) for v in vmas] == [(0x10000, 0x12000, x), (0x12000, 0x13000, y)]


def test_heap_and_anonymous_maps_are_one_kind_but_flags_keep_them_apart():
    vmas = VMAList()
    vmas.insert(VMA(0x10000, 0x11000, RW, "[heap]", pgoff=0x10, flags=VM_ACCOUNT))
    vmas.insert(anon_vma(0x11000, 0x12000, flags=VM_ACCOUNT))
    vmas.insert(anon_vma(0x12000, 0x13000, flags=VM_ACCOUNT | VM_NORESERVE))
    assert [(v.start, v.end, v.name) for v in vmas] == \
        [(0x10000, 0x12000, "[heap]"), (0x12000, 0x13000, "[anon]")]


def test_updating_flags_splits_a_vma_and_clearing_them_merges_it_back():
    vmas = VMAList()
    vmas.insert(anon_vma(0x10000, 0x14000))
    vmas.update(0x11000, 0x12000, lambda v: v._replace(flags=VM_SEQ_READ))
    assert len(vmas) == 3
    vmas.update(0x11000, 0x12000, lambda v: v._replace(flags=0))
    assert [(v.start, v.end) for v in vmas] == [(0x10000, 0x14000)]


def test_a_range_is_free_exactly_when_no_vma_overlaps_it():
    rng = random.Random(7)
    for _ in range(200):
        vmas, start = VMAList(), 0
        for _ in range(rng.randrange(6)):
            start += PAGE * rng.randrange(1, 4)
            end = start + PAGE * rng.randrange(1, 4)
            vmas.insert(VMA(start, end, rng.choice((0, 1, 3)), f"[v{start}]"))
            start = end
        for _ in range(20):
            lo = PAGE * rng.randrange(16)
            hi = lo + PAGE * rng.randrange(-1, 6)
            assert vmas.is_free(lo, hi) == (not vmas.overlapping(lo, hi)), (lo, hi, list(vmas))

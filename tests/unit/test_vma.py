"""VMAs and VMA lists, pure: splitting keeps a shared mapping's page offset,
merging needs the same object at the next page, guard pages are a sorted set."""

from kernel.address_space import GuardPages
from kernel.vma import VMA, SHARED_NAME, SharedMemory, VMAList

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
    vmas.insert(VMA(0x10000, 0x11000, RW, "[anon]"))
    vmas.insert(VMA(0x11000, 0x12000, RW, "[anon]", droppable=True))
    vmas.insert(VMA(0x12000, 0x13000, RW, "[anon]"))
    assert len(vmas) == 3


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

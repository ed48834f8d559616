"""Regression tests for the differences from Linux that the syscall
differential (test_syscall_differential.py) found, one test each.

Every expected value here was measured natively on Linux 6.18 (most are lines
of tests/fixtures/mm_differential.expected); the kernel function named in a
docstring is where Linux decides it.
"""

import pytest

from kernel.errno import EFAULT, EINVAL
from emu import Machine
from emu.assembler import assemble
from emu.elf import image_from_program
from emu.runner import Session
from tests.integration.test_syscalls import PAGE, RW, RO, call, mmap

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
    session = Session(Machine(ram_mib=64), image_from_program(program), ["t"])
    yield session.process
    session.finish()


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
    proc.stdin = b"x" * 500
    assert call(proc, READ, 0, page(1) - 96, 200) == 96
    assert proc.stdin_pos == 96
    assert call(proc, READ, 0, page(1) + 10, 200) == -EFAULT
    assert proc.stdin_pos == 96


def test_read_and_write_check_the_whole_range_against_user_memory_first(proc):
    """vfs_read/vfs_write: access_ok(buf, count) before anything is copied."""
    tagged(proc, 0, 1)
    proc.stdin = b"x" * 10
    assert call(proc, READ, 0, page(0), 1 << 47) == -EFAULT
    assert call(proc, WRITE, 1, page(0), 1 << 47) == -EFAULT
    assert proc.stdin_pos == 0 and not proc.output[1]


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

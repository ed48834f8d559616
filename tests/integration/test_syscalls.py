"""Memory syscalls against the Linux man pages, called on a live process.

The process is a tiny asm program loaded into a ProcessRunner; the tests call the
kernel's dispatch() directly, as the syscall instruction would.
"""

import pytest

from emu import Machine
from emu.assembler import assemble
from emu.elf import image_from_program
from emu.runner import ProcessRunner
from kernel.address_space import MMAP_BASE, STACK_TOP
from kernel.errno import EACCES, EEXIST, EFAULT, EINVAL, ENODEV, ENOMEM, ENOSYS, EPERM, EBADF
from kernel.syscalls import dispatch

PAGE = 4096
RW, RO, NONE = 3, 1, 0
PRIVATE_ANON, FIXED, NOREPLACE = 0x22, 0x10, 0x100000
BRK, MMAP, MUNMAP, MPROTECT, MREMAP, MADVISE = 12, 9, 11, 10, 25, 28


@pytest.fixture
def proc():
    machine = Machine(ram_mib=64)
    program = assemble("_start: nop\nsection .bss\nbuf: resb 100\n", base=0x400000,
                       page_aligned=True)
    runner = ProcessRunner(machine, image_from_program(program), ["t"])
    yield runner.process
    runner.finish()


def call(proc, number, *args):
    result = dispatch(proc, number, tuple(args) + (0,) * (6 - len(args)))
    return result - (1 << 64) if result >= 1 << 63 else result


def mmap(proc, addr=0, length=PAGE, prot=RW, flags=PRIVATE_ANON, fd=-1, offset=0):
    return call(proc, MMAP, addr, length, prot, flags, fd & 0xFFFFFFFF, offset)


def names(proc):
    return [(v.start, v.end, v.perms, v.name) for v in proc.aspace.vmas]


# -- brk ------------------------------------------------------------------------------

def test_brk_zero_returns_the_break_after_bss(proc):
    assert call(proc, BRK, 0) == 0x402000          # .text page, .bss page, then the heap


def test_brk_grows_and_shrinks_and_refuses_with_the_old_break(proc):
    start = call(proc, BRK, 0)
    assert call(proc, BRK, start + 10000) == start + 10000
    assert proc.write(start + 9999, b"x")                       # inside the heap now
    assert call(proc, BRK, start - 1) == start + 10000          # below the heap: refused
    assert call(proc, BRK, 1 << 50) == start + 10000            # beyond memory: refused
    assert call(proc, BRK, start + 100) == start + 100          # shrink
    assert not proc.write(start + 5000, b"x")                   # that page is gone


def test_brk_cannot_grow_into_a_mapping(proc):
    start = call(proc, BRK, 0)
    assert mmap(proc, start + 2 * PAGE, PAGE, flags=PRIVATE_ANON | FIXED) == start + 2 * PAGE
    assert call(proc, BRK, start + 3 * PAGE) == start


def test_the_data_limit_covers_brk_and_writable_anonymous_maps(proc):
    proc.data_limit = 4 * PAGE
    start = call(proc, BRK, 0)
    assert call(proc, BRK, start + 2 * PAGE) == start + 2 * PAGE
    assert call(proc, BRK, start + 2 * PAGE + 1) == start + 2 * PAGE + 1
    assert mmap(proc, length=PAGE) > 0                    # heap 3 pages + 1 = the limit
    assert mmap(proc, length=PAGE) == -ENOMEM
    assert mmap(proc, length=PAGE, prot=RO) > 0          # read-only maps do not count
    assert call(proc, BRK, start + 3 * PAGE + 1) == start + 2 * PAGE + 1


# -- mmap ------------------------------------------------------------------------------

def test_mmap_places_mappings_top_down_below_mmap_base(proc):
    first = mmap(proc, length=3 * PAGE)
    second = mmap(proc)
    assert first == MMAP_BASE - 3 * PAGE
    assert second == first - PAGE
    assert (first, first + 3 * PAGE, "rw-p", "[anon]") in names(proc) or \
        any(v[0] <= first and v[1] >= first + 3 * PAGE for v in names(proc))


def test_mmap_rounds_length_up_and_gives_zeroed_pages(proc):
    addr = mmap(proc, length=10)
    assert proc.read(addr, PAGE) == bytes(PAGE)
    assert proc.aspace.vmas.find(addr).size == PAGE


@pytest.mark.parametrize("kwargs,errno", [
    (dict(length=0), EINVAL),
    (dict(flags=0x20), EINVAL),                                  # neither PRIVATE nor SHARED
    (dict(offset=100), EINVAL),                                  # offset not page-aligned
    (dict(addr=0x600001, flags=PRIVATE_ANON | FIXED), EINVAL),   # MAP_FIXED unaligned
    (dict(addr=0x1000, flags=PRIVATE_ANON | FIXED), EPERM),      # below mmap_min_addr
    (dict(length=1 << 47), ENOMEM),
    (dict(length=1 << 30), ENOMEM),                              # more than the machine has
    (dict(flags=0x02, fd=0), ENODEV),                            # stdin is a pipe: no mmap
    (dict(flags=0x02, fd=1), EACCES),                            # a pipe's write end: no reading
    (dict(flags=0x02, fd=7), EBADF),
])
def test_mmap_errors(proc, kwargs, errno):
    assert mmap(proc, **kwargs) == -errno


def test_mmap_hint_is_used_when_free(proc):
    assert mmap(proc, addr=0x7000_0000) == 0x7000_0000
    assert mmap(proc, addr=0x7000_0000) != 0x7000_0000           # taken: placed elsewhere
    assert mmap(proc, addr=0x7000_1001) == 0x7000_1000           # rounded down, as x86 Linux
    assert mmap(proc, addr=0x1000) == 0x10000                    # raised to mmap_min_addr


def test_map_fixed_replaces_an_existing_mapping(proc):
    addr = mmap(proc, length=4 * PAGE)
    assert proc.write(addr + PAGE, b"old")
    assert mmap(proc, addr + PAGE, PAGE, RO, PRIVATE_ANON | FIXED) == addr + PAGE
    assert proc.read(addr + PAGE, 3) == b"\0\0\0"                # a fresh page
    assert proc.aspace.vmas.find(addr + PAGE).perms == "r--p"
    assert proc.aspace.vmas.find(addr).perms == "rw-p"


def test_map_fixed_noreplace_refuses_an_occupied_range(proc):
    addr = mmap(proc)
    assert mmap(proc, addr, PAGE, flags=PRIVATE_ANON | NOREPLACE) == -EEXIST


# -- munmap -------------------------------------------------------------------------------

def test_munmap_of_a_middle_range_splits_the_vma(proc):
    addr = mmap(proc, length=5 * PAGE)
    for i in range(5):
        assert proc.write(addr + i * PAGE, bytes([i + 1]))
    frames_before = proc.aspace.frames.frames_in_use
    assert call(proc, MUNMAP, addr + PAGE, 2 * PAGE) == 0
    spans = [(v.start, v.end) for v in proc.aspace.vmas if addr <= v.start < addr + 5 * PAGE]
    assert spans == [(addr, addr + PAGE), (addr + 3 * PAGE, addr + 5 * PAGE)]
    assert proc.aspace.frames.frames_in_use == frames_before - 2
    assert proc.read(addr + 3 * PAGE, 1) == b"\x04"
    assert proc.read(addr + PAGE, 1) is None


@pytest.mark.parametrize("addr_offset,length", [(1, PAGE), (0, 0)])
def test_munmap_errors(proc, addr_offset, length):
    addr = mmap(proc)
    assert call(proc, MUNMAP, addr + addr_offset, length) == -EINVAL


def test_munmap_of_nothing_succeeds(proc):
    assert call(proc, MUNMAP, 0x6000_0000, PAGE) == 0


# -- mprotect -------------------------------------------------------------------------------

def test_mprotect_splits_and_changes_permissions(proc):
    addr = mmap(proc, length=3 * PAGE)
    assert call(proc, MPROTECT, addr + PAGE, PAGE, RO) == 0
    assert [proc.aspace.vmas.find(addr + i * PAGE).perms for i in range(3)] == \
        ["rw-p", "r--p", "rw-p"]
    assert not proc.write(addr + PAGE, b"x")


def test_mprotect_errors(proc):
    addr = mmap(proc)
    assert call(proc, MPROTECT, addr + 1, PAGE, RO) == -EINVAL
    assert call(proc, MPROTECT, addr, PAGE, 0x10) == -EINVAL
    assert call(proc, MPROTECT, addr - PAGE, 2 * PAGE, RO) == -ENOMEM   # a hole in the range
    assert call(proc, MPROTECT, addr, 0, RO) == 0


def test_prot_none_keeps_contents_for_later(proc):
    addr = mmap(proc)
    assert proc.write(addr, b"kept")
    assert call(proc, MPROTECT, addr, PAGE, NONE) == 0
    assert proc.read(addr, 4) is None
    assert call(proc, MPROTECT, addr, PAGE, RW) == 0
    assert proc.read(addr, 4) == b"kept"


# -- mremap and madvise -------------------------------------------------------------------

def test_mremap_grows_in_place_or_moves_keeping_contents(proc):
    addr = mmap(proc, length=2 * PAGE)
    assert proc.write(addr, b"data")
    assert call(proc, MREMAP, addr, 2 * PAGE, PAGE, 0, 0) == addr          # shrink
    blocker = mmap(proc, addr + PAGE, PAGE, flags=PRIVATE_ANON | FIXED)
    assert blocker == addr + PAGE
    assert call(proc, MREMAP, addr, PAGE, 4 * PAGE, 0, 0) == -ENOMEM       # may not move
    moved = call(proc, MREMAP, addr, PAGE, 4 * PAGE, 1, 0)                 # MREMAP_MAYMOVE
    assert moved not in (addr, -ENOMEM) and proc.read(moved, 4) == b"data"
    assert proc.read(addr, 1) is None
    assert call(proc, MREMAP, addr + 1, PAGE, PAGE, 0, 0) == -EINVAL
    assert call(proc, MREMAP, 0x6100_0000, PAGE, 2 * PAGE, 1, 0) == -EFAULT


def test_madvise_dontneed_zero_fills_and_bad_advice_is_einval(proc):
    addr = mmap(proc)
    assert proc.write(addr, b"gone")
    assert call(proc, MADVISE, addr, PAGE, 4) == 0
    assert proc.read(addr, 4) == bytes(4)
    assert call(proc, MADVISE, addr, PAGE, 999) == -EINVAL
    assert call(proc, MADVISE, addr, PAGE, 0) == 0


# -- the rest of the table -------------------------------------------------------------------

def test_unknown_syscalls_are_enosys_and_logged(proc):
    assert call(proc, 999, 1, 2) == -ENOSYS
    assert proc.syscalls[-1].name == "syscall_999"


def test_user_pointers_outside_vmas_are_efault(proc):
    assert call(proc, 1, 1, 0x10, 5) == -EFAULT                   # write from unmapped memory
    assert call(proc, 318, STACK_TOP, 8, 0) == -EFAULT             # getrandom to above the stack


def test_readlink_of_proc_self_exe_names_the_program(proc):
    buf = mmap(proc)
    assert proc.write(buf, b"/proc/self/exe\0")
    length = call(proc, 89, buf, buf + 100, 200)
    assert proc.read(buf + 100, length) == proc.path.encode()


# -- found in review: each checked against the same program natively ----------------------

def test_unknown_prot_bits_are_ignored_by_mmap_but_growsdown_needs_the_stack(proc):
    addr = mmap(proc, prot=RW | 8)
    assert addr > 0 and proc.aspace.vmas.find(addr).perms == "rw-p"
    assert call(proc, MPROTECT, addr, PAGE, RW | 0x0100_0000) == -EINVAL      # PROT_GROWSDOWN


def test_write_only_and_exec_only_pages_can_be_read(proc):
    addr = mmap(proc, prot=2)                         # PROT_WRITE alone
    assert proc.read(addr, 4) == bytes(4)             # x86: writable implies readable


def test_mremap_fixed_cannot_map_below_mmap_min_addr(proc):
    addr = mmap(proc)
    assert call(proc, MREMAP, addr, PAGE, PAGE, 3, 0) == -EPERM     # MAYMOVE|FIXED to NULL


def test_shrinking_mremap_may_span_vmas(proc):
    addr = mmap(proc, length=2 * PAGE)
    assert call(proc, MPROTECT, addr + PAGE, PAGE, RO) == 0
    assert call(proc, MREMAP, addr, 2 * PAGE, PAGE, 0, 0) == addr


def test_prot_none_and_noreserve_reservations_are_not_held_against_memory(proc):
    assert mmap(proc, length=4 << 30, prot=NONE) > 0
    assert mmap(proc, length=4 << 30, flags=PRIVATE_ANON | 0x4000) > 0          # MAP_NORESERVE
    assert mmap(proc, length=4 << 30) == -ENOMEM


def test_madvise_dontneed_brings_back_the_programs_own_contents():
    machine = Machine(ram_mib=64)
    program = assemble("_start: nop\nsection .data\nvalue: dq 42\n", base=0x400000,
                       page_aligned=True)
    runner = ProcessRunner(machine, image_from_program(program), ["t"])
    proc, value = runner.process, program.symbols["value"]
    assert proc.write(value, (7).to_bytes(8, "little"))
    assert call(proc, MADVISE, value & ~0xFFF, PAGE, 4) == 0
    assert proc.read_u64(value) == 42                  # the file's value, not zero
    assert call(proc, MADVISE, value & ~0xFFF, PAGE, 8) == -EINVAL   # MADV_FREE: anon only
    runner.finish()


def test_madvise_with_a_wrapping_length_is_einval(proc):
    addr = mmap(proc)
    assert call(proc, MADVISE, addr, (1 << 64) - PAGE, 4) == -EINVAL


def test_huge_io_counts_are_capped_and_checked_before_any_work(proc):
    addr = mmap(proc)
    assert call(proc, 318, addr, 1 << 40, 0) == -EFAULT       # getrandom past the mapping
    assert call(proc, 318, addr, PAGE, 0) == PAGE
    assert call(proc, 1, 1, addr, 1 << 40) == -EFAULT         # write past the mapping

"""Fuzz target: the C walker with its demand-zero assist, and the C mmap and
munmap, against the Python walker and kernel.

A random program of memory calls (mmap private or shared, munmap, mprotect,
madvise with DONTNEED, FREE and guard pages, mremap with or without
MREMAP_DONTUNMAP, fork), under RLIMIT_DATA or not, over an 8-page
window (few pages, so calls and touches meet often), with mmaps the kernel
places (a hint in the window, or none: top-down below the mmap base, where
a second window is unmapped and touched), mixed with reads and writes of
its pages by the guest itself, runs once on a machine with the C walker
(whose assist maps first touches without Python, kernel/assist.py, and
which makes private anonymous mmap and munmap calls in C,
kernel/anon_maps.py) and once on a machine with the Python walker, the
reference. Everything must come out the same: how the process ended (a fault
too, with its address and reason), its fault counts, every leaf entry (frame,
flags, A/D bits), the frames in use, the VMAs with their anon_vma sharing and
the log of system calls; and both machines must be back at their boot values
afterwards.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emu import Budget, Machine
from emu.runner import ProcessRunner
from tests.conftest import leaf_entries, vma_summary
from tests.fuzz.conftest import FUZZ, record
from kernel.address_space import MMAP_BASE
from tests.fuzz.machines import RAM_MIB, BootState, assert_back_at_boot, image_of_bytes

WINDOW = 0x2000_0000                     # the pages the program plays with
TOP = MMAP_BASE - 8 * 4096               # where mmaps without a hint land first
PAGES = 8
PAGE = 4096
MAP_FIXED_PRIVATE, MAP_FIXED_SHARED = 0x32, 0x31
MREMAP_MAYMOVE_FIXED = 3
MREMAP_DONTUNMAP = 4
ADVICE = [4, 8, 102, 103]                # DONTNEED, FREE, GUARD_INSTALL, GUARD_REMOVE
PROTS = [0, 1, 3, 3, 3, 5, 7]            # NONE, R, RW (often), RX, RWX

# x86-64 encodings: mov r64, imm64 for the syscall registers; syscall
_MOV = {"rax": b"\x48\xb8", "rdi": b"\x48\xbf", "rsi": b"\x48\xbe", "rdx": b"\x48\xba",
        "r10": b"\x49\xba", "r8": b"\x49\xb8", "r9": b"\x49\xb9", "rbx": b"\x48\xbb"}
_SYSCALL = b"\x0f\x05"
_WRITE_BYTE_AT_RBX = b"\xc6\x03\x01"     # mov byte [rbx], 1
_READ_BYTE_AT_RBX = b"\x8a\x03"          # mov al, [rbx]

OFFSET = st.integers(0, PAGES - 1)
LENGTH = st.integers(1, 4)
STEP = st.one_of(
    st.tuples(st.just("mmap"), OFFSET, LENGTH, st.sampled_from(PROTS), st.booleans()),
    st.tuples(st.just("munmap"), OFFSET, LENGTH),
    st.tuples(st.just("mprotect"), OFFSET, LENGTH, st.sampled_from(PROTS)),
    st.tuples(st.just("madvise"), OFFSET, LENGTH, st.sampled_from(ADVICE)),
    st.tuples(st.just("mremap"), OFFSET, LENGTH, LENGTH, OFFSET, st.booleans()),
    st.tuples(st.just("touch"), OFFSET, st.booleans()),
    st.tuples(st.just("touch"), OFFSET, st.booleans()),
    st.tuples(st.just("fork"), st.just(0)),
    st.tuples(st.just("anon"), OFFSET, LENGTH, st.booleans()),
    st.tuples(st.just("anon"), OFFSET, LENGTH, st.booleans()),
    st.tuples(st.just("munmap_top"), OFFSET, LENGTH),
    st.tuples(st.just("touch_top"), OFFSET, st.booleans()),
    st.tuples(st.just("touch_top"), OFFSET, st.booleans()),
)
MAP_PRIVATE_ANONYMOUS = 0x22


def _set(register: str, value: int) -> bytes:
    return _MOV[register] + (value & (2**64 - 1)).to_bytes(8, "little")


def _call(number: int, *args: int) -> bytes:
    code = _set("rax", number)
    for register, value in zip(("rdi", "rsi", "rdx", "r10", "r8", "r9"), args):
        code += _set(register, value)
    return code + _SYSCALL


def program(steps) -> bytes:
    """The steps as machine code, ending in exit(0)."""
    code = b""
    for kind, *a in steps:
        at = WINDOW + a[0] * PAGE
        if kind == "mmap":
            pages, prot, shared = a[1:]
            code += _call(9, at, pages * PAGE, prot,
                          MAP_FIXED_SHARED if shared else MAP_FIXED_PRIVATE, -1, 0)
        elif kind == "munmap":
            code += _call(11, at, a[1] * PAGE)
        elif kind == "anon":                 # mmap(hint or NULL, ...) as malloc makes it
            pages, hinted = a[1:]
            code += _call(9, at if hinted else 0, pages * PAGE, 3, MAP_PRIVATE_ANONYMOUS, -1, 0)
        elif kind == "munmap_top":
            code += _call(11, TOP + a[0] * PAGE, a[1] * PAGE)
        elif kind == "touch_top":
            code += _set("rbx", TOP + a[0] * PAGE + 8) + \
                (_WRITE_BYTE_AT_RBX if a[1] else _READ_BYTE_AT_RBX)
        elif kind == "mprotect":
            code += _call(10, at, a[1] * PAGE, a[2])
        elif kind == "madvise":
            code += _call(28, at, a[1] * PAGE, a[2])
        elif kind == "fork":                 # both go on with the steps after it
            code += _call(57)
        elif kind == "mremap":
            old, new, to, keep = a[1:]
            code += _call(25, at, old * PAGE, new * PAGE,
                          MREMAP_MAYMOVE_FIXED | (MREMAP_DONTUNMAP if keep else 0),
                          WINDOW + to * PAGE)
        else:
            code += _set("rbx", at + 8 * a[0]) + (_WRITE_BYTE_AT_RBX if a[1] else _READ_BYTE_AT_RBX)
    return code + _call(60, 0)


_MACHINES: dict[bool, tuple[Machine, BootState]] = {}


def machine(native: bool) -> tuple[Machine, BootState]:
    if native not in _MACHINES:
        m = Machine(ram_mib=RAM_MIB, native=native)
        if native and not m.mmu.native:
            pytest.skip("the native walker could not be built here")
        _MACHINES[native] = (m, BootState.of(m))
    return _MACHINES[native]


def run(image, native: bool, data_limit: int | None = None):
    """What one walker made of the program."""
    m, boot = machine(native)
    made = m.mmu.anon_maps.made if native else 0
    runner = ProcessRunner(m, image, ["walkers"], data_limit=data_limit)
    try:
        runner.resume(Budget(instructions=100_000, seconds=30))
        space = runner.aspace
        seen = (runner.exit_code, runner.signal, str(runner.fault) if runner.fault else None,
                space.page_faults, space.cow_faults, leaf_entries(space),
                m.frames.frames_in_use, vma_summary(space),
                [(r.number, r.args, r.result) for r in runner.process.syscalls])
    finally:
        result = runner.finish()
    assert_back_at_boot(m, boot)
    _MADE[native] = (m.mmu.anon_maps.made if native else 0) - made
    return seen, [(p.pid, p.page_faults, p.cow_faults, p.outcome.signal, p.outcome.exit_code)
                  for p in result.processes]


_MADE = {True: 0, False: 0}              # calls the last run made in C


@FUZZ
@given(steps=st.lists(STEP, min_size=1, max_size=24),
       data_limit=st.sampled_from([None, None, 6 * PAGE, 12 * PAGE]))
def test_both_walkers_page_a_program_alike(steps, data_limit):
    image = image_of_bytes(program(steps))
    native, python = run(image, True, data_limit), run(image, False, data_limit)
    assert native == python
    (code, signo, *_), processes = native
    record("walkers", ("fault" if signo else f"exit {code}") +
           (", forked" if len(processes) > 1 else "") + (", calls in C" if _MADE[True] else ""))

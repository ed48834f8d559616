"""Shared fixtures. Paths are resolved from this file, never from the cwd."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emu import Machine

ROOT = Path(__file__).resolve().parent.parent
ASM = ROOT / "asm"
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
HANDOUTS = FIXTURES / "handouts"


def _standard_traces() -> Path:
    """The shared CS:APP traces: ../shared/malloclab-traces beside the checkout
    (CI, the main tree) or beside an ancestor (a git worktree under wt/)."""
    for folder in ROOT.parents:
        candidate = folder / "shared" / "malloclab-traces"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "malloclab-traces"


STANDARD_TRACES = _standard_traces()
ALL_STANDARD = ("amptjp-bal", "cccp-bal", "cp-decl-bal", "expr-bal", "coalescing-bal",
                "random-bal", "random2-bal", "binary-bal", "binary2-bal", "realloc-bal",
                "realloc2-bal")
# `make test` replays every built-in allocator on a sample of the standard
# traces (one of each shape: a compiler's mix, random sizes, coalescing,
# realloc: 39,000 ops of 112,000; the heap-map test still draws all eleven);
# `make test-all` (EMU_ALL_TRACES=1) replays all eleven, as `make bench` does.
STANDARD_SET = (ALL_STANDARD if os.environ.get("EMU_ALL_TRACES")
                else ("amptjp-bal", "random-bal", "coalescing-bal", "realloc-bal"))
ALLOCATOR_ROUTINES = ("os_mem_allocate.asm", "os_mem_release.asm", "os_mem_get_free.asm")


def leaf_entries(space) -> list[tuple[int, int, int]]:
    """(vaddr, frame, entry) of every leaf of an address space's user half."""
    return [(m.vaddr, m.paddr, m.entry) for m in space.tables.mappings(space.root)]


def vma_summary(space) -> list[tuple]:
    """Each VMA's range, protection, sharing, name, page offset, VM_* flags
    and which anon_vma it has (numbered in order of first appearance, so
    that sharing shows)."""
    numbers: dict[int, int] = {}
    return [(v.start, v.end, v.prot, v.shared, v.name, v.pgoff, v.flags,
             v.anon and numbers.setdefault(id(v.anon), len(numbers) + 1)) for v in space.vmas]


def boot_with_routines(ram_mib: int = 64) -> Machine:
    machine = Machine(ram_mib=ram_mib)
    for name in ALLOCATOR_ROUTINES:
        machine.load(ASM / name)
    return machine


@pytest.fixture
def machine() -> Machine:
    """A fresh 64 MiB machine with nothing loaded."""
    return Machine(ram_mib=64)


@pytest.fixture
def kernel() -> Machine:
    """A fresh 64 MiB machine with os_mem_allocate/release/get_free loaded."""
    return boot_with_routines()

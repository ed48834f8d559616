"""Seeded random 4-level page tables in a machine's RAM, for the pagewalk lab.

These tables are a puzzle, not an address space: intermediate entries get
random RW, US and NX bits (so permissions must be combined across levels),
some PD entries are 2 MiB pages, some entries are not present but keep junk
address bits (so P must be tested first), and A, D, G, PWT and PCD are noise.
They are built entry by entry with paging.make_pte, in frames from the
kernel's frame allocator (tables, 4 KiB targets) and chunks from the
os_MemoryMap (2 MiB targets), so every entry points inside RAM.

One PML4 slot lies in the upper half, so canonical addresses with bit 47 set
(0xffff8...) are part of every puzzle.

    tables = build_tables(machine, rng)
    tables.root                  the PML4's physical address (CR3)
    tables.leaves                every page mapped: Leaf(vaddr, size, level, entry path)
    tables.absent                slots that stop a walk: (level, partial vaddr)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ....errors import KernelPanic
from ....paging import (ENTRIES, LEVEL_SHIFT, LEVELS, PAGE_2M, PAGE_4K, PTE_A, PTE_D, PTE_G,
                        PTE_NX, PTE_P, PTE_PCD, PTE_PS, PTE_PWT, PTE_RW, PTE_US, make_pte,
                        page_align_down)

UPPER_HALF = 1 << 47
SIGN_EXTENSION = 0xFFFF_0000_0000_0000


@dataclass(frozen=True)
class Leaf:
    """A mapped page: its virtual base, size, leaf level and every entry on the way."""
    vaddr: int
    size: int
    level: str
    entries: tuple[int, ...]          # PML4 entry first, the leaf last

    @property
    def user(self) -> bool:
        return all(e & PTE_US for e in self.entries)

    @property
    def writable(self) -> bool:
        return all(e & PTE_RW for e in self.entries)

    @property
    def executable(self) -> bool:
        return not any(e & PTE_NX for e in self.entries)

    @property
    def upper_levels_take_away(self) -> bool:
        """True when an upper level takes away a right the leaf itself gives."""
        leaf, upper = self.entries[-1], self.entries[:-1]
        return ((leaf & PTE_US and not all(e & PTE_US for e in upper))
                or (leaf & PTE_RW and not all(e & PTE_RW for e in upper))
                or (not leaf & PTE_NX and any(e & PTE_NX for e in upper)))


@dataclass
class Tables:
    root: int
    leaves: list[Leaf] = field(default_factory=list)
    absent: list[tuple[str, int]] = field(default_factory=list)   # (level, vaddr in the hole)
    table_frames: list[int] = field(default_factory=list)


def sign_extend(vaddr: int) -> int:
    """The canonical form of a 48-bit address (bit 47 copied into 63..48)."""
    return vaddr | SIGN_EXTENSION if vaddr & UPPER_HALF else vaddr


def _upper_flags(rng) -> int:
    flags = PTE_P
    flags |= PTE_RW if rng.chance(3, 4) else 0
    flags |= PTE_US if rng.chance(3, 4) else 0
    flags |= PTE_NX if rng.chance(1, 5) else 0
    return flags | _noise(rng)


def _leaf_flags(rng) -> int:
    flags = PTE_P
    flags |= PTE_RW if rng.chance(1, 2) else 0
    flags |= PTE_US if rng.chance(2, 3) else 0
    flags |= PTE_NX if rng.chance(1, 2) else 0
    flags |= PTE_G if rng.chance(1, 8) else 0
    return flags | _noise(rng) | (PTE_D if rng.chance(1, 3) else 0)


def _noise(rng) -> int:
    return ((PTE_A if rng.chance(1, 2) else 0) | (PTE_PWT if rng.chance(1, 10) else 0)
            | (PTE_PCD if rng.chance(1, 10) else 0))


def _junk(rng, ram_size: int) -> int:
    """A not-present entry that still has address bits and flags in it."""
    if rng.chance(1, 2):
        return 0
    frame = page_align_down(rng.below(ram_size))
    return make_pte(frame, (_noise(rng) | PTE_RW | PTE_US)) & ~PTE_P


class _Builder:
    def __init__(self, machine, rng, shape: dict):
        self.machine, self.rng, self.shape = machine, rng, shape
        self.ram = machine.ram

    def frame(self) -> int:
        frame = self.machine.frames.alloc()
        if frame == 0:
            raise KernelPanic("pagewalk tables: the machine ran out of frames")
        return frame

    def chunk(self) -> int:
        chunk = self.machine.memory_map.allocate(1)
        if chunk == 0:
            raise KernelPanic("pagewalk tables: the machine ran out of 2 MiB chunks")
        return chunk

    def build(self) -> Tables:
        tables = Tables(self.frame())
        tables.table_frames.append(tables.root)
        slots = (self.rng.sample(range(1, 256), self.shape["pml4_lower"])
                 + self.rng.sample(range(256, ENTRIES), 1))
        self._fill(tables, tables.root, 0, 0, sorted(slots), ())
        return tables

    def _fill(self, tables: Tables, table: int, depth: int, base: int, slots, path) -> None:
        level = LEVELS[depth]
        shift = LEVEL_SHIFT[level]
        chosen = set(slots)
        for index in range(ENTRIES):
            vaddr = base | (index << shift)
            if index not in chosen:
                self._absent(tables, table, index, level, vaddr)
                continue
            if level == "PT":
                entry = make_pte(self.frame(), _leaf_flags(self.rng))
                tables.leaves.append(Leaf(sign_extend(vaddr), PAGE_4K, level, path + (entry,)))
            elif level == "PD" and self.rng.chance(1, 3):
                entry = make_pte(self.chunk(), _leaf_flags(self.rng) | PTE_PS)
                tables.leaves.append(Leaf(sign_extend(vaddr), PAGE_2M, level, path + (entry,)))
            else:
                child = self.frame()
                tables.table_frames.append(child)
                entry = make_pte(child, _upper_flags(self.rng))
                count = self.shape["pt_leaves" if LEVELS[depth + 1] == "PT" else "fanout"]
                self._fill(tables, child, depth + 1, vaddr,
                           sorted(self.rng.sample(range(ENTRIES), count)), path + (entry,))
            self.ram.write_u64(table + 8 * index, entry)

    def _absent(self, tables: Tables, table: int, index: int, level: str, vaddr: int) -> None:
        """Most absent slots stay 0; a few get junk, and a sample are kept as
        places where a walk stops."""
        if self.rng.below(1000) < self.shape["junk_per_mille"]:
            self.ram.write_u64(table + 8 * index, _junk(self.rng, self.ram.size))
        if self.rng.below(1000) < self.shape["holes_per_mille"]:
            tables.absent.append((level, sign_extend(vaddr)))


DEFAULT_SHAPE = {"pml4_lower": 3, "fanout": 3, "pt_leaves": 6, "junk_per_mille": 60,
                 "holes_per_mille": 16}
QUIZ_SHAPE = {"pml4_lower": 1, "fanout": 2, "pt_leaves": 3, "junk_per_mille": 4,
              "holes_per_mille": 16}


def build_tables(machine, rng, shape: dict | None = None) -> Tables:
    """Random tables in `machine`'s RAM, drawn from `rng` (see the module doc)."""
    return _Builder(machine, rng, shape or DEFAULT_SHAPE).build()

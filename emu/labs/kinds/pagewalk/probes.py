"""What walk() is asked, and what the MMU says the answer is.

A probe is a virtual address, an access kind and a privilege. Its expected
answer comes from the machine's own MMU walk (emu/mmu.py over paging.walk)
and paging.refusal, the code that decides every real guest access, encoded
the way the lab's walk() returns it:

    RAX = physical address                          the access is allowed
    RAX = WALK_FAULT | level << 8 | reason          it is refused

    63  62            16 15     8 7      0
   +---+----------------+--------+--------+
   | 1 |       0        | level  | reason |
   +---+----------------+--------+--------+
    level   0 none (non-canonical), 1 PML4, 2 PDPT, 3 PD, 4 PT: where the
            walk stopped, or the level of the leaf for a permission fault
    reason  1 not present, 2 user access to a supervisor page,
            3 write to read-only, 4 fetch from NX, 5 non-canonical

    RDX (access) = kind | privilege:   kind 0 read, 1 write, 2 fetch;  +4 user

Categories, each a test of its own so that one mistake costs one test:
    4k            allowed accesses to 4 KiB pages (lower half)
    2m            allowed accesses to 2 MiB pages (lower half)
    high-half     allowed accesses to 4 KiB pages at canonical addresses with bit 47 set
    not-present   walks that stop at each level (lower half)
    permissions   refused accesses to 4 KiB pages (lower half), most where an
                  upper level takes away what the leaf grants
    non-canonical addresses whose bits 63..48 do not copy bit 47
"""

from __future__ import annotations

from dataclasses import dataclass

from ....errors import KernelPanic
from ....paging import (LEVEL_SHIFT, LEVELS, NO_EXECUTE, NON_CANONICAL, NOT_PRESENT, PAGE_2M,
                        PAGE_4K, READ_ONLY, SUPERVISOR, page_align_down, refusal)
from .tables import UPPER_HALF, Tables

WALK_FAULT = 1 << 63
KINDS = ("read", "write", "fetch")
ACCESS_USER = 4
REASON_CODES = {NOT_PRESENT: 1, SUPERVISOR: 2, READ_ONLY: 3, NO_EXECUTE: 4, NON_CANONICAL: 5}
REASON_WORDS = {1: "not-present", 2: "supervisor", 3: "read-only", 4: "nx", 5: "non-canonical"}
LEVEL_CODES = {"PML4": 1, "PDPT": 2, "PD": 3, "PT": 4}
LEVEL_NAMES = {0: "none", **{code: name for name, code in LEVEL_CODES.items()}}
CATEGORIES = ("4k", "2m", "high-half", "not-present", "permissions", "non-canonical")


@dataclass(frozen=True)
class Probe:
    vaddr: int
    kind: str            # read, write, fetch
    user: bool

    @property
    def access(self) -> int:
        """The RDX walk() gets."""
        return KINDS.index(self.kind) | (ACCESS_USER if self.user else 0)

    def describe(self) -> str:
        who = "user" if self.user else "supervisor"
        return f"walk(cr3, {self.vaddr:#x}, {self.kind} | {who})"


def fault(level: int, reason: int) -> int:
    return WALK_FAULT | level << 8 | reason


def expected(machine, root: int, probe: Probe) -> int:
    """The MMU's verdict on `probe`, encoded as walk() must return it."""
    result = machine.mmu.walk(probe.vaddr, root=root)
    reason = refusal(result, probe.kind, probe.user)
    if reason is None:
        return result.paddr
    if reason == NON_CANONICAL:
        return fault(0, REASON_CODES[reason])
    level = result.stopped_at if not result.mapped else result.steps[-1].level
    return fault(LEVEL_CODES[level], REASON_CODES[reason])


def decode(value: int) -> str:
    """A walk() result as words: '0x3c01234' or 'fault at PD: not-present'."""
    if not value & WALK_FAULT:
        return f"{value:#x}"
    level, reason = (value >> 8) & 0xFF, value & 0xFF
    if value & ~(WALK_FAULT | 0xFFFF):
        return f"{value:#x} (a fault with stray bits set)"
    return (f"fault at {LEVEL_NAMES.get(level, f'level {level}?')}: "
            f"{REASON_WORDS.get(reason, f'reason {reason}?')}")


# -- drawing probes ---------------------------------------------------------------------------

def _allowed(leaf, rng) -> Probe | None:
    options = [(kind, user) for kind in KINDS for user in (False, True)
               if _permits(leaf, kind, user)]
    if not options:
        return None
    kind, user = rng.choice(options)
    offset = rng.below(leaf.size)
    return Probe(leaf.vaddr + offset, kind, user)


def _permits(leaf, kind: str, user: bool) -> bool:
    if user and not leaf.user:
        return False
    if kind == "write" and not leaf.writable:
        return False
    return not (kind == "fetch" and not leaf.executable)


def _refused(leaf, rng, prefer_upper: bool) -> Probe | None:
    options = [(kind, user) for kind in KINDS for user in (False, True)
               if not _permits(leaf, kind, user)]
    if not options or (prefer_upper and not leaf.upper_levels_take_away):
        return None
    kind, user = rng.choice(options)
    return Probe(leaf.vaddr + rng.below(leaf.size), kind, user)


def draw(tables: Tables, category: str, rng, count: int) -> list[Probe]:
    """`count` probes of one category (fewer only if the tables lack them)."""
    lower = [leaf for leaf in tables.leaves if not leaf.vaddr & UPPER_HALF]
    upper = [leaf for leaf in tables.leaves if leaf.vaddr & UPPER_HALF]
    if category == "4k":
        return _repeat(rng, count, [l for l in lower if l.size == PAGE_4K], _allowed)
    if category == "2m":
        return _repeat(rng, count, [l for l in lower if l.size != PAGE_4K], _allowed)
    if category == "high-half":
        return _repeat(rng, count, [l for l in upper if l.size == PAGE_4K], _allowed)
    if category == "permissions":
        small = [l for l in lower if l.size == PAGE_4K]
        upper_first = _repeat(rng, count * 2 // 3, small,
                              lambda leaf, r: _refused(leaf, r, prefer_upper=True))
        return upper_first + _repeat(rng, count - len(upper_first), small,
                                     lambda leaf, r: _refused(leaf, r, prefer_upper=False))
    if category == "not-present":
        return _absent_probes(tables, rng, count)
    if category == "non-canonical":
        return [_non_canonical(tables, rng) for _ in range(count)]
    raise KernelPanic(f"pagewalk probes: no category '{category}'")


def _repeat(rng, count: int, leaves, make) -> list[Probe]:
    probes, tries = [], 0
    while leaves and len(probes) < count and tries < count * 50:
        probe = make(rng.choice(leaves), rng)
        tries += 1
        if probe is not None:
            probes.append(probe)
    return probes


def _absent_probes(tables: Tables, rng, count: int) -> list[Probe]:
    """Holes at every level, in turn, with random accesses."""
    lower = [(l, v) for l, v in tables.absent if not v & UPPER_HALF]
    by_level = {level: [v for l, v in lower if l == level] for level in LEVELS}
    probes = []
    for i in range(count):
        level = LEVELS[i % len(LEVELS)]
        base = rng.choice(by_level[level] or [v for _, v in lower])
        reach = 1 << LEVEL_SHIFT[level]            # what one entry at that level covers
        probes.append(Probe(page_align_down(base, reach) + rng.below(min(reach, PAGE_2M)),
                            rng.choice(KINDS), rng.chance(1, 2)))
    return probes


def _non_canonical(tables: Tables, rng) -> Probe:
    """An address whose low 48 bits often lead to a mapped page, with the
    sign-extension bits broken."""
    low = rng.choice(tables.leaves).vaddr & (UPPER_HALF * 2 - 1) if rng.chance(2, 3) \
        else rng.below(UPPER_HALF * 2)
    top = rng.below(1 << 16)
    sign = 0xFFFF if low & UPPER_HALF else 0
    if top == sign:
        top ^= 1 << rng.below(16)
    return Probe((top << 48) | low | rng.below(PAGE_4K), rng.choice(KINDS), rng.chance(1, 2))

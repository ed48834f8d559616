"""Part B of the pagewalk lab: walk() against the MMU, one test per category.

Every test builds seeded tables (tables.py) in a fresh machine, draws probes
of its category (probes.py) and calls the student's walk() on each, with
canaries in the other registers and an instruction budget. The first answer
that differs from the MMU's fails the category, with the probe, both answers
in words, the entries on the way, and a repro record.
"""

from __future__ import annotations

from ....paging import PAGE_4K, walk as page_walk
from ...prng import Prng
from ..base import Outcome, full, none
from ..calls import call_routine, canaries
from .prepared import Prepared, walk_machine
from .probes import CATEGORIES, decode, draw, expected
from .tables import build_tables

CALLEE_SAVED = ("rbx", "rbp", "r12", "r13", "r14", "r15")
PUBLIC_PROBES = 40
HIDDEN_PROBES = 50            # per category: 300 in all
HINTS = {
    "4k": "Follow PML4 -> PDPT -> PD -> PT with 9 bits of the address each "
          "(bits 47..39, 38..30, 29..21, 20..12) and add the low 12 bits.",
    "2m": "A PD entry with PS (bit 7) set maps a 2 MiB page: stop there and add the low "
          "21 bits of the address; the entry's bits 20..12 are not part of the address.",
    "high-half": "Addresses with bit 47 set are canonical when bits 63..48 are all 1: "
                 "index bits 47..39 give PML4 slots 256..511.",
    "not-present": "Check P (bit 0) before anything else in an entry: a not-present entry "
                   "may still hold address bits.",
    "permissions": "Rights combine over all four levels: a user access needs US in every "
                   "entry, a write needs RW in every entry, NX in any entry forbids fetches "
                   "(the MMU checks user, then write, then fetch).",
    "non-canonical": "Bits 63..48 must all equal bit 47; otherwise fault at level 0 "
                     "(none) with reason 5 before reading any table.",
}


def table_seed(prepared: Prepared, spec, label: str) -> bytes:
    return prepared.stream(spec, label).bytes(32)


def tables_for(machine, seed: bytes):
    """The tables a test (or its repro) builds from its 32-byte seed."""
    return build_tables(machine, Prng.from_bytes(seed))


def check_category(spec, prepared: Prepared, category: str) -> Outcome:
    """walk() on 40 probes of one category, on the public tables."""
    seed = table_seed(prepared, spec, "walk-tables")
    machine, _ = walk_machine(prepared)
    tables = tables_for(machine, seed)
    rng = prepared.stream(spec, f"walk-{category}")
    probes = draw(tables, category, rng, PUBLIC_PROBES)
    problem = _run_probes(machine, prepared, tables.root, probes, rng, seed, category)
    return problem or full(spec, f"{len(probes)} addresses, every answer right")


def check_hidden(spec, prepared: Prepared) -> Outcome:
    """walk() on 50 probes of every category, on tables from the hidden seed."""
    seed = table_seed(prepared, spec, "hidden-walk-tables")
    machine, _ = walk_machine(prepared)
    tables = tables_for(machine, seed)
    rng = prepared.stream(spec, "hidden-walk")
    for category in CATEGORIES:
        probes = draw(tables, category, rng, HIDDEN_PROBES)
        problem = _run_probes(machine, prepared, tables.root, probes, rng, seed, category)
        if problem:
            return problem
    return full(spec, f"{HIDDEN_PROBES * len(CATEGORIES)} addresses, every answer right")


def _run_probes(machine, prepared, root, probes, rng, seed, category) -> Outcome | None:
    budget = prepared.budgets["walk_call"]
    for probe in probes:
        want = expected(machine, root, probe)
        registers = canaries(rng, {"rdi": root, "rsi": probe.vaddr, "rdx": probe.access})
        result = call_routine(machine, "walk", registers, budget)
        repro = {"part": "walk", "table_seed": seed.hex(), "vaddr": probe.vaddr,
                 "kind": probe.kind, "user": probe.user, "registers": registers}
        if not result.returned or result.problem:
            return none(f"{probe.describe()}: {result.problem}", "", repro)
        got = result.registers["rax"]
        if got != want:
            return none(f"{probe.describe()} with CR3 = {root:#x} returned {decode(got)}; the "
                        f"MMU says {decode(want)}. {HINTS[category]}",
                        walk_picture(machine, root, probe.vaddr), repro)
    return None


def walk_picture(machine, root: int, vaddr: int) -> str:
    """The entries the MMU read for `vaddr`, one line per level."""
    result = page_walk(machine.ram.read_u64, root, vaddr, machine.ram.size)
    lines = [f"the MMU's walk of {vaddr:#x}:"]
    for step in result.steps:
        lines.append(f"  {step.level:4} [{step.index:3}] @{step.entry_addr:#x} = "
                     f"{step.entry:#018x}  {step.flags}")
    if result.mapped:
        lines.append(f"  => physical {result.paddr:#x} ({result.page_size // 1024} KiB page)")
    else:
        lines.append(f"  => stops at {result.stopped_at}: {result.reason}")
    return "\n".join(lines)


def check_contract(spec, prepared: Prepared) -> Outcome:
    """The tables stay as they were; RBX, RBP, R12-R15 and RSP are preserved."""
    seed = table_seed(prepared, spec, "walk-tables")
    machine, _ = walk_machine(prepared)
    tables = tables_for(machine, seed)
    before = _table_bytes(machine, tables)
    rng = prepared.stream(spec, "walk-contract")
    probes = draw(tables, "4k", rng, 20)
    problem = _run_probes(machine, prepared, tables.root, probes, rng, seed, "4k")
    if problem:
        problem.message += " (the contract is credited on calls that work)"
        return problem
    for probe in probes:
        registers = canaries(rng, {"rdi": tables.root, "rsi": probe.vaddr, "rdx": probe.access})
        after = call_routine(machine, "walk", registers, prepared.budgets["walk_call"]).registers
        changed = [f"{r}: {registers[r]:#x} -> {after[r]:#x}" for r in CALLEE_SAVED
                   if after[r] != registers[r]]
        if changed:
            return none(f"{probe.describe()} changed callee-saved registers (System V: "
                        f"save and restore them): {'; '.join(changed)}")
    if _table_bytes(machine, tables) != before:
        changed = [hex(f) for f in tables.table_frames
                   if machine.ram.read(f, PAGE_4K) != before[tables.table_frames.index(f)]]
        return none(f"walk() wrote to the page tables (pages {', '.join(changed[:4])}): a "
                    f"software walk only reads; the MMU, not walk(), sets A and D")
    return full(spec)


def _table_bytes(machine, tables) -> list[bytes]:
    return [machine.ram.read(frame, PAGE_4K) for frame in tables.table_frames]


def category_check(category: str):
    def check(spec, prepared):
        return check_category(spec, prepared, category)
    check.__name__ = f"check_walk_{category.replace('-', '_')}"
    return check



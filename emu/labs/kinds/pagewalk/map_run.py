"""Part C's set-up: the variant's pages, a pool for alloc_table, map_page calls.

A MapRun is one machine with the lab's alloc_table and the student's map_page
loaded, a pool of frames (one 2 MiB chunk, poisoned so a table that was not
zeroed shows) and a root from alloc_table. map() calls map_page with canaries
in the other registers and records what got mapped, for the checks and for
repro records.
"""

from __future__ import annotations

import struct

from kernel import layout
from kernel.frames import POISON

from ....assembler import assemble
from ....machine import Budget
from ....paging import (ENTRIES, LEVEL_SHIFT, LEVELS, PAGE_2M, PAGE_4K, PTE_NX, PTE_P, PTE_PS,
                        PTE_RW, PTE_US, decode_flags, page_align_down, pte_addr)
from ..base import Outcome, none
from ..calls import call_routine, canaries
from .prepared import Prepared, map_machine

MAP_OK, MAP_EXISTS, MAP_NO_MEMORY = 0, 1, 2
RESULT_WORDS = {MAP_OK: "0 (mapped)", MAP_EXISTS: "1 (already mapped)",
                MAP_NO_MEMORY: "2 (out of frames)"}
ROLE_FLAGS = {"code": PTE_US, "data": PTE_RW | PTE_US | PTE_NX, "rodata": PTE_US | PTE_NX,
              "stack": PTE_RW | PTE_US | PTE_NX, "kernel": PTE_RW | PTE_NX}
PROGRAM_BUDGET = Budget(instructions=100_000)
SUM_WORDS = 32
POOL_FRAMES = 512
LOWER_HALF_SLOTS = 256               # PML4 slots 0..255 map the lower half
OTHER_SLOT_DISTANCE = 128            # data lives in PML4 slots 1..127: this one is empty


def address_of(pml4: int, pdpt: int, pd: int, pt: int) -> int:
    """The virtual address of a page from its four table indexes (lower half)."""
    return ((pml4 << LEVEL_SHIFT["PML4"]) | (pdpt << LEVEL_SHIFT["PDPT"])
            | (pd << LEVEL_SHIFT["PD"]) | (pt << LEVEL_SHIFT["PT"]))


def draw_layout(rng) -> dict[str, int]:
    """Virtual addresses of the roles: lower half, spread over PML4 slots; the
    stack shares the data page's page table."""
    def page(pml4_low: int, pml4_high: int) -> int:
        return address_of(rng.between(pml4_low, pml4_high), rng.below(ENTRIES),
                          rng.below(ENTRIES), rng.below(ENTRIES - 1))
    layout_ = {"code": page(0, 0), "data": page(1, 127), "rodata": page(0, 0),
               "kernel": page(128, 255)}
    layout_["stack"] = layout_["data"] + PAGE_4K
    while page_align_down(layout_["rodata"], PAGE_2M) == page_align_down(layout_["code"], PAGE_2M):
        layout_["rodata"] = page(0, 0)
    return layout_


def extra_pages(rng, count: int, taken: set[int]) -> list[tuple[int, int]]:
    """(vaddr, flags) of more pages, some beside the roles' pages."""
    pages = []
    while len(pages) < count:
        near = rng.choice(sorted(taken))
        vaddr = (near + rng.between(-8, 8) * PAGE_4K if rng.chance(1, 2)
                 else address_of(rng.below(LOWER_HALF_SLOTS), rng.below(ENTRIES),
                                 rng.below(ENTRIES), rng.below(ENTRIES)))
        if 0 <= vaddr < address_of(LOWER_HALF_SLOTS, 0, 0, 0) and vaddr not in taken:
            taken.add(vaddr)
            pages.append((vaddr, rng.choice([PTE_US, PTE_RW | PTE_US, PTE_RW | PTE_US | PTE_NX,
                                             PTE_RW | PTE_NX, PTE_US | PTE_NX, 0])))
    return pages


class MapRun:
    """One machine with the pool set up and a root from alloc_table."""

    def __init__(self, prepared: Prepared, pool_frames: int = POOL_FRAMES):
        self.prepared = prepared
        self.machine, self.program = map_machine(prepared)
        self.pool = self.machine.memory_map.allocate(1)
        self.machine.ram.write_data(self.pool, struct.pack("<Q", POISON) * (layout.CHUNK_SIZE // 8))
        self.set_pool(self.pool, pool_frames)
        self.root = self.alloc_table()
        self.mapped: list[tuple[int, int, int]] = []       # (vaddr, paddr, flags)

    def symbol(self, name: str) -> int:
        return self.machine.symbols.get(name)

    def set_pool(self, start: int, frames: int) -> None:
        self.machine.ram.write_u64(self.symbol("alloc_table_next"), start)
        self.machine.ram.write_u64(self.symbol("alloc_table_end"), start + frames * PAGE_4K)

    @property
    def allocated(self) -> int:
        return self.machine.ram.read_u64(self.symbol("alloc_table_count"))

    def alloc_table(self) -> int:
        return self.machine.call("alloc_table", budget=Budget(instructions=10_000))["rax"]

    def map(self, vaddr: int, flags: int, rng, paddr: int | None = None):
        """Call map_page for a new frame (or `paddr`); (CallResult, paddr, registers)."""
        paddr = paddr if paddr is not None else self.machine.frames.alloc()
        registers = canaries(rng, {"rdi": self.root, "rsi": vaddr, "rdx": paddr, "rcx": flags})
        result = call_routine(self.machine, "map_page", registers,
                              self.prepared.budgets["map_call"])
        if result.returned and result.registers["rax"] == MAP_OK:
            self.mapped.append((vaddr, paddr, flags))
        return result, paddr, registers

    def repro(self, test: str, registers: dict | None = None) -> dict:
        return {"part": "map", "test": test, "pages": [list(m) for m in self.mapped],
                "registers": registers}


def describe_map(vaddr: int, paddr: int, flags: int) -> str:
    return f"map_page(cr3, {vaddr:#x}, {paddr:#x}, {decode_flags(flags) if flags else '0'})"


def map_all(run: MapRun, pages, rng) -> Outcome | None:
    """Map every (vaddr, flags); the first call that does not return 0 fails."""
    for vaddr, flags in pages:
        result, paddr, registers = run.map(vaddr, flags, rng)
        call = describe_map(vaddr, paddr, flags)
        if not result.returned or result.problem:
            return none(f"{call}: {result.problem}", "", run.repro("map", registers))
        got = result.registers["rax"]
        if got != MAP_OK:
            return none(f"{call} returned {RESULT_WORDS.get(got, hex(got))}, expected 0: the "
                        f"page was not mapped yet and the pool had frames",
                        "", run.repro("map", registers))
    return None


def role_pages(prepared: Prepared) -> list[tuple[int, int]]:
    return [(vaddr, ROLE_FLAGS[role]) for role, vaddr in prepared.params["layout"].items()]


def tables_in_tree(machine, root: int) -> list[int]:
    """Every table frame reachable from `root` (root included), reading only."""
    found, stack = [root], [(root, 0)]
    while stack:
        table, depth = stack.pop()
        if depth == len(LEVELS) - 1:
            continue
        for index in range(ENTRIES):
            entry = machine.ram.read_u64(table + 8 * index)
            if entry & PTE_P and not (entry & PTE_PS and depth > 0):
                found.append(pte_addr(entry))
                stack.append((pte_addr(entry), depth + 1))
    return found


def tables_needed(vaddrs) -> int:
    """The fewest tables that can map `vaddrs`: the root plus one per distinct
    PML4, PDPT and PD prefix."""
    prefixes = set()
    for vaddr in vaddrs:
        for level in LEVELS[:-1]:            # each PML4, PDPT and PD entry used needs a table
            prefixes.add((level, vaddr >> LEVEL_SHIFT[level]))
    return 1 + len(prefixes)


def user_program(layout_: dict):
    """The user program Part C runs on the student's tables, placed at the code page:
    `start` sums rodata into data; each trap_* label makes one forbidden access."""
    source = f"""
start:
        mov rsp, {layout_['stack'] + PAGE_4K:#x}
        mov rsi, {layout_['rodata']:#x}
        mov rdi, {layout_['data']:#x}
        xor eax, eax
        mov ecx, {SUM_WORDS}
sum:
        add rax, [rsi + rcx * 8 - 8]
        push rax
        pop rdx
        loop sum
        mov [rdi], rax
        mov [rdi + 8], rsp
        jmp done
trap_write:
        mov rax, {layout_['rodata']:#x}
        mov qword [rax], 1
        jmp done
trap_fetch:
        mov rax, {layout_['data']:#x}
        jmp rax
trap_kernel:
        mov rax, {layout_['kernel']:#x}
        mov rax, [rax]
        jmp done
done:
        nop
"""
    return assemble(source, file="<pagewalk user program>", base=layout_["code"])



"""The grader's run of a bomb: the same program, the debugger's own Target.

The answers are read from this run the way a student reads them from theirs:
`pt` (the MMU's walk) for the physical addresses, a breakpoint on
bomb_malloc_return for the n-th allocation, a write watchpoint on the word
for the first store of its final value (the watchpoint stops only when the
value changes, as gdb's does), and the fault with the VMA list for the last
phase. Every one of those is deterministic: the machine, the loader and the
kernel allocate the same frames and addresses for the same program.
"""

from __future__ import annotations

from dataclasses import dataclass

from ....assembler import assemble
from ....debug.target import Target
from ....elf import image_from_program
from ....loader import USER_BASE
from ....machine import Machine
from ....runner import ProcessRunner

RAM_MIB = 1024                    # emu run's and emu debug's default
MAX_STOPS = 10_000


@dataclass
class Answers:
    """What the run shows, and what the usual wrong turns would give (for hints)."""
    key_virtual: int
    key_physical: int
    malloc_results: list[int]            # every bomb_malloc result, in order
    malloc_result: int                   # the n-th
    changes: list[tuple[int, int, int]]  # (store address, iteration, new value) of the word
    first_store: int
    first_iteration: int
    fault_address: int
    vma: tuple[int, int]
    vmas: list[tuple[int, int]]          # every VMA at the fault
    motto_pte: int                       # the PT entry mapping bomb_motto, after the fault
    motto_pd_entry: int


def image_of(source: str):
    return image_from_program(assemble(source, file="bomb.asm", base=USER_BASE,
                                       page_aligned=True))


def start(source: str) -> Target:
    """The bomb loaded as `emu debug bomb.asm` loads it, stopped at its entry."""
    runner = ProcessRunner(Machine(ram_mib=RAM_MIB), image_of(source), ["bomb.asm"])
    return Target(runner)


def replay(bomb) -> Answers:
    """Run the bomb to its fault and read every answer off the run."""
    target = start(bomb.source)
    symbols = target.runner.image.symbols
    mmu, root = target.machine.mmu, target.runner.aspace.root
    key_physical = mmu.translate(symbols["bomb_key"], root=root)
    target.add_breakpoint(symbols["bomb_malloc_return"])
    target.add_watchpoint(symbols["bomb_table"] + 8 * bomb.word, 8, "write")
    results, changes = [], []
    for _ in range(MAX_STOPS):
        stop = target.cont()
        if stop.kind == "breakpoint":
            results.append(target.registers()["rax"])
        elif stop.kind == "watchpoint":
            changes.append((stop.access_address, target.registers()["r12"],
                            int.from_bytes(stop.new, "little")))
        else:
            break
    first = next(c for c in changes if c[2] == bomb.value)
    fault = target.runner.fault
    space = target.runner.aspace
    vma = space.vmas.find(fault.address)
    motto = mmu.walk(symbols["bomb_motto"], root=root)
    answers = Answers(symbols["bomb_key"], key_physical, results,
                      results[bomb.malloc_call - 1], changes, first[0], first[1],
                      fault.address, (vma.start, vma.end), [(v.start, v.end) for v in space.vmas],
                      motto.steps[-1].entry, motto.steps[-2].entry)
    target.runner.finish()
    return answers

"""The grader's run of a bomb: the same program, loaded as `emu debug` loads it.

The answers are read off this run the way a student reads them off theirs,
through the machine's own hooks and walks, with an instruction budget:

    phase 1   the MMU's translation of bomb_key (its .data page is mapped at load)
    phase 2   a breakpoint on bomb_malloc_return records rax at every return
    phase 3   a write watch on the word's physical bytes records each store's
              instruction, r12 and the value it stores; as with `watch`, only
              stores that change the value count
    phase 4   the fault the run ends with, and the VMA holding its address
    secret    the walk of bomb_motto after the fault (the MMU set A on it)

Every one of these is deterministic: the machine, the loader and the kernel
allocate the same frames and addresses for the same program.
"""

from __future__ import annotations

from dataclasses import dataclass

from .... import disasm
from ....assembler import assemble
from ....elf import image_from_program
from ....errors import KernelPanic
from ....loader import USER_BASE
from ....machine import Budget, Machine
from ....runner import ProcessRunner

RAM_MIB = 1024                    # emu run's and emu debug's default
BUDGET = Budget(instructions=5_000_000)


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


class _StoreLog:
    """Stores into one 8-byte word: (instruction, r12, value) of those that change it."""

    def __init__(self, machine):
        self.machine = machine
        self.current = 0
        self.changes: list[tuple[int, int, int]] = []

    def __call__(self, _paddr: int, _size: int) -> None:
        m = self.machine
        rip = m.reg("rip")
        insn = disasm.decode(m.mmu.read_virtual(rip, disasm.MAX_INSN), rip)
        source = insn.op_str.split(",")[-1].strip()        # mov [..], rdx / xchg [..], rdx
        value = m.reg(source)
        if value != self.current:
            self.changes.append((rip, m.reg("r12"), value))
            self.current = value


def replay(bomb) -> Answers:
    """Run the bomb to its fault and read every answer off the run."""
    runner = ProcessRunner(Machine(ram_mib=RAM_MIB), image_of(bomb.source), ["bomb.asm"])
    m, symbols, root = runner.machine, runner.image.symbols, runner.aspace.root
    key_physical = m.mmu.translate(symbols["bomb_key"], root=root)
    results: list[int] = []
    m.add_breakpoint(symbols["bomb_malloc_return"], lambda _a: results.append(m.reg("rax")))
    word = m.mmu.translate(symbols["bomb_table"] + 8 * bomb.word, root=root)
    stores = _StoreLog(m)
    m.add_memory_watch(word, word, "write", stores)
    runner.resume(BUDGET)
    fault = runner.fault
    if fault is None or len(results) < bomb.malloc_call:
        raise KernelPanic(f"bomb replay: the bomb did not run as generated ({runner.message})")
    space = runner.aspace
    vma = space.vmas.find(fault.address)
    motto = m.mmu.walk(symbols["bomb_motto"], root=root)
    first = next(c for c in stores.changes if c[2] == bomb.value)
    answers = Answers(symbols["bomb_key"], key_physical, results,
                      results[bomb.malloc_call - 1], stores.changes, first[0], first[1],
                      fault.address, (vma.start, vma.end), [(v.start, v.end) for v in space.vmas],
                      motto.steps[-1].entry, motto.steps[-2].entry)
    runner.finish()
    return answers

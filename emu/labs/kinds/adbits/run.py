"""Running one adbits scenario: the lab's test program on the student's system calls.

    region = Region(base=0x83fe00000 - 40 * 4096, low=40)
    run = run_script(prepared, script)          # -> ScriptRun
    run.calls[2].bitmap, run.calls[2].still_set, run.outcome.status

The program (examples/labs/adbits/tests/adbits_test.c, the lab's copy, never
the student's) runs with MODE "huge": before it starts, the grader maps one
2 MiB page (a PD entry with PS, user, writable, NX) at the region's top, on a
2 MiB chunk taken from the os_MemoryMap and given back after the run. No VMA
covers it: the program only touches it, and the kernel's exit leaves a PD
entry with PS alone (its tables are freed, never the page).

    BASE                           BASE + LOW * 4096 (2 MiB aligned)
    | LOW pages of 4 KiB (mmap)    | one 2 MiB page (the grader's)          |

At every call the program stops in adbits_check(index, number, result, map,
bytes): the grader reads the result, the whole bitmap buffer (guard bytes
included) and, walking the tables itself, which pages of the call's range
still have the call's bit set afterwards (a kernel that reports without
clearing shows there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ....errors import KernelPanic
from ....paging import PAGE_2M, PAGE_4K, PTE_A, PTE_D, PTE_NX, PTE_RW, PTE_US
from ..kernel_runs import KernelRun, RunBudgets, RunOutcome, StagedKernel
from .scripts import HUGE_PAGES, PGACCESS, PGDIRTY, Script

PROGRAM = "adbits_test.c"
SYSCALLS = {451: "sys_pgaccess", 452: "sys_pgdirty"}
KIND_OF_NUMBER = {451: PGACCESS, 452: PGDIRTY}
BIT_OF_KIND = {PGACCESS: PTE_A, PGDIRTY: PTE_D}
HUGE_FLAGS = PTE_US | PTE_RW | PTE_NX
BITMAP_BYTES = 64                 # the program's bitmap buffer (512 pages)...
GUARD_BYTES = 16                  # ...and the guard bytes after it
POISON = 0x5A                     # what every byte holds before a call
SYSCALL_INSN = b"\x0f\x05"         # syscall


@dataclass(frozen=True)
class Region:
    """Where the program works: `low` 4 KiB pages from `base`, then the 2 MiB page."""
    base: int
    low: int

    @property
    def huge(self) -> int:
        return self.base + self.low * PAGE_4K

    def address(self, page: int) -> int:
        return self.base + page * PAGE_4K

    def argv(self, script: Script) -> list[str]:
        return ["adbits_test", "huge", f"{self.base:x}", str(self.low), *script.ops]


def map_huge_page(runner, region: Region):
    """Map the region's 2 MiB page (zeroed) in the first process; returns the
    function that gives its chunk back. KernelPanic when RAM has no chunk."""
    machine = runner.machine
    paddr = machine.memory_map.allocate(1)
    if paddr == 0:
        raise KernelPanic("adbits: no free 2 MiB chunk for the 2 MiB page")
    machine.ram.fill(paddr, PAGE_2M)
    if not machine.page_tables.map(runner.aspace.root, region.huge, paddr, PAGE_2M, HUGE_FLAGS,
                                   page_size=PAGE_2M):
        raise KernelPanic("adbits: no frame for the 2 MiB page's tables")
    return lambda: machine.memory_map.release(paddr, 1)


@dataclass
class SeenCall:
    """One call as the program saw it, and the tables around it."""
    index: int
    kind: str
    result: int
    buffer: bytes                 # BITMAP_BYTES + GUARD_BYTES bytes
    set_before: frozenset = frozenset()  # pages of its range whose bit was set as it began
    still_set: frozenset = frozenset()   # ... and whose bit is still set after it


@dataclass
class ScriptRun:
    outcome: RunOutcome
    calls: list[SeenCall] = field(default_factory=list)


def run_script(prepared, script: Script) -> ScriptRun:
    """Run `script` on the student's calls to the program's end."""
    region = prepared.region
    run = KernelRun(prepared.image, region.argv(script), prepared.kernel, prepared.budgets,
                    syscalls=SYSCALLS)
    run.cleanups.append(map_huge_page(run.runner, region))
    seen: list[SeenCall] = []
    before: list[frozenset] = []          # the MMU's bits as each call began, in order

    def at_syscall() -> None:
        """The kernel is entered: if by one of the lab's calls, note the bits."""
        machine, process = run.machine, run.runner.current
        if machine.reg("rax") in SYSCALLS and \
                process.read(machine.reg("rip"), len(SYSCALL_INSN)) == SYSCALL_INSN:
            call = script.calls[len(before)] if len(before) < len(script.calls) else None
            before.append(_bits_set(machine, process.aspace.root, region, call))

    def at_check(process) -> None:
        machine = run.machine
        index, number, result = (machine.reg(r) for r in ("rdi", "rsi", "rdx"))
        buffer = process.read(run.symbols["bitmap"], BITMAP_BYTES + GUARD_BYTES) or b""
        call = script.calls[index] if index < len(script.calls) else None
        seen.append(SeenCall(index, KIND_OF_NUMBER[number], _signed(result), buffer,
                             before[index] if index < len(before) else frozenset(),
                             _bits_set(machine, process.aspace.root, region, call)))
    run.runner.kernel_entry_observers.append(at_syscall)
    run.at("adbits_check", at_check)
    return ScriptRun(run.finish(), seen)


def _bits_set(machine, root: int, region: Region, call) -> frozenset:
    """The pages of `call`'s range whose leaf entry has the call's bit set
    (none for an invalid call, or no call)."""
    if call is None or call.offset:
        return frozenset()
    bit, pages = BIT_OF_KIND[call.kind], set()
    start = region.address(call.start) + call.offset
    size = max(1, min(call.pages, HUGE_PAGES)) * PAGE_4K
    for _slot, mapping in machine.page_tables.leaves(root, start, size, split=False):
        if mapping.entry & bit:
            first = max(mapping.vaddr, start)
            last = min(mapping.vaddr + mapping.size, start + size)
            pages.update((va - region.base) // PAGE_4K for va in range(first, last, PAGE_4K))
    return frozenset(pages)


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass
class Prepared:
    """What every adbits test needs: the variant, the built program, the staged kernel."""
    params: dict
    variant: object
    region: Region
    image: object
    kernel: StagedKernel
    budgets: RunBudgets
    program: Path

"""Grading a heap checker: damage the heap where the allocator says its
metadata is, and see whether mm_checkheap notices.

    result = run_corruption(lab, trace, "unlink", from_op=120, rng=Prng...)
    result.verdict     caught | missed | false-alarm | crashed | not-injected |
                       layout-mismatch | broken
    result.message     one paragraph for the student

The allocator declares its block format in mm.layout.toml (layout.py). The
driver replays the trace with LAB_CORRUPT (driver.c): from op `from_op` on,
after each op it calls mm_checkheap on the clean heap (which must pass), then
lab_corrupt(), where a breakpoint of ours walks the heap with the declared
layout and, if the heap holds a block the damage needs, damages it and makes
lab_corrupt return 1; the driver then calls mm_checkheap once more and ends
the run with the verdict. Nothing runs on the damaged heap but the checker.

The damages (each only where the declaration says the data is):

    allocated-bit    a free block's header claims it is allocated; its footer,
                     or its place on a free list, still says free
    size             a free block's header size grows by 32; its footer does not
    footer           a free block's footer size grows by 32; its header does not
    unlink           a free block is cut out of its list (its predecessor's next
                     skips it, its successor's prev too): a free block on no list
    adjacent-free    an allocated block next to a free one is made free (tags, and
                     on a list, after the free block nearest it in size, as its
                     own class's list would hold it): two free blocks side by side
    outside-pointer  a free block's next pointer points past the end of the heap
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnmappedAccess
from ..heap import ALLOCATED, CORRUPT, FREE, Memory, heap_bounds
from .image import (BLOCK_BYTES, CALLS, HEADER, STATUS_CAUGHT, STATUS_FALSE_ALARM,
                    STATUS_MISSED, STATUS_OK, Settings, unpack_results)
from .lab import BUDGET, LAB_BASE
from .layout import HeapLayout, declared_walker
from .traces import Trace

KINDS = ("allocated-bit", "size", "footer", "unlink", "adjacent-free", "outside-pointer")
SIZE_BUMP = 32                       # what a damaged size grows by: still a multiple of 16
OUTSIDE_GAP = 0x10000                # how far past the break a damaged pointer points
END_SLACK = 64                       # bytes an allocator may keep after its last block
CALL_CHECKHEAP = next(code for code, name in CALLS.items() if name == "mm_checkheap")


def applicable_kinds(layout: HeapLayout) -> list[str]:
    """The damages the declaration lets us place: footers for the tag ones,
    free lists for the list ones; two adjacent free blocks always."""
    footers = layout.footers != "none"
    usable = {"allocated-bit": footers or layout.has_lists, "size": footers,
              "footer": footers, "unlink": layout.has_lists, "adjacent-free": True,
              "outside-pointer": layout.has_lists}
    return [kind for kind in KINDS if usable[kind]]


@dataclass
class CorruptionResult:
    kind: str
    verdict: str
    op: int | None = None
    damage: str = ""                 # what was done, in words
    message: str = ""

    @property
    def caught(self) -> bool:
        return self.verdict == "caught"


class HeapView:
    """The heap at one moment, walked with the declared layout, and the words
    a damage writes (read and write through the process)."""

    def __init__(self, process, layout: HeapLayout, symbols, brk, live: set[int]):
        self.process, self.layout = process, layout
        memory = Memory(self._read)
        self.lo, self.hi = heap_bounds(memory, symbols, *brk)
        self.blocks = list(declared_walker(layout)(memory, symbols, self.lo, self.hi))
        self.free = [b for b in self.blocks if b.state == FREE]
        self.allocated = [b for b in self.blocks if b.state == ALLOCATED and b.payload in live]
        self.by_payload = {b.payload: b for b in self.blocks}
        self.problem = next((b.note for b in self.blocks if b.state == CORRUPT), "") \
            or self._short_walk() or self._footers_as_declared()

    def _short_walk(self) -> str:
        """Why the walk is not the whole heap, or "": it must reach the epilogue
        within END_SLACK bytes of the heap's end (a wrong first_header reads a
        size of 0 early, which would look like an empty heap)."""
        end = self.blocks[-1].address + self.blocks[-1].size if self.blocks else \
            self.lo + self.layout.first_header
        if end + self.layout.header_bytes + END_SLACK >= self.hi:
            return ""
        return (f"the walk from mem_heap_lo + {self.layout.first_header} stops at {end:#x} "
                f"(a size of 0), {self.hi - end} bytes before the heap's end at {self.hi:#x}")

    def _read(self, address: int, length: int) -> bytes:
        data = self.process.read(address, length)
        if data is None:
            raise UnmappedAccess(address)
        return data

    def _footers_as_declared(self) -> str:
        """Why the free blocks' last words contradict `footers`, or "": declared
        footers must copy the header's size and allocated bit; undeclared ones
        must not all do so (a layout that hides its footers would be spared the
        tag damages)."""
        width = self.layout.header_bytes
        kept = self.layout.size_mask | self.layout.allocated_bit    # other bits (CMU's
        copies = [(self.word(self.layout.footer_of(b.address, b.size), width) ^ self.header(b))
                  & kept == 0 for b in self.free]                  # prev-alloc) may differ
        if self.layout.footers != "none" and not all(copies):
            block = self.free[copies.index(False)]
            return (f"footers = \"{self.layout.footers}\", but the free block at "
                    f"{block.address:#x} does not end with a copy of its header")
        if self.layout.footers == "none" and len(copies) >= 2 and all(copies):
            return "every free block ends with a copy of its header: declare your footers"
        return ""

    def word(self, address: int, width: int = 8) -> int:
        return int.from_bytes(self._read(address, width), "little")

    def put(self, address: int, value: int, width: int = 8) -> None:
        self.process.write(address, (value & ((1 << 8 * width) - 1)).to_bytes(width, "little"))

    def header(self, block) -> int:
        return self.word(block.address, self.layout.header_bytes)

    def put_header(self, block, value: int) -> None:
        self.put(block.address, value, self.layout.header_bytes)

    def next_of(self, block) -> int:
        return self.word(block.payload + self.layout.next_offset)

    def set_next(self, block, value: int) -> None:
        self.put(block.payload + self.layout.next_offset, value)

    def set_prev(self, block, value: int) -> None:
        if self.layout.prev_offset is not None:
            self.put(block.payload + self.layout.prev_offset, value)


def inject(kind: str, view: HeapView, rng) -> str | None:
    """Damage the heap in `view` as `kind` says, on a block `rng` picks;
    the damage in words, or None when the heap has no block it needs."""
    return DAMAGES[kind](view, rng)


def _allocated_bit(view: HeapView, rng) -> str | None:
    if not view.free:
        return None
    block = rng.choice(view.free)
    old = view.header(block)
    view.put_header(block, old | view.layout.allocated_bit)
    return (f"set the allocated bit in the header of the free block at {block.address:#x} "
            f"(header {old:#x} -> {old | view.layout.allocated_bit:#x})")


def _size(view: HeapView, rng) -> str | None:
    if not view.free:
        return None
    block = rng.choice(view.free)
    old = view.header(block)
    view.put_header(block, old + SIZE_BUMP)
    return (f"grew the size in the header of the free block at {block.address:#x} by "
            f"{SIZE_BUMP} (header {old:#x} -> {old + SIZE_BUMP:#x}); its footer was left")


def _footer(view: HeapView, rng) -> str | None:
    if not view.free:
        return None
    block = rng.choice(view.free)
    width = view.layout.header_bytes
    address = view.layout.footer_of(block.address, block.size)
    old = view.word(address, width)
    view.put(address, old + SIZE_BUMP, width)
    return (f"grew the size in the footer of the free block at {block.address:#x} by "
            f"{SIZE_BUMP} (footer at {address:#x}: {old:#x} -> {old + SIZE_BUMP:#x})")


def _unlink(view: HeapView, rng) -> str | None:
    predecessor = {}
    for block in view.free:
        following = view.by_payload.get(view.next_of(block))
        if following is not None and following.state == FREE:
            predecessor[following.payload] = block
    candidates = [b for b in view.free if b.payload in predecessor]
    if not candidates:
        return None
    block = rng.choice(candidates)
    before = predecessor[block.payload]
    after = view.next_of(block)
    view.set_next(before, after)
    if after in view.by_payload:
        view.set_prev(view.by_payload[after], before.payload)
    return (f"cut the free block at {block.address:#x} out of its list: the free block at "
            f"{before.address:#x} now points past it; its tags still say free")


def _adjacent_free(view: HeapView, rng) -> str | None:
    index = {b.address: i for i, b in enumerate(view.blocks)}
    pairs = []
    for block in view.allocated:
        i = index[block.address]
        for j in (i - 1, i + 1):
            if 0 <= j < len(view.blocks) and view.blocks[j].state == FREE:
                pairs.append((block, view.blocks[j]))
                break
    if not pairs:
        return None
    block, neighbour = rng.choice(pairs)
    tag = view.header(block) & ~view.layout.allocated_bit
    view.put_header(block, tag)
    if view.layout.footers != "none":
        view.put(view.layout.footer_of(block.address, block.size), tag, view.layout.header_bytes)
    if view.layout.has_lists:
        host = _closest_in_size(view.free, block.size)      # likely its own size class's list
        after = view.next_of(host)
        view.set_next(block, after)
        view.set_prev(block, host.payload)
        view.set_next(host, block.payload)
        if after in view.by_payload:
            view.set_prev(view.by_payload[after], block.payload)
    listed = (" and linked it after the free block closest to it in size"
              if view.layout.has_lists else "")
    return (f"made the allocated block at {block.address:#x} free (tags{listed}): it lies "
            f"next to the free block at {neighbour.address:#x}, uncoalesced")


def _closest_in_size(blocks, size: int):
    """The block whose size is nearest `size` (the lowest address on a tie):
    a segregated list's class for `size`, as far as the grader can tell."""
    return min(blocks, key=lambda b: (abs(b.size - size), b.address))


def _outside_pointer(view: HeapView, rng) -> str | None:
    if not view.free:
        return None
    block = rng.choice(view.free)
    outside = (view.hi + OUTSIDE_GAP) & ~0xF
    view.set_next(block, outside)
    return (f"pointed the next pointer of the free block at {block.address:#x} to "
            f"{outside:#x}, outside the heap [{view.lo:#x}, {view.hi:#x})")


DAMAGES = {"allocated-bit": _allocated_bit, "size": _size, "footer": _footer,
           "unlink": _unlink, "adjacent-free": _adjacent_free,
           "outside-pointer": _outside_pointer}


# -- one run ---------------------------------------------------------------------------

def run_corruption(lab, trace: Trace, kind: str, from_op: int, rng, *, align: int = 16,
                   budget=None) -> CorruptionResult:
    """Replay `trace` with `lab` (an emu.malloclab.lab.Lab whose program has a
    declared layout) and test its mm_checkheap against damage `kind` at the
    first op from `from_op` on where the heap allows it."""
    layout = lab.program.layout
    runner = lab.start(trace, Settings(align=align, corrupt_from=from_op))
    machine, process = runner.machine, runner.process
    done = {}

    def corrupt(_address):
        if done:
            return
        view = HeapView(process, layout, lab.image.symbols,
                        (runner.aspace.brk_start, runner.aspace.brk), _live(process, trace))
        if view.problem:
            done["mismatch"] = view.problem
            done["op"] = machine.reg("rdi")
            return
        damage = inject(kind, view, rng)
        if damage is None:
            return
        done.update(damage=damage, op=machine.reg("rdi"))
        machine.set_reg("rax", 1)
        rsp = machine.reg("rsp")
        machine.set_reg("rip", process.read_u64(rsp))
        machine.set_reg("rsp", rsp + 8)
    machine.add_breakpoint(lab.image.symbols["lab_corrupt"], corrupt)
    try:
        while runner.alive:
            runner.resume(budget or BUDGET)
        results = unpack_results(lambda a, n: machine.mmu.read_virtual(a, n,
                                                                       root=runner.aspace.root),
                                 LAB_BASE, trace)
    finally:
        outcome = runner.finish()
    return _verdict(kind, trace, results, outcome, done)


def _live(process, trace: Trace) -> set[int]:
    """The payloads the driver holds now (struct block per id in the image)."""
    header = HEADER.unpack(process.read(LAB_BASE, HEADER.size))
    data = process.read(LAB_BASE + header[6], BLOCK_BYTES * trace.num_ids) or b""
    return {int.from_bytes(data[i:i + 8], "little") for i in range(0, len(data), BLOCK_BYTES)} - {0}


def _verdict(kind: str, trace: Trace, results, outcome, done: dict) -> CorruptionResult:
    op = done.get("op")
    where = f"op {op} ({trace.ops[op].text()})" if op is not None else ""
    if "mismatch" in done:
        return CorruptionResult(kind, "layout-mismatch", op, message=(
            f"at {where} the heap does not match your mm.layout.toml: {done['mismatch']}. "
            f"Fix the declaration (the README's \"Declaring your block layout\") so the "
            f"grader can find your metadata."))
    if results.status == STATUS_FALSE_ALARM:
        op = results.failed_op
        return CorruptionResult(kind, "false-alarm", op, message=(
            f"{results.message} after op {op} ({trace.ops[op].text()}), before any damage: "
            f"a checker must pass every correct heap."))
    damage = done.get("damage", "")
    if results.status == STATUS_CAUGHT:
        return CorruptionResult(kind, "caught", op, damage, f"caught: {damage}")
    if results.status == STATUS_MISSED:
        return CorruptionResult(kind, "missed", op, damage, (
            f"mm_checkheap said the heap was fine after the grader {damage} (after {where})."))
    if damage and results.call == CALL_CHECKHEAP:
        if outcome.fault is not None:
            return CorruptionResult(kind, "crashed", op, damage, (
                f"mm_checkheap crashed after the grader {damage} (after {where}): "
                f"{str(outcome.fault).splitlines()[0]}. Check a pointer lies in the heap "
                f"before following it."))
        return CorruptionResult(kind, "caught", op, damage,
                                f"caught (mm_checkheap exited): {damage}")
    if results.status == STATUS_OK:
        return CorruptionResult(kind, "not-injected", None, message=(
            f"the heap never held a block this damage needs ({kind}); not counted against you"))
    why = results.message or (outcome.message or "the allocator crashed").splitlines()[0]
    return CorruptionResult(kind, "broken", op, message=f"the trace failed before the damage: {why}")

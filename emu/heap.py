"""Walking a process's heap: blocks in address order, allocated / free / overhead.

One implementation behind the debugger's `heap` command and the malloc lab's
heap maps. The project's allocators are recognised by the string their
`mm_name` symbol points to, and each has a walker that knows its block format
(drawn in the allocator's own essay). Any other heap gets the plain view: the
break region and how much of it is resident.

A walker never trusts the heap: sizes are checked against alignment and
bounds, and the first block that makes no sense ends the walk with a
"corrupt" block saying why. That is usually what the student is looking for.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import UnmappedAccess

ALLOCATED, FREE, OVERHEAD, CORRUPT = "allocated", "free", "overhead", "corrupt"
MAX_BLOCKS = 200_000


@dataclass(frozen=True)
class Block:
    address: int          # first byte of the block (its header)
    size: int             # whole block, overhead included
    state: str            # allocated | free | overhead | corrupt
    payload: int = 0      # first payload byte (0 for overhead)
    payload_size: int = 0 # bytes usable by the program
    note: str = ""


@dataclass
class HeapWalk:
    allocator: str        # mm_name, or "" for the plain view
    start: int
    end: int
    blocks: list[Block]
    message: str = ""

    def totals(self) -> dict[str, int]:
        out = {ALLOCATED: 0, FREE: 0, OVERHEAD: 0, CORRUPT: 0}
        for b in self.blocks:
            out[b.state] += b.size
        return out


class Memory:
    """Reads process memory for a walker (UnmappedAccess when unmapped)."""

    def __init__(self, read):
        self.read = read

    def u64(self, address: int) -> int:
        return int.from_bytes(self.read(address, 8), "little")

    def cstring(self, address: int, limit: int = 64) -> str:
        data = bytearray()
        while len(data) < limit:
            byte = self.read(address + len(data), 1)
            if byte == b"\0":
                break
            data += byte
        return data.decode("latin-1")


def page_cached(read, page: int = 4096):
    """A read(vaddr, n) that fetches each page once through `read` and serves
    every later read of it from memory: one heap walk reads a header and a
    footer per block, and a page holds many. Only for a heap that does not
    change while it is read."""
    pages: dict[int, bytes] = {}

    def cached(address: int, length: int) -> bytes:
        out = bytearray()
        while length > 0:
            base, offset = address - address % page, address % page
            if base not in pages:
                pages[base] = read(base, page)
            take = min(length, page - offset)
            out += pages[base][offset:offset + take]
            address, length = address + take, length - take
        return bytes(out)
    return cached


def heap_bounds(memory: Memory, symbols: dict[str, int], brk_start: int, brk: int):
    """The heap memlib manages (its heap_lo/heap_brk), else the break region."""
    try:
        if "heap_lo" in symbols and "heap_brk" in symbols:
            lo, hi = memory.u64(symbols["heap_lo"]), memory.u64(symbols["heap_brk"])
            if lo and lo <= hi:
                return lo, hi
    except UnmappedAccess:
        pass
    return brk_start, brk


def walk_heap(read, symbols: dict[str, int], brk_start: int, brk: int,
              walker=None) -> HeapWalk:
    """The heap of a process: `read(vaddr, n)` reads its memory. `walker`
    (a function like walk_bump) overrides the one mm_name chooses: the malloc
    lab passes one made from a student's layout declaration."""
    memory = Memory(read)
    start, end = heap_bounds(memory, symbols, brk_start, brk)
    name = ""
    if "mm_name" in symbols:
        try:
            name = memory.cstring(symbols["mm_name"])
        except UnmappedAccess:
            name = ""
    if walker is not None:
        name = name or "declared layout"
    walker = walker or WALKERS.get(name)
    if walker is None:
        return HeapWalk(name, start, end, [], "no walker for this allocator: plain view")
    blocks, message = [], ""
    try:
        for block in walker(memory, symbols, start, end):
            blocks.append(block)
            if block.state == CORRUPT:
                message = block.note
                break
            if len(blocks) >= MAX_BLOCKS:
                message = f"stopped after {MAX_BLOCKS} blocks"
                break
    except UnmappedAccess as exc:
        message = f"heap memory is not mapped at {exc.vaddr:#x}"
    if blocks and not start < end:          # a heap made of mappings (buddy)
        start = min(b.address for b in blocks)
        end = max(b.address + b.size for b in blocks)
    return HeapWalk(name, start, end, blocks, message)


def _corrupt(address: int, why: str) -> Block:
    return Block(address, 0, CORRUPT, note=f"corrupt block at {address:#x}: {why}")


# -- bump: [8-byte payload size][payload], padded to 16; first header at lo+8 -----------

def walk_bump(memory: Memory, symbols, start: int, end: int):
    if end - start >= 8:
        yield Block(start, 8, OVERHEAD, note="alignment padding")
    address = start + 8
    while address < end:
        size = memory.u64(address)
        total = (size + 8 + 15) & ~15
        if size == 0 or address + total > end:
            yield _corrupt(address, f"payload size {size} runs past the break")
            return
        yield Block(address, total, ALLOCATED, address + 8, size)
        address += total


# -- firstfit (C and asm): 16-byte header {block size, available flag} ------------------

def walk_firstfit(memory: Memory, symbols, start: int, end: int):
    address = (start + 15) & ~15
    if address > start:
        yield Block(start, address - start, OVERHEAD, note="alignment padding")
    while address < end:
        size, available = memory.u64(address), memory.u64(address + 8)
        if size < 32 or size % 16 or address + size > end or available > 1:
            yield _corrupt(address, f"size {size:#x}, available flag {available}")
            return
        state = FREE if available else ALLOCATED
        yield Block(address, size, state, address + 16, size - 16)
        address += size


# -- implicit / explicit / segregated: boundary tags (8-byte header and footer) ---------

def walk_boundary_tags(memory: Memory, symbols, start: int, end: int):
    """CS:APP layout: pad word, prologue (16, allocated), blocks, epilogue (0, allocated)."""
    if end - start < 32:
        return
    yield Block(start, 24, OVERHEAD, note="padding word and prologue")
    address = start + 24
    while address < end:
        header = memory.u64(address)
        size, allocated = header & ~0xF, header & 1
        if size == 0:
            yield Block(address, 8, OVERHEAD, note="epilogue")
            return
        if size < 32 or address + size > end:
            yield _corrupt(address, f"header {header:#x} gives size {size}")
            return
        footer = memory.u64(address + size - 8)
        if footer != header:
            yield _corrupt(address, f"header {header:#x} but footer {footer:#x}")
            return
        state = ALLOCATED if allocated else FREE
        yield Block(address, size, state, address + 8, size - 16)
        address += size
    yield _corrupt(end, "no epilogue before the break")


# -- buddy: mappings in an AVL tree (examples/allocators/buddy.c, region_tree.h) ---------
#
# Every mapping starts with `struct region` {start, length, mapped, left, right,
# height, kind} (48 bytes); `tree_root` points at the root. A pool (kind TINY
# or SMALL) is `struct pool`: the region, then directory links, counts and
# bitmaps, then unit_info[] at byte 864: one byte per unit saying what starts
# there (0x80 | order: a used block; order: a free one; 0xff: inside a block).

REGION = struct.Struct("<QQQQQiI")
BUDDY_KINDS = {0: (4, 11), 1: (9, 10)}        # kind -> (log2 unit bytes, top order)
UNIT_INFO_OFFSET = 864
BUDDY_METADATA = 4096
BUDDY_LARGE_HEADER = 48


def _regions(memory: Memory, node: int, depth: int = 0):
    """The tree's nodes in address order (bounded: a cycle is corruption)."""
    if node == 0 or depth > 64:
        return
    start, length, mapped, left, right, _height, kind = REGION.unpack(memory.read(node, REGION.size))
    yield from _regions(memory, left, depth + 1)
    yield node, start, length, mapped, kind
    yield from _regions(memory, right, depth + 1)


def walk_buddy(memory: Memory, symbols, start: int, end: int):
    root_at = symbols.get("tree_root")
    if root_at is None:
        return
    for node, first, length, mapped, kind in _regions(memory, memory.u64(root_at)):
        if kind not in BUDDY_KINDS:
            yield Block(node, BUDDY_LARGE_HEADER, OVERHEAD, note="LARGE mapping header")
            yield Block(first, length, ALLOCATED, first, length, note="LARGE")
            slack = node + mapped - (first + length)
            if slack > 0:
                yield Block(first + length, slack, OVERHEAD, note="page rounding")
            continue
        yield Block(node, BUDDY_METADATA, OVERHEAD, note="pool metadata page")
        shift, top = BUDDY_KINDS[kind]
        units = 1 << top
        info = memory.read(node + UNIT_INFO_OFFSET, units)
        u = 0
        while u < units:
            order = info[u] & 0x7F
            if info[u] == 0xFF or order > top or u + (1 << order) > units:
                yield _corrupt(first + (u << shift), f"unit_info {info[u]:#x} at unit {u}")
                return
            size = (1 << order) << shift
            state = ALLOCATED if info[u] & 0x80 else FREE
            yield Block(first + (u << shift), size, state, first + (u << shift), size)
            u += 1 << order


WALKERS = {
    "buddy": walk_buddy,
    "bump": walk_bump,
    "firstfit": walk_firstfit,
    "implicit": walk_boundary_tags,
    "explicit": walk_boundary_tags,
    "segregated": walk_boundary_tags,
}


def payload_view(start: int, end: int, payloads) -> list[Block]:
    """The heap [start, end) as any allocator's driver sees it: each live payload
    (address, size) as an allocated block, and the rest (headers, padding, free
    space: what it is, only the allocator knows) as overhead, in address order.
    Payloads outside [start, end) (in the allocator's mappings) are left out."""
    blocks, cursor = [], start
    for address, size in sorted(payloads):
        if address < start or address + size > end or size == 0:
            continue
        if address > cursor:
            blocks.append(Block(cursor, address - cursor, OVERHEAD, note="not payload"))
        blocks.append(Block(address, size, ALLOCATED, address, size))
        cursor = max(cursor, address + size)
    if cursor < end:
        blocks.append(Block(cursor, end - cursor, OVERHEAD, note="not payload"))
    return blocks


def heap_lines(walk: HeapWalk, resident_pages: int | None = None, limit: int = 60) -> list[str]:
    """The walk for a person: a summary, then one line per block."""
    size = walk.end - walk.start
    name = walk.allocator or "unknown allocator"
    lines = [f"heap {walk.start:#x}-{walk.end:#x} ({size} bytes), {name}"
             + (f", {resident_pages} pages resident" if resident_pages is not None else "")]
    if not walk.blocks:
        if walk.message:
            lines.append(f"  {walk.message}")
        return lines
    totals = walk.totals()
    lines.append(f"  {len(walk.blocks)} blocks: allocated {totals[ALLOCATED]} B, "
                 f"free {totals[FREE]} B, overhead {totals[OVERHEAD]} B")
    for block in walk.blocks[:limit]:
        if block.state in (ALLOCATED, FREE):
            detail = f"payload {block.payload_size:>7} at {block.payload:#x}"
        else:
            detail = block.note
        lines.append(f"  {block.address:#014x} {block.size:>8}  {block.state:<9}  {detail}")
    if len(walk.blocks) > limit:
        lines.append(f"  ... {len(walk.blocks) - limit} more blocks")
    if walk.message:
        lines.append(f"  {walk.message}")
    return lines

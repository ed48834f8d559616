"""Watchpoints: virtual ranges watched through the physical frames behind them.

Memory hooks see physical addresses, so a watchpoint hooks the frames behind
its pages. Watched pages are kept mapped, and the frames are looked up again
after every run (refresh), so remapping is followed. Unicorn matches a hook's
range against an access's first byte only, so each hook starts up to
WIDEST_ACCESS bytes early (on the frame of the previous page too, when the
range starts near a page's start) and the callback keeps the accesses that
overlap the watched bytes.

A software watchpoint (gdb's `Watchpoint 2: total` for a variable that -O2
keeps in a register) has no memory to hook: its `sample(address)` gives the
value's bytes before each instruction of a recorded run (None where the
value cannot be compared, LEFT_SCOPE once its frame has returned), and the
run stops after the instruction that changed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UnmappedAccess
from ..paging import PAGE_4K, page_align_down, pages_in

WIDEST_ACCESS = 64                 # an AVX-512 store; most are 8 bytes or fewer
TITLES = {"write": "Hardware watchpoint", "read": "Hardware read watchpoint",
          "access": "Hardware access (read/write) watchpoint", "software": "Watchpoint"}
LEFT_SCOPE = object()              # what sample() returns once the watched frame is gone


@dataclass
class Watchpoint:
    number: int
    address: int
    length: int
    kind: str                       # "write" | "read" | "access"
    expression: str = ""            # what the user typed, for `watch EXPR`
    hits: int = 0
    old: bytes = b""
    hooks: list = field(default_factory=list)
    frames: tuple = ()
    watched: list = field(default_factory=list)   # physical [lo, hi) ranges of the bytes
    render: object = None           # render(bytes) -> str: the value as its C type
    sample: object = None           # software watchpoint: sample(address) -> bytes

    def overlaps(self, paddr: int, size: int) -> bool:
        return any(paddr < hi and lo < paddr + size for lo, hi in self.watched)

    @property
    def title(self) -> str:
        what = self.expression or f"*{self.address:#x} (len {self.length})"
        return f"{TITLES['software' if self.sample else self.kind]} {self.number}: {what}"


def hook_watch(machine, space, wp: Watchpoint, on_write, on_read) -> None:
    """(Re)install memory hooks on the frames behind wp's range. The pages
    must lie in the process's VMAs (UnmappedAccess otherwise); they are mapped.
    on_write / on_read(paddr, size, wp) are the hooks' callbacks."""
    unhook_watch(machine, wp)
    mmu = machine.mmu
    first = page_align_down(wp.address)
    frames = []
    for page in pages_in(wp.address, wp.length):
        if not space.map_page(page):
            raise UnmappedAccess(page, "outside every mapping of the process")
        frames.append(mmu.translate(page, root=space.root))
    wp.watched, ranges = [], []
    for page_vaddr, frame in zip(pages_in(wp.address, wp.length), frames):
        lo = max(wp.address, page_vaddr) - page_vaddr + frame
        hi = min(wp.address + wp.length, page_vaddr + PAGE_4K) - page_vaddr + frame
        wp.watched.append((lo, hi))
        ranges.append((max(frame, lo - WIDEST_ACCESS + 1), hi - 1))
    if wp.address - first < WIDEST_ACCESS - 1:       # an access may start a page early
        before = mmu.walk(first - PAGE_4K, space.root)
        if before.mapped:
            frame = page_align_down(before.paddr)
            ranges.append((frame + PAGE_4K - (WIDEST_ACCESS - 1 - (wp.address - first)),
                           frame + PAGE_4K - 1))
    for lo, hi in ranges:
        if wp.kind in ("write", "access"):
            wp.hooks.append(machine.add_memory_watch(
                lo, hi, "write", lambda paddr, size: on_write(paddr, size, wp)))
        if wp.kind in ("read", "access"):
            wp.hooks.append(machine.add_memory_watch(
                lo, hi, "read", lambda paddr, size: on_read(paddr, size, wp)))
    wp.frames = tuple(frames)


def unhook_watch(machine, wp: Watchpoint) -> None:
    for hook in wp.hooks:
        machine.remove_hook(hook)
    wp.hooks = []


def frames_now(machine, space, wp: Watchpoint) -> tuple:
    """The frames behind wp's pages now (None for an unmapped page)."""
    return tuple(machine.mmu.walk(p, space.root).paddr
                 for p in pages_in(wp.address, wp.length))

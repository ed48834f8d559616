"""The adbits scenarios: what the test program does, and what the MMU records.

A scenario is a script for examples/labs/adbits/tests/adbits_test.c (its
argument words: `r5` reads page 5, `w5` writes it, `a3:40` asks
sys_pgaccess about 40 pages from page 3, `d..` sys_pgdirty) drawn from a
seeded stream, and, for every call in it, the result and bitmap a correct
kernel gives. The expectation comes from Model, which records Accessed and
Dirty bits as the MMU does: per 4 KiB page of the region, and one pair for
the whole 2 MiB page above it:

    page  0 .. low-1            4 KiB pages, mapped by their first touch
    page  low .. low+511        the 2 MiB page: one A, one D for all 512
    anything else               never mapped: its bit is always 0

A call reports, for each page of its range, the bit as it stands, then
clears it for every page of the range (the whole 2 MiB page's, when the
range reaches into it). An invalid call (see Call.valid) changes nothing.
A test that checks the clearing only touches pages never touched before
after a call, so a kernel that forgets invlpg passes it; the invlpg test
touches the same pages again, which a stale translation lets through
without setting A (or D) again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HUGE_PAGES = 512                  # 4 KiB pieces of the 2 MiB page
EINVAL = -22
PGACCESS, PGDIRTY = "a", "d"
NAMES = {PGACCESS: "sys_pgaccess", PGDIRTY: "sys_pgdirty"}


@dataclass(frozen=True)
class Call:
    """One system call of a script: `pages` pages from page `start` (+`offset` bytes)."""
    kind: str
    start: int
    pages: int
    offset: int = 0

    @property
    def op(self) -> str:
        return f"{self.kind}{self.start}{f'+{self.offset}' if self.offset else ''}:{self.pages}"

    def valid(self, limit: int) -> bool:
        return self.offset == 0 and 1 <= self.pages <= limit

    def describe(self, base: int) -> str:
        return (f"{NAMES[self.kind]}({base + 4096 * self.start + self.offset:#x}, "
                f"{self.pages}, bitmap)")


@dataclass
class Expected:
    """What a correct kernel returns for one call, and writes: (npages + 7) / 8
    bytes of bitmap (None: nothing may be written)."""
    result: int
    bitmap: bytes | None


class Model:
    """Accessed and Dirty bits as the MMU sets them on this region."""

    def __init__(self, low: int, limit: int):
        self.low, self.limit = low, limit
        self.bits = {PGACCESS: set(), PGDIRTY: set()}     # 4 KiB pages with A / D set
        self.huge = {PGACCESS: False, PGDIRTY: False}

    def in_huge(self, page: int) -> bool:
        return self.low <= page < self.low + HUGE_PAGES

    def touch(self, page: int, write: bool) -> None:
        kinds = (PGACCESS, PGDIRTY) if write else (PGACCESS,)
        for kind in kinds:
            if self.in_huge(page):
                self.huge[kind] = True
            else:
                self.bits[kind].add(page)

    def call(self, call: Call) -> Expected:
        if not call.valid(self.limit):
            return Expected(EINVAL, None)
        window = range(call.start, call.start + call.pages)
        set_bits = [i for i, page in enumerate(window) if self.bit(call.kind, page)]
        for page in window:
            self.bits[call.kind].discard(page)
            if self.in_huge(page):
                self.huge[call.kind] = False
        bitmap = bytearray((call.pages + 7) // 8)
        for i in set_bits:
            bitmap[i // 8] |= 1 << (i % 8)
        return Expected(0, bytes(bitmap))

    def bit(self, kind: str, page: int) -> bool:
        return self.huge[kind] if self.in_huge(page) else page in self.bits[kind]


@dataclass
class Script:
    """The program's argument words after MODE BASE LOW, and each call's expectation."""
    ops: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)


class Builder:
    """Writes a script and computes its expectations as it goes."""

    def __init__(self, params: dict):
        self.low, self.limit = params["low"], params["limit"]
        self.model = Model(self.low, self.limit)
        self.script = Script()
        self.touched: set[int] = set()

    def touch(self, page: int, write: bool) -> None:
        self.script.ops.append(f"{'w' if write else 'r'}{page}")
        self.model.touch(page, write)
        self.touched.add(page)

    def touch_all(self, rng, pages, writes: bool | None = None) -> None:
        """Touch `pages` in a shuffled order; each a write when `writes`, a read
        when not, a coin toss when None."""
        for page in rng.shuffle(sorted(pages)):
            self.touch(page, rng.chance(1, 2) if writes is None else writes)

    def call(self, kind: str, start: int, pages: int, offset: int = 0) -> None:
        call = Call(kind, start, pages, offset)
        self.script.ops.append(call.op)
        self.script.calls.append(call)
        self.script.expected.append(self.model.call(call))

    def fresh(self, rng, count: int, lo: int = 0, hi: int | None = None) -> list[int]:
        """`count` 4 KiB pages in [lo, hi) never touched yet (fewer if there are not)."""
        hi = self.low if hi is None else hi
        untouched = [p for p in range(lo, hi) if p not in self.touched]
        return rng.sample(untouched, min(count, len(untouched)))

    def window(self, rng, below: int) -> tuple[int, int]:
        """(start, pages): a range of fewer than `limit` pages (exactly the
        limit is bitmap_layout's case) with `below` 4 KiB pages under the
        2 MiB page and at least two pages inside it."""
        below = min(below, self.low, self.limit - 3)
        inside = min(HUGE_PAGES, self.limit - 1 - below)
        return self.low - below, below + rng.between(2, inside)

    def window_4k(self, rng) -> tuple[int, int]:
        """(start, pages): a range of 4 KiB pages only, fewer than `limit`."""
        pages = rng.between(min(8, self.low), min(self.low, self.limit - 1))
        return rng.below(self.low - pages + 1), pages

    def huge_page(self, rng) -> int:
        return self.low + rng.below(HUGE_PAGES)


# -- the scenarios ----------------------------------------------------------------------------

def access_4k(params: dict, rng) -> Script:
    """Reads and writes of about a third of a range of 4 KiB pages, then one
    call over the range."""
    b = Builder(params)
    start, pages = b.window_4k(rng)
    b.touch_all(rng, b.fresh(rng, pages // 3 + 1, start, start + pages))
    b.call(PGACCESS, start, pages)
    return b.script


def access_2m(params: dict, rng) -> Script:
    """A few 4 KiB pages and one piece of the 2 MiB page touched; one call over
    a range that runs from the 4 KiB pages into the 2 MiB page."""
    b = Builder(params)
    start, pages = b.window(rng, rng.between(4, 24))
    b.touch_all(rng, b.fresh(rng, 3, start, b.low))
    b.touch(b.huge_page(rng), rng.chance(1, 2))
    b.call(PGACCESS, start, pages)
    return b.script


def dirty(params: dict, rng) -> Script:
    """Writes only: some 4 KiB pages and a piece of the 2 MiB page; sys_pgdirty
    over a range across both."""
    b = Builder(params)
    start, pages = b.window(rng, rng.between(8, 32))
    b.touch_all(rng, b.fresh(rng, 5, start, b.low), writes=True)
    b.touch(b.huge_page(rng), True)
    b.call(PGDIRTY, start, pages)
    return b.script


def bitmap_layout(params: dict, rng) -> Script:
    """Exactly `limit` pages; a count that is not a multiple of 8 over a range
    that starts below the region (no pages there); a range a GiB away (no
    tables there). The three ranges share no page."""
    b = Builder(params)
    b.touch(b.huge_page(rng), False)
    b.touch_all(rng, b.fresh(rng, 4, max(0, b.low + HUGE_PAGES - b.limit), b.low))
    b.call(PGACCESS, b.low + HUGE_PAGES - b.limit, b.limit)
    below = rng.between(3, 12)
    pages = 8 * rng.between(1, 3) + rng.between(1, 7)
    last = min(b.low, b.low + HUGE_PAGES - b.limit, pages - below)
    b.touch_all(rng, b.fresh(rng, 3, 0, last))
    b.call(PGDIRTY if rng.chance(1, 2) else PGACCESS, -below, min(pages, below + last))
    b.call(PGACCESS, -(1 << 18) - rng.below(512), 8 * rng.between(1, 4) + 5)
    return b.script


def since_last_call(params: dict, rng) -> Script:
    """Pages touched, both calls; other pages (never touched before) touched,
    both calls again: the second report holds only those."""
    b = Builder(params)
    start, pages = b.window(rng, min(b.low, b.limit // 2))
    b.touch_all(rng, b.fresh(rng, 6, start, b.low))
    b.touch(b.huge_page(rng), True)
    b.call(PGACCESS, start, pages)
    b.call(PGDIRTY, start, pages)
    b.touch_all(rng, b.fresh(rng, 6, start, b.low))
    b.call(PGACCESS, start, pages)
    b.call(PGDIRTY, start, pages)
    return b.script


def read_not_dirty(params: dict, rng) -> Script:
    """Reads and writes of fresh pages, a read of the 2 MiB page: sys_pgdirty
    sees the writes only, sys_pgaccess both."""
    b = Builder(params)
    start, pages = b.window(rng, min(b.low, b.limit // 2))
    fresh = b.fresh(rng, 10, start, b.low)
    b.touch_all(rng, fresh[:5], writes=False)
    b.touch_all(rng, fresh[5:], writes=True)
    b.touch(b.huge_page(rng), False)
    b.call(PGDIRTY, start, pages)
    b.call(PGACCESS, start, pages)
    return b.script


def untouched_clear(params: dict, rng) -> Script:
    """Nothing touched since a call: the next reports nothing, resident pages
    included; a 2 MiB page never touched reports nothing either."""
    b = Builder(params)
    start, pages = b.window(rng, min(b.low, b.limit // 2))
    b.call(PGACCESS, start, pages)
    b.touch_all(rng, b.fresh(rng, 6, start, b.low), writes=True)
    b.call(PGACCESS, start, pages)
    b.call(PGACCESS, start, pages)
    b.call(PGDIRTY, start, pages)
    b.call(PGDIRTY, start, pages)
    return b.script


def einval(params: dict, rng) -> Script:
    """One page over the limit, zero pages, an address inside a page: EINVAL,
    nothing written, nothing cleared: a valid call (4 KiB pages only) then
    sees every touch."""
    b = Builder(params)
    start, pages = b.window_4k(rng)
    b.touch_all(rng, b.fresh(rng, 6, start, start + pages))
    b.call(PGACCESS, start, b.limit + 1)
    b.call(PGDIRTY, start, 0)
    b.call(PGACCESS, start, pages, offset=8 * rng.between(1, 511))
    b.call(PGDIRTY, start, b.limit + 1 + rng.below(8))
    b.call(PGACCESS, start, pages)
    b.call(PGDIRTY, start, pages)
    return b.script


def invlpg(params: dict, rng) -> Script:
    """Pages touched, both calls, then some of the same pages touched again:
    only a kernel that invalidated what it cleared sees the second touches."""
    b = Builder(params)
    start, pages = b.window(rng, min(b.low, b.limit // 2))
    reads, writes = b.fresh(rng, 4, start, b.low), b.fresh(rng, 4, start, b.low)
    writes = [p for p in writes if p not in reads]
    huge = b.huge_page(rng)
    b.touch_all(rng, reads, writes=False)
    b.touch_all(rng, writes, writes=True)
    b.touch(huge, False)
    b.call(PGACCESS, start, pages)
    b.call(PGDIRTY, start, pages)
    b.touch_all(rng, reads[:2], writes=False)
    b.touch_all(rng, writes[:2], writes=True)
    b.touch(huge, False)
    b.call(PGACCESS, start, pages)
    b.call(PGDIRTY, start, pages)
    return b.script


SCENARIOS = {
    "access-4k": access_4k,
    "access-2m": access_2m,
    "dirty": dirty,
    "bitmap-layout": bitmap_layout,
    "hidden-since-last-call": since_last_call,
    "hidden-read-not-dirty": read_not_dirty,
    "hidden-untouched-clear": untouched_clear,
    "hidden-einval": einval,
    "hidden-invlpg": invlpg,
}

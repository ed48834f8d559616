"""The MMU's TLB fill in C, called by Unicorn without Python.

    walker = NativeWalker.install(uc_handle, ram, code_map, refused)   # or None

emu/native/mmu.c is built once with the bundled zig and cached (emu/hostlib.py,
shared with the instruction counter). Its emu_tlb_fill() is added as Unicorn's
UC_HOOK_TLB_FILL callback through the C API (libunicorn's uc_hook_add takes a
C function pointer): a present page costs a walk in C (~0.1 us) instead of
~2.4 us of Python, and Python runs only for refused accesses, through
`refused(vaddr, access, retry)`.

The Python walker in emu/mmu.py is the reference and the fallback: install()
returns None when the library cannot be built or loaded, or when EMU_NATIVE=0
asks for the Python walker (hostlib.failure("mmu") says why).
tests/integration/test_native_mmu.py checks that both give the same
translations, A/D bits, faults and fault counts.
"""

from __future__ import annotations

import ctypes
from array import array

from unicorn import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH, UC_HOOK_TLB_FILL
from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

from . import hostlib
from .native_anon import NativeAnonMaps
from .paging import (BAD_PHYSICAL, NO_EXECUTE, NON_CANONICAL, NOT_PRESENT, PAGE_4K,
                     READ_ONLY, SUPERVISOR, U64)

# mmu.c's reason codes, in its enum's order
REASONS = (None, NOT_PRESENT, BAD_PHYSICAL, NON_CANONICAL, SUPERVISOR, READ_ONLY, NO_EXECUTE)
MAX_SEGMENTS = 16           # mmu.h's: chunks lent at once
REFUSED_CFUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_int, ctypes.c_int)


class _TLB(ctypes.Structure):
    _fields_ = [("slots", ctypes.c_void_p), ("mask", ctypes.c_uint64),
                ("count", ctypes.c_uint64)]


class _Region(ctypes.Structure):
    """mmu.c's emu_region."""
    _fields_ = [(name, ctypes.c_uint64) for name in
                ("root", "start", "end", "flags", "write_flags", "allow", "written")]


class _State(ctypes.Structure):
    """mmu.h's emu_mmu: keep the two in step."""
    _fields_ = [("ram", ctypes.c_void_p), ("ram_size", ctypes.c_uint64),
                ("cr3", ctypes.c_uint64), ("user", ctypes.c_uint64),
                ("code_map", ctypes.c_void_p), ("code_count", ctypes.c_uint64),
                ("fills", ctypes.c_uint64), ("refills", ctypes.c_uint64),
                ("refused", REFUSED_CFUNC), ("reason", ctypes.c_uint64),
                ("leaf", ctypes.c_uint64), ("tlbs", _TLB * 2),
                ("pool", ctypes.c_void_p), ("pool_count", ctypes.c_uint64),
                ("seg_count", ctypes.c_uint64), ("seg_base", ctypes.c_uint64 * MAX_SEGMENTS),
                ("seg_lo", ctypes.c_uint64 * MAX_SEGMENTS), ("pool_shared", ctypes.c_uint64),
                ("pool_changes", ctypes.c_uint64),
                ("regions", ctypes.c_void_p),
                ("region_count", ctypes.c_uint64), ("region_cap", ctypes.c_uint64),
                ("assisted", ctypes.c_uint64), ("write_clock", ctypes.c_uint64),
                ("uc", ctypes.c_void_p), ("uc_ctl", ctypes.c_void_p), ("flush", ctypes.c_uint64),
                ("cpu", ctypes.c_void_p), ("flush_page", ctypes.c_void_p),
                ("flush_page_max", ctypes.c_uint64), ("space", ctypes.c_void_p),
                ("later", ctypes.c_void_p), ("chunks", ctypes.c_uint64),
                ("elsewhere", ctypes.c_void_p), ("elsewhere_count", ctypes.c_uint64),
                ("elsewhere_cap", ctypes.c_uint64), ("refills_at_flush", ctypes.c_uint64),
                ("retune_refills", ctypes.c_uint64)]


_prototyped: set[int] = set()       # libraries whose functions have their argtypes


def library():
    """emu/native/mmu.c as a loaded library (built on first use), or None."""
    lib = hostlib.load("mmu")
    if lib is not None and id(lib) not in _prototyped:
        state = ctypes.POINTER(_State)
        lib.emu_mmu_init.argtypes = [state]
        lib.emu_mmu_free.argtypes = [state]
        lib.emu_tlb_flush.argtypes = [state]
        lib.emu_tlb_invalidate.argtypes = [state, ctypes.c_uint64, ctypes.c_uint64]
        lib.emu_invalidate.argtypes = [state, ctypes.c_uint64, ctypes.c_uint64]
        lib.emu_tlb_mark_code.argtypes = [state]
        lib.emu_tlb_count.argtypes = [state, ctypes.c_int]
        lib.emu_tlb_count.restype = ctypes.c_uint64
        lib.emu_translate.argtypes = [state, ctypes.c_uint64, ctypes.c_int,
                                      ctypes.POINTER(ctypes.c_uint64)]
        lib.emu_pool_take.argtypes = [state]
        lib.emu_pool_take.restype = ctypes.c_uint64
        lib.emu_region_add.argtypes = [state] + [ctypes.c_uint64] * 6
        lib.emu_region_drop.argtypes = [state] + [ctypes.c_uint64] * 3
        lib.emu_region_set.argtypes = [state] + [ctypes.c_uint64] * 6
        lib.emu_region_holds.argtypes = [state, ctypes.c_uint64, ctypes.c_uint64]
        words = ctypes.POINTER(ctypes.c_uint64)
        lib.emu_region_written.argtypes = [state, words, words, ctypes.c_uint64]
        lib.emu_region_written.restype = ctypes.c_uint64
        lib.emu_unmap_leaves.argtypes = [state, ctypes.c_uint64, ctypes.c_uint64,
                                         ctypes.c_uint64, words, words, ctypes.c_uint64, words]
        lib.emu_unmap_leaves.restype = ctypes.c_int64
        _prototyped.add(id(lib))
    return lib


class NativeWalker:
    """emu_tlb_fill installed on one Unicorn engine, with its software TLBs."""

    RETUNE_REFILLS = 4096       # refills before a system call flushes Unicorn's TLB whole,
                                # so that it can grow (mmu.c's emu_tlb_retune)

    def __init__(self, lib, engine, ram, code_map: bytearray, refused, page_flush=None):
        self._lib = lib
        self._unmapped = None                        # unmap_leaves' C arrays, made on first use
        self._state = state = _State()
        self._code_map = (ctypes.c_char * len(code_map)).from_buffer(code_map)
        state.ram, state.ram_size = ram.host_address, ram.size
        state.uc, state.uc_ctl = engine, ctypes.cast(uclib.uc_ctl, ctypes.c_void_p)
        state.flush = UC_CTL_TLB_FLUSH | UC_CTL_IO_WRITE << 30    # unicorn.h's UC_CTL_WRITE
        state.code_map = ctypes.addressof(self._code_map)
        if page_flush is not None:                    # emu/page_flush.py
            state.cpu, state.flush_page = page_flush.cpu, page_flush.function
            state.flush_page_max = page_flush.MAX_PAGES
        state.retune_refills = self.RETUNE_REFILLS
        self._refused = REFUSED_CFUNC(refused)        # kept alive with the walker
        state.refused = self._refused
        if not lib.emu_mmu_init(state):
            raise MemoryError("native TLB: no memory for its tables")
        self._ref = ctypes.byref(state)
        self.assist = DemandZeroAssist(lib, state, ram.size)
        self.anon_maps = NativeAnonMaps(lib, state)
        handle = uc_hook_h()
        status = uclib.uc_hook_add(engine, ctypes.byref(handle), UC_HOOK_TLB_FILL,
                                   ctypes.cast(lib.emu_tlb_fill, ctypes.c_void_p),
                                   ctypes.c_void_p(ctypes.addressof(state)),
                                   ctypes.c_uint64(1), ctypes.c_uint64(0))
        if status != 0:
            lib.emu_mmu_free(state)
            raise OSError(f"native TLB: uc_hook_add failed ({status})")

    @classmethod
    def install(cls, engine, ram, code_map: bytearray, refused,
                page_flush=None) -> NativeWalker | None:
        """The native walker on `engine`, or None when it cannot be had (or
        EMU_NATIVE=0): the caller then installs the Python walker. With
        `page_flush` (emu/page_flush.py) short invalidations flush Unicorn's
        TLB page by page."""
        lib = library()
        return None if lib is None else cls(lib, engine, ram, code_map, refused, page_flush)

    def __del__(self):
        state = getattr(self, "_state", None)
        if state is not None:
            self._lib.emu_mmu_free(state)

    def load(self, cr3: int, user: bool) -> None:
        """The root and privilege the next fills walk with."""
        self._state.cr3, self._state.user = cr3, int(user)

    def flush(self) -> None:
        self._lib.emu_tlb_flush(self._ref)

    def invalidate(self, first: int, end: int) -> None:
        """Drop [first, end) from the software TLBs and from Unicorn's (those
        pages, or all of it)."""
        self._lib.emu_invalidate(self._ref, first, end)

    def mark_code(self) -> None:
        """Mark in the code map every page the TLBs can fetch from."""
        self._lib.emu_tlb_mark_code(self._ref)

    def cached(self, user: bool) -> int:
        """Translations in the software TLB of one privilege."""
        return self._lib.emu_tlb_count(self._ref, int(user))

    def translate(self, vaddr: int, access: int) -> tuple[int, int] | None:
        """The C walk alone (A/D set as a fill sets them, nothing cached):
        (physical page, perms), or None; refusal() then says why."""
        value = ctypes.c_uint64()
        if not self._lib.emu_translate(self._ref, vaddr, access, ctypes.byref(value)):
            return None
        return value.value & ~(PAGE_4K - 1), value.value & (PAGE_4K - 1)

    def refusal(self) -> tuple[str | None, int]:
        """(reason, leaf entry or 0) of the last walk that refused."""
        return REASONS[self._state.reason], self._state.leaf

    UNMAP_ROOM = 512            # leaves cleared per call of emu_unmap_leaves

    def unmap_leaves(self, root: int, start: int, end: int) -> list[tuple[int, int]] | None:
        """Clear the present leaves of [start, end) under `root` in guest RAM
        (page-aligned): (virtual page, entry) of each, in address order; None,
        having changed nothing, when a large page or a table outside RAM lies in
        the range (kernel/page_tables.py's unmap handles those), or when the
        range runs past 2^64 (a c_uint64 would wrap it)."""
        if end > U64:
            return None
        if self._unmapped is None:
            words = ctypes.c_uint64 * self.UNMAP_ROOM
            self._unmapped = (words(), words(), ctypes.c_uint64())
        vaddrs, entries, reached = self._unmapped
        found: list[tuple[int, int]] = []
        while start < end:
            count = self._lib.emu_unmap_leaves(self._ref, root, start, end, vaddrs, entries,
                                               self.UNMAP_ROOM, ctypes.byref(reached))
            if count < 0:
                return None
            found += zip(vaddrs[:count], entries[:count])
            start = reached.value
        return found

    @property
    def counts(self) -> tuple[int, int]:
        """(walks, fills from the software TLB) since the machine booted."""
        return self._state.fills, self._state.refills


class DemandZeroAssist:
    """The C walker's demand-zero fast path (mmu.c, "the demand-zero assist"):
    the kernel lists regions and lends frames; the walker maps first touches
    of those regions without Python and counts them. kernel/assist.py is the
    policy; this is the mechanism, one per NativeWalker."""

    CHUNK_FRAMES = 512
    POOL = MAX_SEGMENTS * CHUNK_FRAMES       # room for every lent chunk's frames
    ELSEWHERE = 4096            # frames the C munmap may free into later chunks per loan
    CHUNK = 2 << 20
    REGIONS = 512               # regions the walker can hold

    def __init__(self, lib, state: _State, ram_size: int):
        self._lib, self._state, self._ref = lib, state, ctypes.byref(state)
        chunks = ram_size // self.CHUNK
        self._later = (ctypes.c_uint16 * chunks)()
        self._later_set: list[int] = []           # the entries lend() set
        self._elsewhere = (ctypes.c_uint64 * self.ELSEWHERE)()
        state.later, state.chunks = ctypes.addressof(self._later), chunks
        state.elsewhere, state.elsewhere_cap = ctypes.addressof(self._elsewhere), self.ELSEWHERE
        self._pool = (ctypes.c_uint64 * self.POOL)()
        self._regions = (_Region * self.REGIONS)()
        state.pool = ctypes.addressof(self._pool)
        state.regions = ctypes.addressof(self._regions)
        state.region_cap = self.REGIONS
        self._written = [(ctypes.c_uint64 * self.REGIONS)() for _ in range(2)]
        self.handled = 0        # faults the walker handled since the machine booted
        self.freed_elsewhere_total = 0   # frames settled from elsewhere() since then

    # -- frames ---------------------------------------------------------------------

    def lend(self, lists: list[tuple[int, list[int]]], shared: bool,
             later: list[tuple[int, int]]) -> None:
        """Give the walker the free lists of the first chunks alloc() takes
        from, in that order: (the chunk's base, its list), at most
        MAX_SEGMENTS, to take from the first one's end. `shared`: some frame
        has more than one reference, so the C munmap frees none into the
        pool. `later` holds (chunk index, frames in use) of the chunks taken
        after them, which the C munmap may free frames into (elsewhere())."""
        state = self._state
        for index, in_use in later:
            self._later[index] = min(in_use, 0xFFFF)
        self._later_set = [index for index, _ in later]
        stacked = []                                   # the last list at the bottom
        for i, (base, frames) in reversed(list(enumerate(lists))):
            state.seg_base[i], state.seg_lo[i] = base, len(stacked)
            stacked += frames
        ctypes.memmove(self._pool, array("Q", stacked).tobytes(), 8 * len(stacked))
        state.pool_shared = int(shared)
        state.pool_count, state.seg_count, state.pool_changes = len(stacked), len(lists), 0

    @property
    def lent(self) -> int:
        """Frames in the pool now."""
        return self._state.pool_count

    def take(self) -> int:
        """The pool's next frame, taken as the walker takes one (not zeroed);
        0 when the pool is empty."""
        return self._lib.emu_pool_take(self._ref)

    def changed(self) -> bool:
        """Has the walker taken a frame from the pool, or put one back?"""
        return bool(self._state.pool_changes)

    def returned(self) -> list[list[int]]:
        """Each lent chunk's free list as it is now, in the order lent."""
        state = self._state
        ends = [state.pool_count] + list(state.seg_lo[:state.seg_count])
        return [self._pool[ends[i + 1]:ends[i]] for i in range(state.seg_count)]

    def elsewhere(self) -> list[int]:
        """The frames the C munmap freed into later chunks, in order."""
        count = self._state.elsewhere_count
        self.freed_elsewhere_total += count
        return self._elsewhere[:count]

    @property
    def freed_elsewhere(self) -> int:
        return self._state.elsewhere_count

    def take_back(self) -> None:
        """The pool is empty again (the lender has settled it)."""
        state = self._state
        state.pool_count = state.pool_changes = state.elsewhere_count = state.seg_count = 0
        for index in self._later_set:
            self._later[index] = 0
        self._later_set = []

    # -- faults and regions -----------------------------------------------------------

    def faults(self) -> int:
        """Faults the walker handled since the last call."""
        count = self._state.assisted
        if count:
            self._state.assisted = 0
            self.handled += count
        return count

    def add_region(self, root: int, start: int, end: int, flags: int, write_flags: int,
                   allow: int) -> bool:
        """Let the walker map not-present user pages of [start, end) under
        `root`: zeroed frames with leaf `flags`, and from the first write on
        `write_flags` when not 0 (that write gives the VMA its anon_vma).
        `allow` holds the UC_PROT bits of the accesses allowed. False when the
        walker holds as many regions as it can."""
        return bool(self._lib.emu_region_add(self._ref, root, start, end, flags, write_flags,
                                             allow))

    def set_region(self, root: int, start: int, end: int, flags: int, write_flags: int,
                   allow: int) -> bool:
        """drop_regions(root, start, end), then add_region(...) with the same
        arguments, in one call."""
        return bool(self._lib.emu_region_set(self._ref, root, start, end, flags, write_flags,
                                             allow))

    def holds(self, root: int, vaddr: int) -> bool:
        """Does a region of `root` hold `vaddr`?"""
        return bool(self._state.region_count) and \
            bool(self._lib.emu_region_holds(self._ref, root, vaddr))

    def drop_regions(self, root: int, start: int, end: int) -> None:
        """Forget the regions of `root` that share a byte with [start, end)
        (`end` may be 2^64: everything)."""
        if self._state.region_count:
            self._lib.emu_region_drop(self._ref, root, start, min(end, U64))

    def written(self) -> list[tuple[int, int]]:
        """(root, start) of each region a write gave its anon_vma since the
        last call, oldest first."""
        if not self._state.write_clock:
            return []
        roots, starts = self._written
        count = self._lib.emu_region_written(self._ref, roots, starts, self.REGIONS)
        return list(zip(roots[:count], starts[:count]))

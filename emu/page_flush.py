"""INVLPG for Unicorn's TLB: flushing single pages, not the whole of it.

    flush = PageFlush.find(uc_handle)      # None when this Unicorn does not allow it
    flush.pages(first, end)                # drop [first, end) from Unicorn's TLB

Unicorn 2.1's API flushes only its whole TLB (uc_ctl UC_CTL_TLB_FLUSH), and
its jump cache with it; every translation then comes back through a TLB
fill. After each munmap of a malloc churn that costs more than all the rest
of the run (measured on the musl churn of `make bench`: 7.3 s of CPU with
whole flushes, 3.0 s with none). QEMU under Unicorn has INVLPG's own flush,
tlb_flush_page(cpu, addr), which libunicorn exports as tlb_flush_page_x86_64,
but it takes the engine's CPUState, a field of Unicorn's private struct
uc_struct. find() locates that field by the exported functions the struct
points to just before it (include/uc_priv.h, the same from Unicorn 2.1.1 to
2.1.4):

    word i       tcg_flush_tlb      = tcg_flush_softmmu_tlb_x86_64
    word i + 1   uc_invalidate_tb
    word i + 2   uc_gen_tb
    word i + 3   tb_flush
    word i + 4   add_inline_hook    = uc_add_inline_hook_x86_64
    word i + 5   del_inline_hook    = uc_del_inline_hook_x86_64
    word i + 6   context_size
    word i + 7   context_save
    word i + 8   context_restore
    word i + 9   cpu                (CPUState *)

When the three anchors are not where they should be (another Unicorn),
find() returns None and the MMU flushes the whole TLB, as it did before.
The engine must be set up (any uc_ctl or uc_mem_map does that) before
find() looks. Part of the machine layer: the MMU and its walkers use it.
"""

from __future__ import annotations

import ctypes

from unicorn.unicorn_py3.unicorn import uclib

from .paging import PAGE_4K

SCAN_WORDS = 96             # the anchors lie near the start: word 46 in Unicorn 2.1.4
CPU_AFTER_ANCHOR = 9
_ANCHORS = (("tcg_flush_softmmu_tlb_x86_64", 0), ("uc_add_inline_hook_x86_64", 4),
            ("uc_del_inline_hook_x86_64", 5))
_FLUSH_PAGE = "tlb_flush_page_x86_64"


def _address(name: str) -> int | None:
    function = getattr(uclib, name, None)
    return None if function is None else ctypes.cast(function, ctypes.c_void_p).value


class PageFlush:
    """tlb_flush_page for one Unicorn engine."""

    MAX_PAGES = 128         # a longer range is flushed whole (a page costs ~0.1 us;
                            # a whole flush, all translations filled again)

    def __init__(self, cpu: int, function: int):
        self.cpu = cpu                      # the engine's CPUState *
        self.function = function            # tlb_flush_page_x86_64, for C callers
        self._flush_page = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64)(function)

    @classmethod
    def find(cls, uc_handle) -> PageFlush | None:
        """The page flush of the engine `uc_handle` (a uc_engine *), or None."""
        anchors = [(_address(name), offset) for name, offset in _ANCHORS]
        function = _address(_FLUSH_PAGE)
        if function is None or any(address is None for address, _ in anchors):
            return None
        base = ctypes.cast(uc_handle, ctypes.c_void_p).value
        words = (ctypes.c_uint64 * SCAN_WORDS).from_address(base)
        first = anchors[0][0]
        for i in range(SCAN_WORDS - CPU_AFTER_ANCHOR):
            if words[i] == first and all(words[i + offset] == address
                                         for address, offset in anchors[1:]):
                cpu = words[i + CPU_AFTER_ANCHOR]
                return cls(cpu, function) if cpu else None
        return None

    def pages(self, first: int, end: int) -> bool:
        """Drop the page-aligned range [first, end) from Unicorn's TLB (and the
        jump cache entries that may reach into it); False, having done
        nothing, when the range is longer than MAX_PAGES."""
        if end - first > self.MAX_PAGES * PAGE_4K:
            return False
        for page in range(first, end, PAGE_4K):
            self._flush_page(self.cpu, page)
        return True

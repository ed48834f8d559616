"""Guest physical RAM: one host mapping shared with the CPU.

The host reserves the whole RAM size up front with MAP_NORESERVE, so a 128 GiB
machine costs nothing until the guest touches its pages; the machine hands the
same memory (`host_address`) to the CPU. Python reads guest RAM through a
memoryview, about ten times faster than asking Unicorn, which matters for the
page walks the MMU does on every TLB miss.

Every write goes straight to the host memory. Writes that may later be
executed (code, zero-fills, poison) also tell the machine (`code_written`), which
drops translated code when the bytes lie in a page that has ever been
executable: Unicorn's own write cannot be trusted with that under paging (see
Machine._code_written). Writes of page-table entries and os_MemoryMap bytes,
which are never executed, skip that check.

Observers (the debugger's undo log) are told before any host-side write
changes RAM: observer(paddr, length).
"""

from __future__ import annotations

import ctypes
import mmap
import struct

from .errors import KernelPanic, UsageError
from .paging import PAGE_4K

_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)   # Linux's value
_U64 = struct.Struct("<Q")


class PhysicalRAM:
    """`size` bytes of guest physical memory at physical address 0."""

    def __init__(self, size: int, code_written, pages_written=None):
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
        try:
            self._host = mmap.mmap(-1, size, flags=flags)
        except OSError as exc:
            raise UsageError(f"cannot reserve {size >> 20} MiB of host memory for guest RAM: "
                             f"{exc.strerror}") from None
        self.host_address = ctypes.addressof(ctypes.c_char.from_buffer(self._host))
        self._code_written = code_written
        # pages_written(paddrs): code_written for whole 4 KiB pages, in one call
        self._pages_written = pages_written or (
            lambda paddrs: [code_written(p, PAGE_4K) for p in paddrs])
        self.size = size
        self.view = memoryview(self._host)
        self.observers: list = []

    def check(self, paddr: int, length: int) -> None:
        """KernelPanic unless [paddr, paddr+length) lies inside RAM: callers
        translate guest addresses first, so a range outside RAM is a bug."""
        if paddr < 0 or length < 0 or paddr + length > self.size:
            raise KernelPanic(f"ram_access: physical range {paddr:#x}+{length:#x} is outside "
                              f"RAM (0..{self.size:#x})")

    def read(self, paddr: int, length: int) -> bytes:
        self.check(paddr, length)
        return bytes(self.view[paddr:paddr + length])

    def _changing(self, paddr: int, length: int) -> None:
        for observer in self.observers:
            observer(paddr, length)

    def page(self, paddr: int) -> bytes:
        """The 4 KiB page that starts at `paddr`."""
        return bytes(self.view[paddr:paddr + PAGE_4K])

    def write(self, paddr: int, data: bytes) -> None:
        """Write bytes the guest may execute later (drops stale translations)."""
        self.check(paddr, len(data))
        if self.observers:
            self._changing(paddr, len(data))
        self.view[paddr:paddr + len(data)] = data
        self._code_written(paddr, len(data))

    def fill_page(self, paddr: int, page: bytes) -> None:
        """Overwrite the 4 KiB frame at `paddr` (page-aligned, inside RAM: the
        frame allocator's) with `page`, PAGE_4K bytes: zeroing and poisoning
        frames, without write()'s range check."""
        if self.observers:
            self._changing(paddr, PAGE_4K)
        self.view[paddr:paddr + PAGE_4K] = page
        self._code_written(paddr, PAGE_4K)

    def fill_pages(self, paddrs: list[int], page: bytes) -> None:
        """fill_page(paddr, page) for each of `paddrs`, in one call: the frame
        allocator poisons the frames of a whole munmap at once."""
        view = self.view
        for paddr in paddrs:
            if self.observers:
                self._changing(paddr, PAGE_4K)
            view[paddr:paddr + PAGE_4K] = page
        self._pages_written(paddrs)

    def fill(self, paddr: int, length: int, byte: int = 0) -> None:
        """Set `length` bytes at `paddr` to `byte` (through Unicorn, see write)."""
        self.write(paddr, bytes([byte]) * length)

    def read_u64(self, paddr: int) -> int:
        return _U64.unpack_from(self._host, paddr)[0]

    def read_u64s(self, paddr: int, count: int) -> tuple[int, ...]:
        """`count` 8-byte values from `paddr` on (a row of page-table entries)."""
        return struct.unpack_from(f"<{count}Q", self._host, paddr)

    def write_u64(self, paddr: int, value: int) -> None:
        """Store an 8-byte value that is never executed (a page-table entry)."""
        if self.observers:
            self._changing(paddr, 8)
        _U64.pack_into(self._host, paddr, value)

    def write_data(self, paddr: int, data: bytes) -> None:
        """Store bytes that are never executed (tables, os_MemoryMap) directly."""
        self.check(paddr, len(data))
        if self.observers:
            self._changing(paddr, len(data))
        self.view[paddr:paddr + len(data)] = data

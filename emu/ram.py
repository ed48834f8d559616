"""Guest physical RAM: one host mapping shared with Unicorn.

The host reserves the whole RAM size up front with MAP_NORESERVE, so a 128 GiB
machine costs nothing until the guest touches its pages, and hands the same
memory to Unicorn with mem_map_ptr. Python then reads guest RAM through a
memoryview, about ten times faster than uc.mem_read, which matters for the
page walks the MMU does on every TLB miss.

Writes that may later be executed (code, zero-fills, poison) go through
uc.mem_write, so QEMU drops any translated code for those bytes. Writes of page
table entries and os_MemoryMap bytes, which are never executed, go straight to
the host memory.
"""

from __future__ import annotations

import ctypes
import mmap
import struct

from unicorn import UC_PROT_ALL, Uc

from .errors import EmuError, UsageError

_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)   # Linux's value
_U64 = struct.Struct("<Q")


class PhysicalRAM:
    """`size` bytes of guest physical memory at physical address 0."""

    def __init__(self, uc: Uc, size: int):
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
        try:
            self._host = mmap.mmap(-1, size, flags=flags)
        except OSError as exc:
            raise UsageError(f"cannot reserve {size >> 20} MiB of host memory for guest RAM: "
                             f"{exc.strerror}") from None
        self._base = ctypes.addressof(ctypes.c_char.from_buffer(self._host))
        uc.mem_map_ptr(0, size, UC_PROT_ALL, self._base)
        self._uc = uc
        self.size = size
        self.view = memoryview(self._host)
        self.journal = None     # dict page -> old bytes: the debugger's undo log

    def check(self, paddr: int, length: int) -> None:
        """Raise EmuError unless [paddr, paddr+length) lies inside RAM."""
        if paddr < 0 or length < 0 or paddr + length > self.size:
            raise EmuError(f"physical range {paddr:#x}+{length:#x} is outside RAM "
                           f"(0..{self.size:#x})")

    def read(self, paddr: int, length: int) -> bytes:
        self.check(paddr, length)
        return bytes(self.view[paddr:paddr + length])

    def _remember(self, paddr: int, length: int) -> None:
        """Keep the old contents of the pages about to change (when journaling)."""
        for page in range(paddr & ~0xFFF, paddr + length, 0x1000):
            if page not in self.journal:
                self.journal[page] = bytes(self.view[page:page + 0x1000])

    def write(self, paddr: int, data: bytes) -> None:
        """Write bytes the guest may execute later (drops stale translations)."""
        self.check(paddr, len(data))
        if self.journal is not None:
            self._remember(paddr, len(data))
        self._uc.mem_write(paddr, bytes(data))

    def fill(self, paddr: int, length: int, byte: int = 0) -> None:
        """Set `length` bytes at `paddr` to `byte` (through Unicorn, see write)."""
        self.write(paddr, bytes([byte]) * length)

    def read_u64(self, paddr: int) -> int:
        return _U64.unpack_from(self._host, paddr)[0]

    def write_u64(self, paddr: int, value: int) -> None:
        """Store an 8-byte value that is never executed (a page-table entry)."""
        if self.journal is not None:
            self._remember(paddr, 8)
        _U64.pack_into(self._host, paddr, value)

    def write_data(self, paddr: int, data: bytes) -> None:
        """Store bytes that are never executed (tables, os_MemoryMap) directly."""
        self.check(paddr, len(data))
        if self.journal is not None:
            self._remember(paddr, len(data))
        self.view[paddr:paddr + len(data)] = data

"""Boot: system variables, the os_MemoryMap, and the kernel's page tables.

After boot:
  * os_MemAmount holds the RAM size in MiB;
  * the os_MemoryMap marks chunk 0 used (the kernel's), the rest of RAM free;
  * every address space gets the kernel half (see layout.py): the direct
    map of all RAM and the high alias of the kernel's first GiB;
  * the kernel address space (root KERNEL_PML4) also identity-maps all RAM,
    supervisor only, as kernel asm in BareMetal expects physical addresses:

      virtual = physical     page size   flags
      0x000000 .. 0x001000   -           not mapped: NULL faults in the kernel too
      0x001000 .. 0x100000   4 KiB       P RW NX         (sysvars, memory map, tables)
      0x100000 .. 0x1E0000   4 KiB       P RW            (kernel code: executable)
      0x1E0000 .. 0x200000   4 KiB       P RW NX         (kernel stack)
      0x200000 .. RAM end    2 MiB       P RW PS NX      (every other chunk)

The boot tables live at fixed places in chunk 0 (see layout.py), not in frames.
"""

from __future__ import annotations

import struct

from emu.paging import ENTRIES, PAGE_4K, PTE_NX, PTE_P, PTE_PS, PTE_RW, index_at, make_pte

from . import layout
from .frames import FrameAllocator
from .memory_map import MemoryMap
from .page_tables import PageTables

_TABLE = PTE_P | PTE_RW


def boot(ram, ram_mib: int) -> tuple[MemoryMap, FrameAllocator, PageTables]:
    """Initialise chunk 0 of `ram`; returns the kernel's memory map, frame
    allocator and page-table editor."""
    struct.pack_into("<I", ram.view, layout.OS_MEM_AMOUNT, ram_mib)
    chunks = ram_mib // 2
    memory_map = MemoryMap(
        ram.view[layout.MEMORY_MAP:layout.MEMORY_MAP + layout.MEMORY_MAP_ENTRIES], chunks)
    memory_map.format()
    build_kernel_tables(ram, chunks)
    frames = FrameAllocator(memory_map, ram)
    return memory_map, frames, PageTables(ram, frames, kernel_half(ram))


def kernel_half(ram) -> dict[int, int]:
    """The kernel's PML4 entries from KERNEL_HALF on: what every root shares."""
    return {index: ram.read_u64(layout.KERNEL_PML4 + 8 * index)
            for index in range(layout.KERNEL_HALF, ENTRIES)
            if ram.read_u64(layout.KERNEL_PML4 + 8 * index)}


def build_kernel_tables(ram, chunks: int) -> None:
    """Write the identity map of `chunks` 2 MiB chunks under KERNEL_PML4."""
    gigabytes = (chunks + ENTRIES - 1) // ENTRIES
    pdpt = make_pte(layout.KERNEL_PDPT, _TABLE)
    _write_table(ram, layout.KERNEL_PML4, {0: pdpt, index_at(layout.DIRECT_MAP, "PML4"): pdpt,
                                           index_at(layout.KERNEL_VIRT, "PML4"):
                                           make_pte(layout.KTEXT_PDPT, _TABLE)})
    _write_table(ram, layout.KTEXT_PDPT, {index_at(layout.KERNEL_VIRT, "PDPT"):
                                          make_pte(layout.KERNEL_PDS, _TABLE)})
    _write_table(ram, layout.KERNEL_PDPT,
                 {g: make_pte(layout.KERNEL_PDS + g * PAGE_4K, _TABLE) for g in range(gigabytes)})
    for g in range(gigabytes):
        first = g * ENTRIES
        pd = {i - first: make_pte(layout.chunk_base(i), _TABLE | PTE_PS | PTE_NX)
              for i in range(max(first, 1), min(first + ENTRIES, chunks))}
        if g == 0:
            pd[0] = make_pte(layout.KERNEL_PT_CHUNK0, _TABLE)
        _write_table(ram, layout.KERNEL_PDS + g * PAGE_4K, pd)
    _write_table(ram, layout.KERNEL_PT_CHUNK0,
                 {page: make_pte(page * PAGE_4K, _chunk0_flags(page * PAGE_4K))
                  for page in range(1, ENTRIES)})


def _chunk0_flags(paddr: int) -> int:
    executable = layout.KERNEL_TEXT <= paddr < layout.KERNEL_CODE_END
    return _TABLE | (0 if executable else PTE_NX)


def _write_table(ram, table: int, entries: dict[int, int]) -> None:
    """Fill the 4 KiB table at `table`: the given entries, zero elsewhere."""
    words = [0] * ENTRIES
    for index, value in entries.items():
        words[index] = value
    ram.write_data(table, struct.pack(f"<{ENTRIES}Q", *words))

"""The physical memory map: one table of constants, like BareMetal's sysvar.asm.

Physical RAM is divided into 2 MiB chunks. Chunk 0 belongs to the kernel; every
other chunk is handed out by the os_MemoryMap (one byte per chunk).

  start      end        size      what
  0x000000   0x001000     4 KiB   null page: left unmapped so NULL faults
  0x001000   0x002000     4 KiB   system variables (table below)
  0x010000   0x020000    64 KiB   os_MemoryMap: 65,536 one-byte chunk entries
  0x020000   0x021000     4 KiB   kernel PML4
  0x021000   0x022000     4 KiB   kernel PDPT (512 GiB reach; RAM is at most 128 GiB)
  0x022000   0x0A2000   512 KiB   kernel page directories, one per GiB of RAM
  0x0A2000   0x0A3000     4 KiB   kernel page table for chunk 0 (4 KiB pages)
  0x0A3000   0x0A4000     4 KiB   kernel-text PDPT: the high alias of the first GiB
  0x100000   0x100010    16 B     return trap at 0x100008: kernel calls return there
  0x100010   0x1DF000   ~892 KiB  kernel code and data placed by Machine.load
  0x1DF000   0x1E0000     4 KiB   kernel services for guest handlers (emu/guest_kernel.py)
  0x1E0000   0x200000   128 KiB   kernel stack (grows down from 0x200000)

System variables (at SYSVARS):
  +0x00  os_MemAmount   dword   installed RAM in MiB

The kernel half of every address space (PML4 entries 256..511), the same in the
kernel's tables and in every process's, supervisor only, as on Linux:

  virtual                         maps                        PML4 slot
  0xffff888000000000 + pa         all of RAM (the direct map)   273 -> the kernel PDPT
  0xffffffff80000000 + pa         the first GiB (kernel text)   511 -> KTEXT_PDPT[510]

Both share the boot page directories, so they add one table (KTEXT_PDPT).
Kernel routines that run on a process's CR3 (the guest fault and syscall
handlers) are placed at KERNEL_VIRT + their physical address and reach any
frame at DIRECT_MAP + paddr; the identity map stays the kernel's own (emu call).
"""

from emu.paging import PAGE_4K

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

CHUNK_SHIFT = 21
CHUNK_SIZE = 1 << CHUNK_SHIFT          # 2 MiB: one os_MemoryMap entry
FRAMES_PER_CHUNK = CHUNK_SIZE // PAGE_4K

# -- chunk 0 ------------------------------------------------------------------
NULL_PAGE = 0x000000
SYSVARS = 0x001000
OS_MEM_AMOUNT = SYSVARS + 0x00           # dword, RAM in MiB
MEMORY_MAP = 0x010000
MEMORY_MAP_ENTRIES = 65536               # 65,536 x 2 MiB = 128 GiB
KERNEL_PML4 = 0x020000
KERNEL_PDPT = 0x021000
KERNEL_PDS = 0x022000                    # KERNEL_PDS + i * 4 KiB maps GiB i
KERNEL_PD_COUNT = 128
KERNEL_PT_CHUNK0 = 0x0A2000
KTEXT_PDPT = 0x0A3000
KERNEL_TEXT = 0x100000                   # first executable kernel page
RETURN_TRAP = 0x100008                   # never executed: calls stop on reaching it
KERNEL_CODE = 0x100010
KERNEL_SERVICES = 0x1DF000               # one `ret` per service; the loader stops here
KERNEL_CODE_END = 0x1E0000               # executable up to here
KERNEL_STACK_BOTTOM = 0x1E0000
KERNEL_STACK_TOP = 0x200000

# -- the kernel half ------------------------------------------------------------
DIRECT_MAP = 0xFFFF_8880_0000_0000       # DIRECT_MAP + pa reaches physical pa (Linux's base)
KERNEL_VIRT = 0xFFFF_FFFF_8000_0000      # KERNEL_VIRT + pa: the kernel's code and data
KERNEL_HALF = 256                        # PML4 slots from here on are the kernel's


def direct_map(paddr: int) -> int:
    """The kernel-half address of physical `paddr` (Linux's __va)."""
    return DIRECT_MAP + paddr


def kernel_virt(paddr: int) -> int:
    """The high alias of an address in the kernel's first GiB (code, data)."""
    return KERNEL_VIRT + paddr


# -- os_MemoryMap entry values --------------------------------------------------
CHUNK_ABSENT = 0                         # no RAM behind this entry
CHUNK_FREE = 1
CHUNK_USED = 2

# -- RAM sizes a machine may have -------------------------------------------------
MIN_RAM_MIB = 4                          # chunk 0 plus at least one chunk to hand out
MAX_RAM_MIB = 128 * 1024                 # what a 65,536-entry os_MemoryMap can describe

# Symbols guest assembly can name (the kernel's half of the symbol table).
KERNEL_SYMBOLS = {
    "os_MemoryMap": MEMORY_MAP,
    "os_MemAmount": OS_MEM_AMOUNT,
    "os_SystemVariables": SYSVARS,
    "CHUNK_SHIFT": CHUNK_SHIFT,
    "CHUNK_SIZE": CHUNK_SIZE,
    "CHUNK_FREE": CHUNK_FREE,
    "CHUNK_USED": CHUNK_USED,
    "DIRECT_MAP": DIRECT_MAP,
    "KERNEL_VIRT": KERNEL_VIRT,
}


def chunk_of(paddr: int) -> int:
    """Index of the 2 MiB chunk holding physical address `paddr`."""
    return paddr >> CHUNK_SHIFT


def chunk_base(index: int) -> int:
    """Physical address of the first byte of chunk `index`."""
    return index << CHUNK_SHIFT


def validate_ram_mib(ram_mib: int) -> str | None:
    """Why `ram_mib` cannot be a machine's RAM size, or None if it can."""
    if not isinstance(ram_mib, int) or isinstance(ram_mib, bool):
        return f"RAM size must be a whole number of MiB, got {ram_mib!r}"
    if ram_mib % (CHUNK_SIZE // MiB):
        return f"RAM size must be a multiple of 2 MiB, got {ram_mib} MiB"
    if ram_mib < MIN_RAM_MIB:
        return f"RAM size must be at least {MIN_RAM_MIB} MiB, got {ram_mib} MiB"
    if ram_mib > MAX_RAM_MIB:
        return f"RAM size must be at most 128 GiB ({MAX_RAM_MIB} MiB), got {ram_mib} MiB"
    return None

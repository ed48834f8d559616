"""emu: an x86-64 machine with real 4-level paging and an OS memory layer.

    from emu import Machine
    m = Machine(ram_mib=1024)
    m.load(ASM_DIR / "os_mem_allocate.asm")
    m.call("os_mem_allocate", rcx=2)["rax"]
"""

from pathlib import Path

from .errors import (AssemblyError, BudgetExceeded, EmuError, GuestFault, KernelPanic,
                     UsageError)
from .machine import Budget, Machine

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASM_DIR = PROJECT_ROOT / "asm"
EXAMPLES_DIR = PROJECT_ROOT / "examples"

__all__ = ["Machine", "Budget", "EmuError", "UsageError", "AssemblyError", "GuestFault",
           "BudgetExceeded", "KernelPanic", "ASM_DIR", "EXAMPLES_DIR", "PROJECT_ROOT"]

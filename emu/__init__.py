"""emu: an x86-64 machine with real 4-level paging and an OS memory layer.

    from emu import Machine
    m = Machine(ram_mib=1024)
    m.load(ASM_DIR / "os_mem_allocate.asm")
    m.call("os_mem_allocate", rcx=2)["rax"]

The names below are imported on first use (PEP 562), so importing one module of
the package (emu.errors, emu.paging: the kernel does) does not load the
machine, Unicorn or the kernel with it.
"""

from importlib import import_module
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASM_DIR = PROJECT_ROOT / "asm"
EXAMPLES_DIR = PROJECT_ROOT / "examples"

_LAZY = {"Machine": "machine", "Budget": "machine", "Traps": "machine",
         "EmuError": "errors", "UsageError": "errors", "AssemblyError": "errors",
         "GuestFault": "errors", "BudgetExceeded": "errors", "KernelPanic": "errors",
         "OutOfMemory": "errors", "UnmappedAccess": "errors"}

__all__ = [*_LAZY, "ASM_DIR", "EXAMPLES_DIR", "PROJECT_ROOT"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'emu' has no attribute '{name}'")
    return getattr(import_module(f".{_LAZY[name]}", __name__), name)

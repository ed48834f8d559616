"""The `syscall` instruction: how a system call reaches the kernel and returns.

    entry = SyscallEntry(uc, kernel, stop)  # kernel(regs) -> result, or None

On `syscall` the kernel gets the registers of the call, in SYSCALL_REGS order:

    (rax, rdi, rsi, rdx, r10, r8, r9, rip, rflags)      rip: the syscall itself

and returns the result, which the entry puts in rax with rcx = rip + 2 and
r11 = rflags (what the instruction and sysret leave a program), or None when
the call does not return now (the kernel stopped the CPU, or set the
registers itself). An exception from the kernel stops the CPU through
`stop(exc)` (a C callback cannot raise through Unicorn).

emu/native/syscall.c does this as a C hook (one register read and one write
through libunicorn's C API, one call into Python); the Python hook below is
its reference and the fallback when the library cannot be built, or when
EMU_NATIVE=0. Part of the machine layer: only the Machine makes one.
"""

from __future__ import annotations

import ctypes

from unicorn import UC_HOOK_INSN
from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib
from unicorn.x86_const import (UC_X86_INS_SYSCALL, UC_X86_REG_R8, UC_X86_REG_R9,
                               UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_RAX,
                               UC_X86_REG_RCX, UC_X86_REG_RDI, UC_X86_REG_RDX,
                               UC_X86_REG_RFLAGS, UC_X86_REG_RIP, UC_X86_REG_RSI)

from . import hostlib
from .paging import U64
from .register_batch import RegisterBatch

SYSCALL_REGS = ("rax", "rdi", "rsi", "rdx", "r10", "r8", "r9", "rip", "rflags")
SYSCALL_SIZE = 2                                    # 0f 05
_IN = (UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX, UC_X86_REG_R10,
       UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_RIP, UC_X86_REG_RFLAGS)
_OUT = (UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_R11)
_ENTER = ctypes.CFUNCTYPE(ctypes.c_int)
_U64s = ctypes.c_uint64


class _Entry(ctypes.Structure):
    """syscall.c's emu_syscall: keep the two in step."""
    _fields_ = [("uc", ctypes.c_void_p), ("reg_read_batch", ctypes.c_void_p),
                ("reg_write_batch", ctypes.c_void_p), ("enter", _ENTER),
                ("in_ids", ctypes.c_int * 9), ("in_", _U64s * 9), ("in_values", ctypes.c_void_p * 9),
                ("out_ids", ctypes.c_int * 3), ("out", _U64s * 3),
                ("out_values", ctypes.c_void_p * 3), ("status", _U64s),
                ("fast", ctypes.c_void_p), ("fast_data", ctypes.c_void_p)]


class SyscallEntry:
    """The hook on `syscall` for one Unicorn engine, handing each call to
    `kernel(regs)` (see the module docstring). `native` False, or no library,
    means the Python hook."""

    def __init__(self, uc, kernel, stop, native: bool = True, fast=None):
        self._kernel, self._stop = kernel, stop
        lib = hostlib.load("syscall") if native else None
        if lib is None:
            self._regs_in = RegisterBatch(uc._uch, list(_IN))
            self._regs_out = RegisterBatch(uc._uch, list(_OUT))
            uc.hook_add(UC_HOOK_INSN, self._on_syscall, None, 1, 0, UC_X86_INS_SYSCALL)
            self.native = False
            return
        self._entry = entry = _Entry()
        entry.uc = uc._uch
        entry.reg_read_batch = ctypes.cast(uclib.uc_reg_read_batch, ctypes.c_void_p)
        entry.reg_write_batch = ctypes.cast(uclib.uc_reg_write_batch, ctypes.c_void_p)
        entry.in_ids[:] = _IN
        entry.out_ids[:] = _OUT
        base = ctypes.addressof(entry)
        entry.in_values[:] = [base + _Entry.in_.offset + 8 * i for i in range(9)]
        entry.out_values[:] = [base + _Entry.out.offset + 8 * i for i in range(3)]
        entry.enter = self._enter = _ENTER(self._on_native_syscall)   # kept alive here
        if fast is not None:
            entry.fast, entry.fast_data = fast
        self._hook = uc_hook_h()
        status = uclib.uc_hook_add(uc._uch, ctypes.byref(self._hook), UC_HOOK_INSN,
                                   ctypes.cast(lib.emu_syscall_hook, ctypes.c_void_p),
                                   ctypes.byref(entry), ctypes.c_uint64(1), ctypes.c_uint64(0),
                                   ctypes.c_int(UC_X86_INS_SYSCALL))
        if status != 0:
            raise OSError(f"syscall entry: uc_hook_add failed ({status})")
        self.native = True

    def _on_native_syscall(self) -> int:
        entry = self._entry
        try:
            if entry.status:
                raise OSError(f"syscall entry: a register batch failed ({entry.status})")
            result = self._kernel(entry.in_[:])
        except BaseException as exc:            # noqa: BLE001 - handed to the machine's run()
            self._stop(exc)
            return 0
        if result is None:
            return 0
        entry.out[0] = result & U64
        return 1

    def _on_syscall(self, _uc, _data) -> None:
        try:
            regs = self._regs_in.read()
            result = self._kernel(regs)
            if result is not None:
                self._regs_out.write([result & U64, regs[7] + SYSCALL_SIZE, regs[8]])
        except BaseException as exc:            # noqa: BLE001 - handed to the machine's run()
            self._stop(exc)

"""Register batches: several 64-bit registers in one call into libunicorn.

    batch = RegisterBatch(uc_handle, [UC_X86_REG_RAX, UC_X86_REG_RDI])
    rax, rdi = batch.read()
    batch.write([0, 1])

The binding's own reg_read_batch/reg_write_batch build their C arrays on every
call; this is the system-call and fault paths' register access. Part of the
machine layer: only the Machine uses it, with its Unicorn handle.
"""

from __future__ import annotations

import ctypes

from unicorn.unicorn_py3.unicorn import uclib


class RegisterBatch:
    """Several 64-bit registers read or written in one uc_reg_read_batch /
    uc_reg_write_batch call, with the C arrays made once. The binding's own
    batch calls build them on every call (~2.5 us a register, measured: a
    third of a system call's cost); this is ~1 us for the call."""

    def __init__(self, engine, ids: list[int]):
        count = len(ids)
        self._engine, self._count = engine, count
        self._ids = (ctypes.c_int * count)(*ids)
        self._values = (ctypes.c_uint64 * count)()
        base = ctypes.addressof(self._values)
        self._pointers = (ctypes.c_void_p * count)(*(base + 8 * i for i in range(count)))

    def read(self) -> list[int]:
        status = uclib.uc_reg_read_batch(self._engine, self._ids, self._pointers, self._count)
        if status:
            raise OSError(f"uc_reg_read_batch failed ({status})")
        return self._values[:]

    def write(self, values) -> None:
        self._values[:] = values
        status = uclib.uc_reg_write_batch(self._engine, self._ids, self._pointers, self._count)
        if status:
            raise OSError(f"uc_reg_write_batch failed ({status})")

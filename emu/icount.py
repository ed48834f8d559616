"""Exact guest instruction counts: a code hook on every instruction, in C or Python.

    counter = machine.count_instructions(begin_at=a, end_at=b, capacity=n)
    ... run ...
    counter.count            # instructions since it was attached
    counter.spans()          # instructions from each `a` to the next `b`, in order
    machine.stop_counting(counter)

Unicorn counts instructions only through a hook called before each one. A
Python hook costs ~470x the plain run, so the counter is native: `native/icount.c`
is built once with the bundled zig (emu/hostlib.py, cached like guest
builds) and its function is given to libunicorn's `uc_hook_add` through
ctypes, with a ctypes struct as its data. Measured here it costs ~4x the plain
run. `PythonCounter` is the reference: the same logic as a Python hook, which
the tests hold the native counter to, and the fallback when no compiler can
build the library (`fallback_reason` says why).

This module is part of the machine layer: only the Machine calls it, with its
Unicorn object.
"""

from __future__ import annotations

import ctypes

from unicorn import UC_HOOK_CODE
from unicorn.unicorn_py3.unicorn import uclib

from . import hostlib

fallback_reason = ""            # why the last load fell back to Python ("" when native)


class _State(ctypes.Structure):
    """struct icount in native/icount.c, field for field."""
    _fields_ = [("count", ctypes.c_uint64), ("begin_at", ctypes.c_uint64),
                ("end_at", ctypes.c_uint64), ("opened", ctypes.c_uint64),
                ("spans", ctypes.POINTER(ctypes.c_uint64)), ("nspans", ctypes.c_uint64),
                ("capacity", ctypes.c_uint64)]


class NativeCounter:
    """The C hook on `uc`; spans go into a host array of `capacity` entries."""

    native = True

    def __init__(self, uc, library: ctypes.CDLL, begin_at: int, end_at: int, capacity: int):
        self._uc = uc
        self._room = (ctypes.c_uint64 * max(capacity, 1))()
        self._state = _State(0, begin_at, end_at, 0, self._room, 0, capacity)
        callback = ctypes.cast(library.icount_on_code, ctypes.c_void_p)
        self._handle = ctypes.c_size_t()
        status = uclib.uc_hook_add(uc._uch, ctypes.byref(self._handle), UC_HOOK_CODE, callback,
                                   ctypes.cast(ctypes.byref(self._state), ctypes.c_void_p), 1, 0)
        if status != 0:
            raise OSError(f"uc_hook_add: {uclib.uc_strerror(status).decode()}")

    @property
    def count(self) -> int:
        return self._state.count

    def spans(self) -> list[int]:
        return self._room[:self._state.nspans]

    def detach(self) -> None:
        """Remove the hook (idempotent)."""
        if self._handle is not None:
            uclib.uc_hook_del(self._uc._uch, self._handle)
            self._handle = None


class PythonCounter:
    """The reference: native/icount.c's icount_on_code as a Python hook."""

    native = False

    def __init__(self, uc, begin_at: int, end_at: int, capacity: int):
        self._uc = uc
        self.count = 0
        self._opened = 0
        self._spans: list[int] = []
        self._capacity = capacity
        self._begin_at, self._end_at = begin_at, end_at
        self._handle = uc.hook_add(UC_HOOK_CODE, self._on_code, None, 1, 0)

    def _on_code(self, _uc, address, _size, _data) -> None:
        self.count += 1
        if address == self._end_at and self._opened and len(self._spans) < self._capacity:
            self._spans.append(self.count - self._opened)
        if address == self._begin_at:
            self._opened = self.count

    def spans(self) -> list[int]:
        return list(self._spans)

    def detach(self) -> None:
        if self._handle is not None:
            self._uc.hook_del(self._handle)
            self._handle = None


def attach(uc, *, begin_at: int = 0, end_at: int = 0, capacity: int = 0,
           native: bool = True):
    """A counter hooked on every instruction of `uc` from now on (the caller
    flushes translated code). Native unless `native` is False or the library
    cannot be built (then Python, with `fallback_reason` set)."""
    library = load_library() if native else None
    if library is None:
        return PythonCounter(uc, begin_at, end_at, capacity)
    return NativeCounter(uc, library, begin_at, end_at, capacity)


def load_library() -> ctypes.CDLL | None:
    """The native counter (emu/hostlib.py builds it on first use); None, and
    `fallback_reason` set, when it cannot be built or loaded."""
    global fallback_reason
    library = hostlib.load("icount")
    fallback_reason = "" if library is not None else \
        f"the native instruction counter could not be built ({hostlib.failure('icount')})"
    return library

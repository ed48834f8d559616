"""Native callbacks: the MMU's TLB fill in C, called by Unicorn without Python.

    walker = NativeWalker.install(uc_handle, ram, code_map, refused)   # or None

emu/native.c is built once into a shared library with the clang inside the
ziglang package (`python -m ziglang cc -shared`), so no system compiler is
needed, and cached under $EMU_CACHE_DIR (or ~/.cache/emu) by a hash of the
source. Its emu_tlb_fill() is added as Unicorn's UC_HOOK_TLB_FILL callback
through the C API (libunicorn's uc_hook_add takes a C function pointer): a
present page costs a walk in C (~0.1 us) instead of ~2.4 us of Python, and
Python runs only for refused accesses, through `refused(vaddr, access, retry)`.

The Python walker in emu/mmu.py is the reference and the fallback: install()
returns None when the library cannot be built or loaded, or when EMU_NATIVE=0
asks for the Python walker. tests/integration/test_native_mmu.py checks that
both give the same translations, A/D bits, faults and fault counts.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from unicorn import UC_HOOK_TLB_FILL
from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

from .paging import (BAD_PHYSICAL, NO_EXECUTE, NON_CANONICAL, NOT_PRESENT, PAGE_4K,
                     READ_ONLY, SUPERVISOR)

SOURCE = Path(__file__).resolve().with_name("native.c")
BUILD_SECONDS = 300
# native.c's reason codes, in its enum's order
REASONS = (None, NOT_PRESENT, BAD_PHYSICAL, NON_CANONICAL, SUPERVISOR, READ_ONLY, NO_EXECUTE)
REFUSED_CFUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_int, ctypes.c_int)


class _TLB(ctypes.Structure):
    _fields_ = [("slots", ctypes.c_void_p), ("mask", ctypes.c_uint64),
                ("count", ctypes.c_uint64)]


class _State(ctypes.Structure):
    """native.c's emu_mmu: keep the two in step."""
    _fields_ = [("ram", ctypes.c_void_p), ("ram_size", ctypes.c_uint64),
                ("cr3", ctypes.c_uint64), ("user", ctypes.c_uint64),
                ("code_map", ctypes.c_void_p), ("code_count", ctypes.c_uint64),
                ("fills", ctypes.c_uint64), ("refills", ctypes.c_uint64),
                ("refused", REFUSED_CFUNC), ("reason", ctypes.c_uint64),
                ("leaf", ctypes.c_uint64), ("tlbs", _TLB * 2)]


def _library_path() -> Path:
    root = os.environ.get("EMU_CACHE_DIR") or Path.home() / ".cache" / "emu"
    digest = hashlib.sha256(SOURCE.read_bytes() + sys.platform.encode()).hexdigest()[:24]
    suffix = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
    return Path(root) / "native" / f"emu_native_{digest}{suffix}"


def _build(target: Path) -> bool:
    """Compile native.c into `target` (atomically: parallel builds may race)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, suffix=target.suffix)
    os.close(fd)
    command = [sys.executable, "-m", "ziglang", "cc", "-shared", "-O2", "-fPIC",
               "-o", partial, str(SOURCE)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=BUILD_SECONDS)
        if done.returncode != 0:
            return False
        os.replace(partial, target)
        return True
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


_loaded: list = []          # the library, once loaded (None when it cannot be)


def library():
    """native.c as a loaded library (built on first use), or None."""
    if _loaded:
        return _loaded[0]
    lib = None
    path = _library_path()
    if path.exists() or _build(path):
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:
            lib = None
    if lib is not None:
        state = ctypes.POINTER(_State)
        lib.emu_mmu_init.argtypes = [state]
        lib.emu_mmu_free.argtypes = [state]
        lib.emu_tlb_flush.argtypes = [state]
        lib.emu_tlb_invalidate.argtypes = [state, ctypes.c_uint64, ctypes.c_uint64]
        lib.emu_tlb_mark_code.argtypes = [state]
        lib.emu_tlb_count.argtypes = [state, ctypes.c_int]
        lib.emu_tlb_count.restype = ctypes.c_uint64
        lib.emu_translate.argtypes = [state, ctypes.c_uint64, ctypes.c_int,
                                      ctypes.POINTER(ctypes.c_uint64)]
    _loaded.append(lib)
    return lib


def wanted() -> bool:
    """False when EMU_NATIVE=0 asks for the Python walker."""
    return os.environ.get("EMU_NATIVE", "1") != "0"


class NativeWalker:
    """emu_tlb_fill installed on one Unicorn engine, with its software TLBs."""

    def __init__(self, lib, engine, ram, code_map: bytearray, refused):
        self._lib = lib
        self._state = state = _State()
        self._code_map = (ctypes.c_char * len(code_map)).from_buffer(code_map)
        state.ram, state.ram_size = ram.host_address, ram.size
        state.code_map = ctypes.addressof(self._code_map)
        self._refused = REFUSED_CFUNC(refused)        # kept alive with the walker
        state.refused = self._refused
        if not lib.emu_mmu_init(state):
            raise MemoryError("native TLB: no memory for its tables")
        self._ref = ctypes.byref(state)
        handle = uc_hook_h()
        status = uclib.uc_hook_add(engine, ctypes.byref(handle), UC_HOOK_TLB_FILL,
                                   ctypes.cast(lib.emu_tlb_fill, ctypes.c_void_p),
                                   ctypes.c_void_p(ctypes.addressof(state)),
                                   ctypes.c_uint64(1), ctypes.c_uint64(0))
        if status != 0:
            lib.emu_mmu_free(state)
            raise OSError(f"native TLB: uc_hook_add failed ({status})")

    @classmethod
    def install(cls, engine, ram, code_map: bytearray, refused) -> NativeWalker | None:
        """The native walker on `engine`, or None when it cannot be had (or
        EMU_NATIVE=0): the caller then installs the Python walker."""
        lib = library() if wanted() else None
        return None if lib is None else cls(lib, engine, ram, code_map, refused)

    def __del__(self):
        state = getattr(self, "_state", None)
        if state is not None:
            self._lib.emu_mmu_free(state)

    def load(self, cr3: int, user: bool) -> None:
        """The root and privilege the next fills walk with."""
        self._state.cr3, self._state.user = cr3, int(user)

    def flush(self) -> None:
        self._lib.emu_tlb_flush(self._ref)

    def invalidate(self, first: int, end: int) -> None:
        self._lib.emu_tlb_invalidate(self._ref, first, end)

    def mark_code(self) -> None:
        """Mark in the code map every page the TLBs can fetch from."""
        self._lib.emu_tlb_mark_code(self._ref)

    def cached(self, user: bool) -> int:
        """Translations in the software TLB of one privilege."""
        return self._lib.emu_tlb_count(self._ref, int(user))

    def translate(self, vaddr: int, access: int) -> tuple[int, int] | None:
        """The C walk alone (A/D set as a fill sets them, nothing cached):
        (physical page, perms), or None; refusal() then says why."""
        value = ctypes.c_uint64()
        if not self._lib.emu_translate(self._ref, vaddr, access, ctypes.byref(value)):
            return None
        return value.value & ~(PAGE_4K - 1), value.value & (PAGE_4K - 1)

    def refusal(self) -> tuple[str | None, int]:
        """(reason, leaf entry or 0) of the last walk that refused."""
        return REASONS[self._state.reason], self._state.leaf

    @property
    def counts(self) -> tuple[int, int]:
        """(walks, fills from the software TLB) since the machine booted."""
        return self._state.fills, self._state.refills


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

"""Private anonymous mmap and munmap in C: the mechanism (emu/native/anon_maps.c).

    maps = NativeAnonMaps(lib, state)          # one per NativeWalker
    maps.export(root, vmas, ...)               # the kernel's VMAs, each (start, end, anon, kind)
    maps.refresh(frames_available, data_room, file_span)
    ...the CPU runs; mmap and munmap of "[anon]" memory are made in C...
    if maps.changed:
        (lo, hi), calls = maps.take()          # where C changed VMAs, what it did
        vmas = maps.vmas_in(*maps.span(lo, hi))
    maps.invalidate()                          # the kernel changed VMAs: C declines
    maps.splice(lo, hi, vmas); maps.validate() # until they are swapped in

kernel/anon_maps.py is the policy: what is exported, when, and how the VMAs
and the calls come back into the Python kernel. The syscall entry offers
every call to `fast_syscall` (a C function pointer and its data) first.
"""

from __future__ import annotations

import ctypes
import struct


class _Vma(ctypes.Structure):
    """mmu.h's emu_vma."""
    _fields_ = [(name, ctypes.c_uint64) for name in ("start", "end", "anon", "kind")]


class _Call(ctypes.Structure):
    """mmu.h's emu_call."""
    _fields_ = [("number", ctypes.c_uint64), ("args", ctypes.c_uint64 * 6),
                ("result", ctypes.c_uint64)]


_CALL = struct.Struct("<8Q")                # an emu_call: number, six arguments, result


class _Space(ctypes.Structure):
    """mmu.h's emu_space: keep the two in step."""
    _fields_ = [("root", ctypes.c_uint64), ("valid", ctypes.c_uint64),
                ("changed", ctypes.c_uint64), ("dirty_lo", ctypes.c_uint64),
                ("dirty_hi", ctypes.c_uint64), ("vmas", ctypes.c_void_p),
                ("count", ctypes.c_uint64), ("cap", ctypes.c_uint64),
                ("next_anon", ctypes.c_uint64), ("available", ctypes.c_uint64),
                ("data_limited", ctypes.c_uint64), ("data_room", ctypes.c_int64),
                ("file_lo", ctypes.c_uint64), ("file_hi", ctypes.c_uint64),
                ("mmap_base", ctypes.c_uint64), ("mmap_min", ctypes.c_uint64),
                ("user_top", ctypes.c_uint64),
                ("calls", ctypes.c_void_p), ("call_count", ctypes.c_uint64),
                ("call_cap", ctypes.c_uint64), ("made", ctypes.c_uint64)]


class NativeAnonMaps:
    """The address space anon_maps.c works on: one at a time."""

    VMAS = 4096                 # VMAs an exported address space may have
    CALLS = 4096                # calls made in C between two imports

    def __init__(self, lib, state):
        self._lib = lib
        self._space = space = _Space()
        self._ref = ctypes.byref(space)
        words = ctypes.POINTER(ctypes.c_uint64)
        lib.emu_space_span.argtypes = [ctypes.POINTER(_Space), words, words]
        lib.emu_space_find.argtypes = [ctypes.POINTER(_Space), ctypes.c_uint64]
        lib.emu_space_find.restype = ctypes.c_uint64
        lib.emu_space_splice.argtypes = [ctypes.POINTER(_Space), ctypes.c_uint64,
                                         ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64]
        self._vmas = (_Vma * self.VMAS)()
        self._calls = (_Call * self.CALLS)()
        space.vmas, space.cap = ctypes.addressof(self._vmas), self.VMAS
        space.calls, space.call_cap = ctypes.addressof(self._calls), self.CALLS
        state.space = ctypes.addressof(space)
        self.owner = None       # whose export C holds (several runners may share a machine)
        self.fast_syscall = (ctypes.cast(lib.emu_fast_syscall, ctypes.c_void_p).value,
                             ctypes.addressof(state))

    @property
    def root(self) -> int:
        """The address space exported (its PML4), 0 for none."""
        return self._space.root

    @property
    def changed(self) -> bool:
        """True once C made a call (take() brings the changes back)."""
        return bool(self._space.changed)

    @property
    def made(self) -> int:
        """Calls made in C since the machine booted."""
        return self._space.made

    def export(self, root: int, vmas: list[tuple[int, int, int, int]], next_anon: int,
               file_span: tuple[int, int], layout: tuple[int, int, int]) -> bool:
        """Hand C the VMAs of `root`, each (start, end, anon_vma number or 0,
        kind: mmu.h's VMA_OTHER 0 or VMA_ANON 1), sorted; `next_anon` numbers the next anon_vma C gives;
        `layout` is (mmap base, mmap_min_addr, top of user memory). Set the
        frames and data left with refresh(). False (and nothing exported)
        when there are more VMAs than C holds."""
        space = self._space
        space.valid = space.root = 0
        if len(vmas) > self.VMAS:
            return False
        for slot, vma in zip(self._vmas, vmas):
            slot.start, slot.end, slot.anon, slot.kind = vma
        space.count, space.next_anon, space.changed, space.call_count = len(vmas), next_anon, 0, 0
        space.file_lo, space.file_hi = file_span
        space.mmap_base, space.mmap_min, space.user_top = layout
        space.root, space.valid = root, 1
        return True

    def refresh(self, available: int, data_room: int | None,
                file_span: tuple[int, int]) -> None:
        """Frames the allocator could hand out; bytes RLIMIT_DATA leaves
        (None for no limit; below 0 when the data is over it already); the
        pages that come back from the program's file, [lo, hi)."""
        space = self._space
        space.available, space.file_lo, space.file_hi = available, *file_span
        space.data_limited, space.data_room = data_room is not None, data_room or 0

    def clear(self) -> None:
        """Export nothing: C declines every call."""
        space = self._space
        space.valid = space.root = space.count = space.changed = space.call_count = 0
        self.owner = None

    def invalidate(self) -> None:
        """The kernel changed the VMAs: C declines until the next export."""
        self._space.valid = 0

    def validate(self) -> None:
        """The VMAs C holds are the kernel's again (after splice())."""
        self._space.valid = 1

    @property
    def next_anon(self) -> int:
        """The number the next anon_vma C gives gets."""
        return self._space.next_anon

    @next_anon.setter
    def next_anon(self, number: int) -> None:
        self._space.next_anon = number

    def take(self) -> tuple[tuple[int, int], list[tuple[int, tuple, int]]]:
        """Where C changed VMAs since the last take, [lo, hi), and the calls
        it made (number, the six arguments, result), oldest first; forgets
        both."""
        space = self._space
        raw = ctypes.string_at(self._calls, space.call_count * ctypes.sizeof(_Call))
        calls = [(c[0], c[1:7], c[7]) for c in _CALL.iter_unpack(raw)]
        dirty = space.dirty_lo, space.dirty_hi
        space.changed = space.call_count = 0
        return dirty, calls

    def span(self, lo: int, hi: int) -> tuple[int, int]:
        """[lo, hi) grown to hold the VMAs C has that share a byte with it."""
        low, high = ctypes.c_uint64(lo), ctypes.c_uint64(hi)
        self._lib.emu_space_span(self._ref, ctypes.byref(low), ctypes.byref(high))
        return low.value, high.value

    def vmas_in(self, lo: int, hi: int) -> list[tuple[int, int, int, int]]:
        """C's VMAs that share a byte with [lo, hi), as export() takes them."""
        found, vmas = [], self._vmas
        for i in range(self._lib.emu_space_find(self._ref, lo), self._space.count):
            v = vmas[i]
            if v.start >= hi:
                break
            found.append((v.start, v.end, v.anon, v.kind))
        return found

    def splice(self, lo: int, hi: int, vmas: list[tuple[int, int, int, int]]) -> bool:
        """Put `vmas` in place of C's VMAs that share a byte with [lo, hi)
        (which holds them all); False when C has no room for them."""
        image = (_Vma * max(len(vmas), 1))()
        for slot, vma in zip(image, vmas):
            slot.start, slot.end, slot.anon, slot.kind = vma
        return bool(self._lib.emu_space_splice(self._ref, lo, hi, image, len(vmas)))

"""The kernel's side of mmap and munmap made in C (emu/native/anon_maps.c).

A malloc that maps each large block makes an mmap and a munmap per block:
tens of thousands of calls, each ~50 us through this Python kernel. The C
library makes the commonest two forms itself (private anonymous read-write
memory, placed by the kernel; munmap of such memory) on an image of the
running process's VMAs, and this module keeps that image and the Python
kernel in step:

  * push(proc), before the CPU runs `proc` again (after every system call
    and fault Python handles, and before every slice), exports its VMAs
    when the image is another process's, swaps in the part the kernel
    changed since the last push, and sets the frames and RLIMIT_DATA room
    left; while C may not make calls (the assist may not map pages, or
    --strace is on) or the space has guard pages, nothing is exported and C
    declines every call;
  * pull(), at every kernel entry and after every slice, swaps the part of
    the image C changed into the VMA list and logs the calls C made, in
    order, as dispatch() would have;
  * changed(space, start, end): the kernel changed a VMA, a guard page or
    the file's pages in [start, end) of `space` (AddressSpace's layout
    hook): C declines until the next push swaps that part in.

Both swaps take a range grown until no VMA on either side crosses its ends
(_cover), so whole VMAs are swapped.

Only "[anon]" rw-p VMAs as mmap makes them go across as VMA_ANON (with their
anon_vma as a number); every other VMA goes as VMA_OTHER and comes back as
the same object. So what a program, the debugger and a grader see is what
the Python kernel alone gives: the same VMAs, anon_vmas, frames, page tables,
fault counts and system-call log (tests/fuzz/test_fuzz_walkers.py and
tests/integration/test_native_mmu.py hold the two to it).
"""

from __future__ import annotations

from emu.paging import PAGE_4K

from .address_space import MMAP_BASE, MMAP_MIN_ADDR, USER_TOP, AddressSpace
from .process import SyscallRecord
from .syscalls import TABLE
from .syscalls.mman import ANON_NAME, data_room
from .vma import PROT_READ, PROT_WRITE, VM_ACCOUNT, VMA, AnonVMA

VMA_OTHER, VMA_ANON = 0, 1            # emu/native/mmu.h's VMA kinds
_RW = PROT_READ | PROT_WRITE
_LAYOUT = (MMAP_BASE, MMAP_MIN_ADDR, USER_TOP)


class AnonMaps:
    """Exports address spaces to `hardware` (emu/native_anon.py's
    NativeAnonMaps) and brings back what C did to them."""

    ANONS = 1 << 16             # anon_vma numbers kept before a full export forgets the old

    def __init__(self, hardware, frames, may_call):
        self._hw = hardware
        self._frames = frames
        self._may_call = may_call          # callable: may C make calls now?
        self._proc = None                  # the process whose space is exported
        self._stale: tuple[int, int] | None = None   # what the kernel changed since
        self._others: dict[int, VMA] = {}  # start -> a VMA_OTHER as exported
        self._anons: dict[int, AnonVMA] = {}   # number -> anon_vma
        self._numbers: dict[int, int] = {}     # id(anon_vma) -> number
        self._made_seen = hardware.made        # calls_made() compares with it
        self._too_many = None                  # the process whose VMAs C cannot hold
        self._refreshed = -1                   # the frames' version C's counts are from

    def calls_made(self) -> bool:
        """Has C made a call since the last time this was asked?"""
        seen, self._made_seen = self._made_seen, self._hw.made
        return self._made_seen != seen

    def changed(self, space: AddressSpace, start: int, end: int) -> None:
        """The kernel changed what lies in [start, end) of `space`."""
        self._too_many = None
        if self._proc is not None and space is self._proc.aspace and self._hw.owner is self:
            self._hw.invalidate()
            if self._stale is not None:
                start, end = min(start, self._stale[0]), max(end, self._stale[1])
            self._stale = (start, end)

    # -- C to the kernel ---------------------------------------------------------------

    def pull(self) -> None:
        """Bring the VMAs C changed and the calls it made into the kernel."""
        if not self._hw.changed or self._hw.owner is not self:
            return
        (lo, hi), calls = self._hw.take()
        proc = self._proc
        if lo < hi:
            lo, hi = self._cover(proc.aspace, lo, hi)
            proc.aspace.vmas.splice(lo, hi, [self._vma(*v) for v in self._hw.vmas_in(lo, hi)])
        for number, args, result in calls:
            entry = TABLE[number]
            proc.log(SyscallRecord(number, entry.name, args[:len(entry.args)], result))

    def _vma(self, start: int, end: int, number: int, kind: int) -> VMA:
        if kind == VMA_OTHER:
            return self._others[start]
        anon = None
        if number:
            anon = self._anons.get(number)
            if anon is None:
                anon = self._anons[number] = AnonVMA()
                self._numbers[id(anon)] = number
        return VMA(start, end, _RW, ANON_NAME, None, start // PAGE_4K, VM_ACCOUNT, anon)

    def _cover(self, space: AddressSpace, lo: int, hi: int) -> tuple[int, int]:
        """[lo, hi) grown until every VMA either side has that shares a byte
        with it lies inside it: the range to swap whole."""
        while True:
            low, high = self._hw.span(lo, hi)
            for vma in space.vmas.overlapping(low, high):
                low, high = min(low, vma.start), max(high, vma.end)
            if (low, high) == (lo, hi):
                return lo, hi
            lo, hi = low, high

    # -- the kernel to C ---------------------------------------------------------------

    def push(self, proc, returning: bool = False) -> None:
        """Let C make calls for `proc` until the kernel next runs.
        `returning`: the kernel returns to `proc` from a call or fault (what
        may forbid C calls, --strace or watching the kernel, changes only
        between slices), so nothing is done when nothing C holds moved."""
        if returning and proc is self._proc and self._stale is None and \
                self._frames.version == self._refreshed and proc.data_limit is None and \
                self._hw.owner is self:
            return
        hw, space = self._hw, proc.aspace
        if not self._may_call() or space.guards or proc is self._too_many:
            if self._proc is not None:
                self._forget()
            return
        if proc is not self._proc or hw.owner is not self or hw.root != space.root or \
                len(self._anons) > self.ANONS:
            self._export(proc)
        elif self._stale is not None:
            self._update(space)
        elif self._frames.version == self._refreshed and proc.data_limit is None:
            return                          # nothing C counts has moved since
        if self._proc is not None:
            hw.refresh(self._frames.available(), data_room(proc), space.file_span)
            self._refreshed = self._frames.version

    def _forget(self) -> None:
        if self._hw.owner is self:
            self._hw.clear()
        self._proc, self._stale = None, None
        self._others, self._anons, self._numbers = {}, {}, {}

    def _image(self, space: AddressSpace, vma: VMA) -> tuple[int, int, int, int]:
        """How C holds `vma`: (start, end, anon_vma number, kind)."""
        lo, hi = space.file_span
        if vma.name == ANON_NAME and vma.prot == _RW and vma.flags == VM_ACCOUNT and \
                vma.shmem is None and vma.pgoff == vma.start // PAGE_4K and \
                not (lo < vma.end and vma.start < hi):
            number = 0
            if vma.anon is not None:
                number = self._numbers.get(id(vma.anon), 0)
                if not number:
                    number = self._hw.next_anon
                    self._hw.next_anon = number + 1
                    self._numbers[id(vma.anon)], self._anons[number] = number, vma.anon
            return vma.start, vma.end, number, VMA_ANON
        self._others[vma.start] = vma
        return vma.start, vma.end, 0, VMA_OTHER

    def _export(self, proc) -> None:
        """Everything afresh."""
        self._forget()
        space = proc.aspace
        self._hw.next_anon = 1
        image = [self._image(space, vma) for vma in space.vmas]
        if self._hw.export(space.root, image, self._hw.next_anon, space.file_span, _LAYOUT):
            self._proc, self._hw.owner = proc, self
        else:
            self._forget()
            self._too_many = proc           # until its VMAs change

    def _update(self, space: AddressSpace) -> None:
        """Swap in what the kernel changed."""
        (lo, hi), self._stale = self._stale, None
        if hi - lo > USER_TOP:                 # EVERYWHERE
            return self._export(self._proc)
        if lo < hi:
            lo, hi = self._cover(space, lo, hi)
            image = [self._image(space, vma) for vma in space.vmas.overlapping(lo, hi)]
            if not self._hw.splice(lo, hi, image):
                return self._export(self._proc)
        self._hw.validate()

"""A minimal raw-Unicorn runner for static x86-64 ELFs: the baseline for `make bench`.

Flat memory: the program's pages, a 1 GiB heap arena after them and a 1 GiB
arena for mmap are mapped read-write-execute at their virtual addresses once,
with uc.mem_map (QEMU commits host memory lazily); Unicorn's default TLB, no
page tables, no MMU hook, no demand paging, no VMAs. The same system calls as
the kernel, done as simply as possible: brk moves a pointer, mmap takes the
next range of its arena or one of that size munmap gave back (zeroed again), write
collects output. (Mapping page
by page instead makes Unicorn ten times slower than emu: every mem_map adds a
memory region and flushes translated code.)
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from unicorn import UC_ARCH_X86, UC_HOOK_INSN, UC_MODE_64, Uc
from unicorn.x86_const import (UC_X86_INS_SYSCALL, UC_X86_REG_FS_BASE, UC_X86_REG_R8,
                               UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_RAX, UC_X86_REG_RDI,
                               UC_X86_REG_RDX, UC_X86_REG_RSI, UC_X86_REG_RSP)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from emu.elf import read_elf  # noqa: E402

PAGE = 4096
STACK_TOP = 0x7FFF_FFFF_F000
STACK_SIZE = 8 << 20
MMAP_BASE = 0x7FFF_F7FF_F000
ARENA = 1 << 30
ENOSYS = 38


def _up(x: int) -> int:
    return (x + PAGE - 1) & ~(PAGE - 1)


class RawRunner:
    def __init__(self, path: str, argv: list[str]):
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_64)
        image = read_elf(path)
        low = min(seg.vaddr for seg in image.segments) & ~(PAGE - 1)
        self.brk = self.brk_start = _up(image.end)
        uc.mem_map(low, self.brk - low + ARENA)           # program, then the heap arena
        for seg in image.segments:
            uc.mem_write(seg.vaddr, seg.data)
        uc.mem_map(MMAP_BASE - ARENA, ARENA)
        self.mmap_next = MMAP_BASE
        self.unmapped: dict[int, list[int]] = {}       # size -> ranges munmap gave back
        self.out = bytearray()
        self.exit_code = None
        uc.mem_map(STACK_TOP - STACK_SIZE, STACK_SIZE)
        uc.reg_write(UC_X86_REG_RSP, self._stack(image, argv))
        self.entry = image.entry
        uc.hook_add(UC_HOOK_INSN, self._syscall, None, 1, 0, UC_X86_INS_SYSCALL)

    def _stack(self, image, argv) -> int:
        strings = b"".join(a.encode() + b"\0" for a in argv)
        base = STACK_TOP - len(strings) - 16
        self.uc.mem_write(base, strings + bytes(16))
        ptrs, at = [], base
        for a in argv:
            ptrs.append(at)
            at += len(a) + 1
        auxv = [3, image.phdr, 4, image.phent, 5, image.phnum, 6, PAGE, 9, image.entry,
                25, STACK_TOP - 16, 0, 0]
        words = [len(argv)] + ptrs + [0, 0] + auxv
        rsp = (base - 8 * len(words)) & ~0xF
        self.uc.mem_write(rsp, struct.pack(f"<{len(words)}Q", *words))
        return rsp

    def _syscall(self, uc, _data) -> None:
        nr, a, b, c, d, e, f = (uc.reg_read(r) for r in (
            UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
            UC_X86_REG_R10, UC_X86_REG_R8, UC_X86_REG_R9))
        uc.reg_write(UC_X86_REG_RAX, self._dispatch(nr, a, b, c, d) & ((1 << 64) - 1))

    def _dispatch(self, nr, a, b, c, d) -> int:
        uc = self.uc
        if nr == 12:                                    # brk
            if self.brk_start <= a <= self.brk_start + ARENA:
                self.brk = a
            return self.brk
        if nr == 9:                                     # mmap (anonymous)
            return self._take(_up(b))
        if nr == 11:                                    # munmap: keep it for reuse
            self.unmapped.setdefault(_up(b), []).append(a)
            return 0
        if nr == 25:                                    # mremap: always move
            new = self._take(_up(c))
            uc.mem_write(new, bytes(uc.mem_read(a, min(_up(b), _up(c)))))
            self.unmapped.setdefault(_up(b), []).append(a)
            return new
        if nr in (1, 20):                               # write, writev
            if nr == 1:
                self.out += uc.mem_read(b, c)
                return c
            total = 0
            for i in range(c):
                base, length = struct.unpack("<QQ", uc.mem_read(b + 16 * i, 16))
                self.out += uc.mem_read(base, length)
                total += length
            return total
        if nr == 158:                                   # arch_prctl(SET_FS)
            uc.reg_write(UC_X86_REG_FS_BASE, b)
            return 0
        if nr in (60, 231):                             # exit, exit_group
            self.exit_code = a & 0xFF
            uc.emu_stop()
            return 0
        if nr in (218, 28, 10, 13, 14, 273):            # accepted and ignored
            return 1000 if nr == 218 else 0
        if nr == 16:
            return -25                                  # ioctl: ENOTTY
        if nr in (39, 110):                             # getpid, getppid
            return 1
        return -ENOSYS

    def _take(self, size: int) -> int:
        """An arena range of `size` bytes, zeroed: one unmapped before with
        that size (musl's malloc maps and unmaps the same sizes over and
        over, more than the arena holds), else the next one down."""
        if self.unmapped.get(size):
            address = self.unmapped[size].pop()
            self.uc.mem_write(address, bytes(size))
            return address
        self.mmap_next -= size
        return self.mmap_next

    def run(self) -> tuple[int | None, bytes]:
        self.uc.emu_start(self.entry, 0)
        return self.exit_code, bytes(self.out)


def main(argv: list[str]) -> int:
    """`python bench/raw_runner.py ELF [ARGS]`: run it, print what it wrote."""
    code, out = RawRunner(argv[0], argv).run()
    sys.stdout.buffer.write(out)
    return code if code is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

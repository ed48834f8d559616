"""execve for this kernel: an Image becomes a process's address space and stack.

The pages of a segment that hold bytes from the file are mapped and filled up
front (a static binary is small); the rest of the segment (its bss), the heap,
mmap areas and the stack are demand-paged, as on Linux. The initial stack is the
System V x86-64 layout Linux builds, from the top down:

    STACK_TOP  ->  the program path (AT_EXECFN), environment and argument
                   strings, "x86_64" (AT_PLATFORM), 16 random bytes (AT_RANDOM)
                   ... padding to 16 bytes ...
                   auxv pairs, ending AT_NULL
                   envp[], NULL
                   argv[], NULL
    rsp        ->  argc
"""

from __future__ import annotations

import struct

from emu.paging import PAGE_4K, page_align_down, page_align_up, pages_in

from .address_space import STACK_LIMIT, STACK_TOP, AddressSpace
from .vma import PROT_READ, PROT_WRITE

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE = 0, 3, 4, 5, 6, 7
AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID = 8, 9, 11, 12, 13, 14
AT_PLATFORM, AT_HWCAP, AT_CLKTCK, AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN = \
    15, 16, 17, 23, 25, 26, 31
HWCAP_X86 = 0x078BFBFF          # what a plain x86-64 CPU reports in AT_HWCAP
UID = 1000


def map_image(aspace: AddressSpace, image) -> None:
    """Map every segment and fill the pages that hold file bytes; set the
    program break after the last segment.

    Segments sharing a page get the later segment's protection on it (each is
    mapped MAP_FIXED on Linux), and the page keeps both segments' bytes.
    """
    for seg in image.all_segments():
        start, end = page_align_down(seg.vaddr), page_align_up(seg.vaddr + seg.memsz)
        shared = aspace.vmas.overlapping(start, end)
        for vma in shared:
            lo, hi = max(vma.start, start), min(vma.end, end)
            aspace.protect(lo, hi, seg.prot)
        for lo, hi in _gaps(start, end, shared):
            aspace.add(lo, hi, seg.prot, seg.name or image.path)
        if seg.data:
            aspace.populate(seg.vaddr, seg.data)
    for seg in image.all_segments():
        for page in pages_in(seg.vaddr, len(seg.data)):
            aspace.keep_file_page(page, aspace.read(page, PAGE_4K))
    aspace.brk_start = aspace.brk = page_align_up(image.end)


def _gaps(start: int, end: int, taken) -> list[tuple[int, int]]:
    gaps, cursor = [], start
    for vma in sorted(taken, key=lambda v: v.start):
        if vma.start > cursor:
            gaps.append((cursor, min(vma.start, end)))
        cursor = max(cursor, vma.end)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def build_stack(aspace: AddressSpace, image, argv: list[str], envp: list[str],
                random_bytes: bytes) -> int:
    """Create the [stack] VMA and write argc/argv/envp/auxv; returns rsp."""
    aspace.add(STACK_TOP - STACK_LIMIT, STACK_TOP, PROT_READ | PROT_WRITE, "[stack]")
    strings = bytearray()
    top = STACK_TOP

    def put(data: bytes) -> int:
        nonlocal strings
        strings = bytearray(data) + strings
        return top - len(strings)

    execfn = put(image.path.encode() + b"\0")
    env_ptrs = [put(e.encode() + b"\0") for e in reversed(envp)][::-1]
    arg_ptrs = [put(a.encode() + b"\0") for a in reversed(argv)][::-1]
    platform = put(b"x86_64\0")
    random_at = put(random_bytes[:16])
    auxv = [(AT_PHDR, image.phdr), (AT_PHENT, image.phent), (AT_PHNUM, image.phnum),
            (AT_PAGESZ, PAGE_4K), (AT_BASE, 0), (AT_FLAGS, 0), (AT_ENTRY, image.entry),
            (AT_UID, UID), (AT_EUID, UID), (AT_GID, UID), (AT_EGID, UID), (AT_SECURE, 0),
            (AT_HWCAP, HWCAP_X86), (AT_HWCAP2, 0), (AT_CLKTCK, 100), (AT_RANDOM, random_at),
            (AT_PLATFORM, platform), (AT_EXECFN, execfn), (AT_NULL, 0)]
    words = [len(argv)] + arg_ptrs + [0] + env_ptrs + [0] + [x for pair in auxv for x in pair]
    table = struct.pack(f"<{len(words)}Q", *words)
    rsp = (top - len(strings) - len(table)) & ~0xF
    aspace.populate(rsp, table + bytes(top - len(strings) - rsp - len(table)) + bytes(strings))
    return rsp

"""The lab kinds: one checker plug-in per kind of lab, found by name here.

    pagewalk   page tables: a quiz, walk() in asm, map_page() in asm
    memmap     the os_MemoryMap routines in asm, against the kernel's model
    bomb       memory forensics with emu debug: answers about one's own run
    lazy       the page-fault handler in asm: lazy allocation, stack growth
    cow        the page-fault handler in asm: copy-on-write after the kernel's fork
    malloc     mm.c and its heap checker: traces, utilization, instructions

A new kind (the malloc lab, the kernel labs of issue 14) is a new module with
a LabKind subclass (see base.py) and one line in KINDS; lab.toml's `kind`
names it.
"""

from __future__ import annotations

from ...errors import UsageError
from .adbits import AdbitsKind
from .bomb import BombKind
from .cow import CowKind
from .lazy import LazyKind
from .malloc import MallocKind
from .memmap import MemmapKind
from .pagewalk import PagewalkKind

KINDS = {
    "pagewalk": PagewalkKind,
    "memmap": MemmapKind,
    "bomb": BombKind,
    "adbits": AdbitsKind,
    "lazy": LazyKind,
    "cow": CowKind,
    "malloc": MallocKind,
}


def kind_named(name: str):
    """A new instance of the lab kind `name`; UsageError for an unknown one."""
    kind = KINDS.get(name)
    if kind is None:
        raise UsageError(f"unknown lab kind '{name}' (known: {', '.join(sorted(KINDS))})")
    return kind()

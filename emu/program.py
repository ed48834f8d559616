"""Turning what the user names on the command line into an Image to run.

    FILE.asm   assembled by our front end, sections on their own pages at 0x400000
    FILE.c     compiled with the toolchain (runtime or musl flavour)
    anything   read as a static x86-64 ELF
"""

from __future__ import annotations

from pathlib import Path

from . import toolchain
from .assembler import assemble_file
from .elf import Image, image_from_program, read_elf
from .errors import UsageError

USER_BASE = 0x400000


def load_program(path, *, libc: str = "runtime", cc: str | None = None,
                 defines=(), extra_sources=()) -> Image:
    """The Image for `path` (UsageError, AssemblyError, CompileError, ELFLoadError)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.suffix == ".asm":
        program = assemble_file(path, base=USER_BASE, page_aligned=True)
        return image_from_program(program)
    if path.suffix == ".c":
        elf = toolchain.build([path, *extra_sources], libc=libc, cc=cc, defines=defines)
        image = read_elf(elf)
        image.path = str(path.resolve())
        return image
    return read_elf(path)

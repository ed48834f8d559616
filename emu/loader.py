"""Turning what the user names on the command line into an Image to run.

    FILE.asm   assembled by our front end, sections on their own pages at 0x400000
    FILE.c     compiled with the toolchain (runtime or musl flavour)
    anything   read as a static x86-64 ELF

A C program may be linked with asm files (`--link asm/allocators/bump.asm`):
our assembler makes no object files, so the asm is placed at ASM_LIBRARY_BASE
and the two are joined by address. First the asm is assembled with stand-in
values for its externs, to learn where its globals land; the C program is
linked with `--defsym global=address` for each; then the asm is assembled
again with its externs taken from the linked ELF's symbol table, and the
globals must not have moved.
"""

from __future__ import annotations

import time
from pathlib import Path

from .elf import Image, image_from_program, read_elf
from .errors import AssemblyError, BudgetExceeded, UsageError
from .userfiles import require_file

USER_BASE = 0x400000
ASM_LIBRARY_BASE = 0x4000_0000     # within +-2 GiB of the C code: calls reach it


def load_program(path, *, libc: str = "runtime", cc: str | None = None,
                 defines=(), extra_sources=(), link=(), seconds: float | None = None) -> Image:
    """The Image for `path` (UsageError, AssemblyError, CompileError, ELFLoadError).

    With `seconds`, building (compiling, assembling) must finish within that
    many seconds, else BudgetExceeded: a run's time budget covers its build."""
    started = time.monotonic()
    path = require_file(path)
    if link and path.suffix != ".c":
        raise UsageError(f"{path}: only a .c program can be linked with asm files")
    if path.suffix == ".asm":
        from .assembler import assemble_file     # keystone loads only for asm programs
        image = image_from_program(assemble_file(path, base=USER_BASE, page_aligned=True))
    elif path.suffix == ".c":
        image = _c_program(path, [Path(s) for s in extra_sources], [Path(a) for a in link],
                           libc=libc, cc=cc, defines=defines, seconds=seconds)
    else:
        image = read_elf(path)
    if seconds is not None and time.monotonic() - started > seconds:
        raise BudgetExceeded("time", seconds, None)
    return image


def _c_program(path: Path, extra: list[Path], link: list[Path], *, libc, cc, defines,
               seconds) -> Image:
    from . import toolchain        # only C needs it: `emu run ELF` starts without it
    if not link:
        image = read_elf(toolchain.build([path, *extra], libc=libc, cc=cc, defines=defines,
                                         seconds=seconds))
        image.path = str(path.resolve())
        return image
    if len(link) > 1:
        raise UsageError("link one asm file at a time (it may not call another)")
    from .assembler import assemble, declared_externs, read_source
    source, name = read_source(link[0]), str(link[0])
    stand_ins = {n: ASM_LIBRARY_BASE for n in declared_externs(source, name)}
    first = assemble(source, file=name, base=ASM_LIBRARY_BASE, symbols=stand_ins,
                     page_aligned=True)
    exported = {n: first.symbols[n] for n in first.globals if n in first.labels}
    image = read_elf(toolchain.build([path, *extra], libc=libc, cc=cc, defines=defines,
                                     defsyms=exported, keep=sorted(stand_ins), seconds=seconds))
    missing = sorted(set(stand_ins) - set(image.symbols))
    if missing:
        raise AssemblyError(f"extern '{missing[0]}' is not defined by {path.name}", name)
    final = assemble(source, file=name, base=ASM_LIBRARY_BASE,
                     symbols={n: image.symbols[n] for n in stand_ins}, page_aligned=True)
    if any(final.symbols[n] != a for n, a in exported.items()):
        raise AssemblyError("globals moved when the externs were filled in", name)
    library = image_from_program(final)
    image.extra_segments = library.segments
    image.libraries = [final]
    image.symbols.update(library.symbols)
    image.path = str(path.resolve())
    return image

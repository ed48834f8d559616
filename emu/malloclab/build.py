"""Building the lab program: the guest driver linked with an allocator.

    program = build_lab("implicit")           # a built-in name, a .c or an .asm file
    program.image, program.signatures, program.warnings, program.layout

A C allocator is compiled the way its handout's Makefile would, so a lone
mm.c that passes under the handout's mdriver builds unmodified:

  * -DDRIVER (CMU's mm.c renames malloc to mm_malloc under it), and the
    handout's mm.h and memlib.h on the include path (conventions.py);
  * the warnings of gcc's era kept warnings: zig's clang makes int-conversion,
    incompatible-pointer-types, implicit-function-declaration and implicit-int
    errors; they are shown, not fatal;
  * a static PIE, so the program and its heap lie above 4 GiB as on a 64-bit
    grader (asm/malloclab/pie.c): a pointer kept in an int fails here too.

An asm allocator is linked with the driver by address (emu/loader.py); it runs
in the classic layout, code and heap below 4 GiB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import ASM_DIR, EXAMPLES_DIR, toolchain
from ..elf import Image, read_elf
from ..errors import UsageError
from ..loader import load_program
from ..userfiles import read_user_text, require_file
from .conventions import CMU, handout_of, signatures_of
from .image import Signatures
from .layout import HeapLayout, find_layout

LAB_DIR = ASM_DIR / "malloclab"
DRIVER = LAB_DIR / "driver.c"
DRIVER_SOURCES = (DRIVER, LAB_DIR / "calls.c", LAB_DIR / "ranges.c", LAB_DIR / "pie.c")
LAB_INCLUDE = LAB_DIR / "include"
C_ALLOCATORS = ("bump", "firstfit", "implicit", "explicit", "segregated", "buddy")
ASM_ALLOCATORS = ("bump-asm", "firstfit-asm")
BUILTIN = tuple(C_ALLOCATORS) + ASM_ALLOCATORS
LAB_DEFINES = ("DRIVER", "MM_LIBRARY")
ERA_WARNINGS = ("-Wno-error=int-conversion", "-Wno-error=incompatible-pointer-types",
                "-Wno-error=implicit-function-declaration", "-Wno-error=implicit-int")


@dataclass
class LabProgram:
    """The driver and one allocator, built."""
    name: str                       # the built-in name or the file's stem
    image: Image
    signatures: Signatures          # how mm_init / mm_checkheap / mm_calloc are declared
    handout: str                    # conventions.CSAPP or CMU ("" for asm)
    warnings: str = ""              # what the compiler said
    layout: HeapLayout | None = None   # a declared block format, for the detailed heap view

    @property
    def knows_layout(self) -> bool:
        """Whether the heap can be walked block by block: a project allocator
        (emu/heap.py has its walker) or a declared layout."""
        return self.layout is not None or self.name in BUILTIN


def builtin_path(name: str) -> Path:
    if name in C_ALLOCATORS:
        return EXAMPLES_DIR / "allocators" / f"{name}.c"
    return ASM_DIR / "allocators" / f"{name.removesuffix('-asm')}.asm"


def allocator_path(spec: str) -> Path:
    """ALLOCATOR as the CLI takes it: a built-in name, a .c file or an .asm file."""
    path = builtin_path(spec) if spec in BUILTIN else Path(spec)
    try:
        require_file(path)
    except UsageError as exc:
        raise UsageError(f"allocator {exc}, and not one of {', '.join(BUILTIN)}") from None
    if path.suffix not in (".c", ".asm"):
        raise UsageError(f"allocator '{spec}': expected a .c or .asm file")
    return path


def lab_flags(cc: str | None, handout: str) -> list[str]:
    """What a C allocator's build adds to the toolchain's flags."""
    flags = toolchain.static_pie_flags(cc) + ["-DLAB_PIE", "-I", str(LAB_INCLUDE), *ERA_WARNINGS]
    if handout == CMU:
        flags.append("-DEMU_HANDOUT_CMU")
    return flags


def build_lab(spec: str, *, cc: str | None = None, layout_file=None) -> LabProgram:
    """Build the lab program for ALLOCATOR `spec` (UsageError, CompileError,
    AssemblyError); `layout_file` overrides the NAME.layout.toml beside it."""
    path = allocator_path(spec)
    name = spec if spec in BUILTIN else path.stem
    layout = find_layout(path, layout_file)
    if path.suffix == ".asm":
        image = load_program(DRIVER, cc=cc, extra_sources=DRIVER_SOURCES[1:], link=[path],
                             defines=["DRIVER"])
        return LabProgram(name, image, signatures_of(image.elf_path), "", "", layout)
    handout = handout_of(read_user_text(path))
    executable = toolchain.build([DRIVER, *DRIVER_SOURCES[1:], path], cc=cc,
                                 defines=LAB_DEFINES, flags=lab_flags(cc, handout))
    image = read_elf(executable)
    image.path = str(path.resolve())
    return LabProgram(name, image, signatures_of(str(executable)), handout,
                      _allocator_warnings(toolchain.warnings_of(executable), path), layout)


def _allocator_warnings(text: str, path: Path) -> str:
    """The compiler's warnings about the allocator (not about the driver)."""
    keep, taking = [], False
    for line in text.splitlines():
        if ": warning: " in line or ": error: " in line or ": note: " in line:
            taking = path.name in line.split(":", 1)[0]
        if taking:
            keep.append(line)
    return "\n".join(keep)

"""The same driver and allocator built natively with gcc, for comparison.

    binary = build_native("mm.c", workdir)                 # None without gcc
    result = run_native(binary, trace, Settings(align=8), signatures, workdir)
    result.util, result.status, result.timing_ns

What runs in emu should score what it scores natively: the tests hold every
handout fixture's utilization to its native run, and `make bench` compares
host time per op. The native build is the lab build with gcc: -DLAB_NATIVE
(the driver reads the packed trace from a file and prints its results),
-DDRIVER and the handout's mm.h, and asm/malloclab/native_memlib.c, a CS:APP
memlib over one mmap'd region, so printf's malloc never shares the heap.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import CompileError
from ..toolchain import RUNTIME
from ..userfiles import read_user_text
from .build import DRIVER_SOURCES, ERA_WARNINGS, LAB_DEFINES, LAB_DIR, LAB_INCLUDE, allocator_path
from .conventions import CMU, handout_of
from .image import STATUS_OK, Settings, Signatures, pack
from .traces import Trace

NATIVE_MEMLIB = LAB_DIR / "native_memlib.c"
RUN_SECONDS = 600


@dataclass
class NativeResult:
    status: int                   # the driver's (1: every check passed), or -signal
    failed_op: int
    peak_payload: int
    peak_footprint: int
    timing_ns: int
    output: str = ""

    @property
    def valid(self) -> bool:
        return self.status == STATUS_OK

    @property
    def util(self) -> float:
        return self.peak_payload / self.peak_footprint if self.peak_footprint else 0.0


def build_native(spec: str, workdir: Path, heap_limit: int = 20 << 20) -> Path | None:
    """The native lab program for ALLOCATOR `spec` (a .c file or built-in C
    name), or None when gcc is not installed. CompileError when gcc refuses."""
    if shutil.which("gcc") is None:
        return None
    path = allocator_path(spec)
    flags = [f"-D{d}" for d in LAB_DEFINES] + ["-DLAB_NATIVE", f"-DMAX_HEAP={heap_limit}"]
    if handout_of(read_user_text(path)) == CMU:
        flags.append("-DEMU_HANDOUT_CMU")
    binary = Path(workdir) / f"{path.stem}-native"
    command = ["gcc", "-O2", "-g", *flags, *ERA_WARNINGS, "-I", str(LAB_INCLUDE),
               "-I", str(RUNTIME), *map(str, DRIVER_SOURCES), str(NATIVE_MEMLIB), str(path),
               "-lm", "-o", str(binary)]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CompileError(proc.stderr.rstrip() or f"gcc failed (status {proc.returncode})")
    return binary


def run_native(binary: Path, trace: Trace, settings: Settings, signatures: Signatures,
               workdir: Path) -> NativeResult:
    """Replay `trace` with the native program (checks, then timing)."""
    packed = Path(workdir) / f"{trace.name}.lab"
    packed.write_bytes(pack(trace, Settings(align=settings.align,
                                            check_heap=settings.check_heap), signatures))
    proc = subprocess.run([str(binary), f"@{packed}"], capture_output=True, text=True,
                          timeout=RUN_SECONDS)
    words = proc.stdout.split()[-5:]
    if proc.returncode != 0 or len(words) != 5:
        return NativeResult(proc.returncode if proc.returncode < 0 else 2, 0, 0, 0, 0,
                            proc.stdout + proc.stderr)
    return NativeResult(*map(int, words), output=proc.stdout)

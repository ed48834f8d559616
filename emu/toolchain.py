"""Compiling C for the guest: static x86-64 Linux executables, cached.

The compiler is the clang inside the `ziglang` PyPI package
(`python -m ziglang cc -target x86_64-linux-musl`), so nothing but Python is
needed; --cc picks another (gcc, clang, a path). Two flavours:

  runtime  freestanding, with our small runtime (asm/runtime: _start, syscall
           stubs, write/exit/sbrk/mmap, string functions, printf). Fast to build.
  musl     the real musl libc. zig builds musl itself the first time
           (~40 s, then cached in zig's own cache).

Both get asm/runtime/memlib.c (mem_sbrk and friends over brk). Builds are
cached by a hash of the command and every input's bytes, under
$EMU_CACHE_DIR or ~/.cache/emu. A compiler error is a CompileError carrying
the compiler's own diagnostics.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from . import ASM_DIR
from .errors import CompileError, UsageError

RUNTIME = ASM_DIR / "runtime"
FLAVOURS = ("runtime", "musl")
COMMON_FLAGS = ["-O2", "-g", "-static", "-fno-omit-frame-pointer", "-I", str(RUNTIME)]
RUNTIME_FLAGS = ["-ffreestanding", "-nostdlib", "-fno-stack-protector",
                 "-I", str(RUNTIME / "include")]
RUNTIME_SOURCES = [RUNTIME / "start.S", RUNTIME / "libc.c"]
COMPILE_TIMEOUT = 900


def cache_dir() -> Path:
    root = os.environ.get("EMU_CACHE_DIR") or Path.home() / ".cache" / "emu"
    return Path(root) / "builds"


def compiler(cc: str | None) -> list[str]:
    """The compiler command: --cc split like a shell would, or zig's clang."""
    if cc:
        return shlex.split(cc)
    return [sys.executable, "-m", "ziglang", "cc"]


def _is_zig(command: list[str]) -> bool:
    return "ziglang" in command or Path(command[0]).name.startswith("zig")


def command_for(sources: list[Path], *, libc: str, cc: str | None, defines=(),
                defsyms: dict[str, int] | None = None) -> list[str]:
    """The full compile-and-link command (without -o)."""
    if libc not in FLAVOURS:
        raise UsageError(f"--libc must be one of {', '.join(FLAVOURS)}, got '{libc}'")
    command = compiler(cc)
    if _is_zig(command):
        command += ["-target", "x86_64-linux-musl"]
    command += COMMON_FLAGS + [f"-D{d}" for d in defines]
    if libc == "runtime":
        command += RUNTIME_FLAGS
    for name, address in sorted((defsyms or {}).items()):
        command.append(f"-Wl,--defsym={name}={address:#x}")
    inputs = list(sources) + [RUNTIME / "memlib.c"]
    if libc == "runtime":
        inputs += RUNTIME_SOURCES
    return command + [str(p) for p in inputs]


def build(sources, *, libc: str = "runtime", cc: str | None = None, defines=(),
          defsyms: dict[str, int] | None = None) -> Path:
    """Compile and link `sources` into a static executable; returns its path."""
    sources = [Path(s) for s in sources]
    for source in sources:
        if not source.is_file():
            raise UsageError(f"{source}: no such file")
    command = command_for(sources, libc=libc, cc=cc, defines=defines, defsyms=defsyms)
    out = cache_dir() / _key(command) / sources[0].stem
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        partial = Path(tmp) / out.name
        _run(command + ["-o", str(partial)], sources[0])
        os.replace(partial, out)
    return out


def _run(command: list[str], main_source: Path) -> None:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT,
                              cwd=main_source.parent)
    except FileNotFoundError:
        raise UsageError(f"compiler not found: {command[0]}") from None
    except subprocess.TimeoutExpired:
        raise CompileError(f"{main_source}: the compiler ran for over {COMPILE_TIMEOUT} s") from None
    if proc.returncode != 0:
        raise CompileError((proc.stderr or proc.stdout).rstrip() or
                           f"{main_source}: the compiler failed (status {proc.returncode})")


def _key(command: list[str]) -> str:
    """A hash of the command and the bytes of every file it reads."""
    digest = hashlib.sha256()
    for part in command:
        digest.update(part.encode() + b"\0")
        path = Path(part)
        if path.suffix in (".c", ".S", ".s", ".h") and path.is_file():
            digest.update(path.read_bytes())
    for header in sorted(RUNTIME.rglob("*.h")):
        digest.update(header.read_bytes())
    return digest.hexdigest()[:24]

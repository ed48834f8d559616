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
import sys
from pathlib import Path

from . import ASM_DIR
from .errors import BudgetExceeded, CompileError, UsageError
from .userfiles import require_file

RUNTIME = ASM_DIR / "runtime"
FLAVOURS = ("runtime", "musl")
COMMON_FLAGS = ["-O2", "-g", "-static", "-fno-omit-frame-pointer", "-I", str(RUNTIME)]
RUNTIME_FLAGS = ["-ffreestanding", "-nostdlib", "-fno-stack-protector",
                 "-I", str(RUNTIME / "include")]
RUNTIME_SOURCES = [RUNTIME / "start.S", RUNTIME / "libc.c", RUNTIME / "math.c"]
COMPILE_TIMEOUT = 900


def cache_dir() -> Path:
    root = os.environ.get("EMU_CACHE_DIR") or Path.home() / ".cache" / "emu"
    return Path(root) / "builds"


def compiler(cc: str | None) -> list[str]:
    """The compiler command: --cc split like a shell would, or zig's clang."""
    if cc:
        import shlex
        return shlex.split(cc)
    return [sys.executable, "-m", "ziglang", "cc"]


def static_pie_flags(cc: str | None) -> list[str]:
    """Flags that make a static PIE (loaded at 0x555555554000, like Linux
    without randomisation): zig's clang makes one from -fPIE and -static,
    gcc and clang want -static-pie as well."""
    return ["-fPIE"] if _is_zig(compiler(cc)) else ["-fPIE", "-static-pie"]


def _is_zig(command: list[str]) -> bool:
    return "ziglang" in command or Path(command[0]).name.startswith("zig")


def command_for(sources: list[Path], *, libc: str, cc: str | None, defines=(),
                defsyms: dict[str, int] | None = None, keep=(), flags=()) -> list[str]:
    """The full compile-and-link command (without -o). `defsyms` become absolute
    symbols (an asm library's entry points); `keep` names functions the linker
    must keep although no C code calls them (what the asm library calls);
    `flags` go after ours (the malloc lab's include path, PIE, warnings)."""
    if libc not in FLAVOURS:
        raise UsageError(f"--libc must be one of {', '.join(FLAVOURS)}, got '{libc}'")
    command = compiler(cc)
    if _is_zig(command):
        command += ["-target", "x86_64-linux-musl"]
    command += COMMON_FLAGS + [f"-D{d}" for d in defines]
    if libc == "runtime":
        command += RUNTIME_FLAGS
    command += list(flags)
    inputs = list(sources) + [RUNTIME / "memlib.c"]
    if defsyms or keep:
        inputs.append(_absolute_symbols(defsyms or {}, keep))
    if libc == "runtime":
        inputs += RUNTIME_SOURCES
    return command + [str(p) for p in inputs]


def build(sources, *, libc: str = "runtime", cc: str | None = None, defines=(),
          defsyms: dict[str, int] | None = None, keep=(), flags=(),
          seconds: float | None = None) -> Path:
    """Compile and link `sources` into a static executable; returns its path.
    A compiler that runs longer than `seconds` (default COMPILE_TIMEOUT) is
    stopped: BudgetExceeded when `seconds` was given, else CompileError. What
    the compiler said on success is kept beside it: warnings_of(path)."""
    sources = [require_file(s).resolve() for s in sources]
    command = command_for(sources, libc=libc, cc=cc, defines=defines, defsyms=defsyms,
                          keep=keep, flags=flags)
    return _cached(command, sources[0], sources[0].stem, seconds)


def _cached(command: list[str], main_source: Path, name: str, seconds: float | None) -> Path:
    """The output of `command -o OUT`, built once per hash of the command and
    its inputs (see _key), written whole or not at all; what the compiler said
    is kept beside it (warnings_of)."""
    out = cache_dir() / _key(command) / name
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    import tempfile
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        partial = Path(tmp) / out.name
        said = _run(command + ["-o", str(partial)], main_source, seconds)
        _warnings_file(partial).write_text(said)
        os.replace(_warnings_file(partial), _warnings_file(out))
        os.replace(partial, out)
    return out


KERNEL_FLAGS = ["-ffreestanding", "-nostdlib", "-fno-pic", "-fno-pie", "-mcmodel=kernel",
                "-mno-red-zone", "-fno-stack-protector", "-O2", "-g", "-static",
                "-I", str(ASM_DIR / "kernel"), "-Wl,--no-gc-sections", "-Wl,-e,0"]


def build_kernel(sources, base: int, defsyms: dict[str, int], cc: str | None = None) -> Path:
    """Compile freestanding C for the kernel half, linked to start at virtual
    `base` (-mcmodel=kernel: the top 2 GiB), with `defsyms` as absolute symbols
    (the kernel services). Returns the ELF's path (cached like build())."""
    sources = [require_file(s).resolve() for s in sources]
    command = compiler(cc)
    if _is_zig(command):
        command += ["-target", "x86_64-freestanding"]
    command += KERNEL_FLAGS + ["-Wl,-T," + str(_kernel_script(base))]
    command += [str(p) for p in sources] + [str(_absolute_symbols(defsyms, ()))]
    return _cached(command, sources[0], sources[0].stem + ".kernel", None)


def _kernel_script(base: int) -> Path:
    """A linker script putting every section one after the other from `base`."""
    text = (f"/* generated by emu.toolchain: a --kernel file at {base:#x} */\n"
            f"SECTIONS {{\n  . = {base:#x};\n  .text : {{ *(.text .text.*) }}\n"
            "  .rodata : { *(.rodata .rodata.*) }\n  .data : { *(.data .data.*) }\n"
            "  .bss : { *(.bss .bss.* COMMON) }\n}\n")
    path = cache_dir() / "kernel-scripts" / f"{base:x}.ld"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def warnings_of(executable: Path) -> str:
    """The compiler's warnings when it built `executable` ('' for none)."""
    path = _warnings_file(Path(executable))
    return path.read_text() if path.is_file() else ""


def _warnings_file(executable: Path) -> Path:
    return executable.with_name(executable.name + ".warnings")


def _run(command: list[str], main_source: Path, seconds: float | None) -> str:
    """Run the compiler; returns what it printed (warnings) when it succeeds."""
    import subprocess
    try:
        proc = subprocess.run(command, capture_output=True, text=True,
                              timeout=seconds or COMPILE_TIMEOUT, cwd=main_source.parent)
    except FileNotFoundError:
        raise UsageError(f"compiler not found: {command[0]}") from None
    except subprocess.TimeoutExpired:
        if seconds is not None:
            raise BudgetExceeded("time", seconds, None) from None
        raise CompileError(f"{main_source}: the compiler ran for over {COMPILE_TIMEOUT} s") from None
    if proc.returncode != 0:
        raise CompileError((proc.stderr or proc.stdout).rstrip() or
                           f"{main_source}: the compiler failed (status {proc.returncode})")
    return (proc.stderr or proc.stdout).rstrip()


def _absolute_symbols(defsyms: dict[str, int], keep) -> Path:
    """An assembly file defining each name as an absolute address (what the
    linker's --defsym does; zig's linker does not take --defsym), and holding
    a retained reference to each name in `keep` so --gc-sections keeps it."""
    lines = ["/* generated by emu.toolchain: symbols of an asm library placed by address */"]
    for name, address in sorted(defsyms.items()):
        lines += [f".globl {name}", f".set {name}, {address:#x}"]
    if keep:
        lines.append('.section .data.emu_keep, "awR", @progbits')
        lines += [f".quad {name}" for name in sorted(keep)]
    lines.append('.section .note.GNU-stack, "", @progbits')
    text = "\n".join(lines) + "\n"
    path = cache_dir() / "defsyms" / (hashlib.sha256(text.encode()).hexdigest()[:16] + ".S")
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def _key(command: list[str]) -> str:
    """A hash of the command and the bytes of every file it may read: the
    sources, and the headers beside them, in the runtime and in every folder
    on the include path (`#include "mm.h"` finds those), so editing a header
    rebuilds. A source's own folder is read one level deep: a student's mm.c
    may sit in a home directory."""
    digest = hashlib.sha256()
    include_path, beside = {RUNTIME}, set()
    for part in command:
        digest.update(part.encode() + b"\0")
        path = Path(part)
        if path.suffix in (".c", ".S", ".s", ".h") and path.is_file():
            digest.update(path.read_bytes())
            beside.add(path.resolve().parent)
        elif path.is_absolute() and path.is_dir():
            include_path.add(path)
    headers = [h for folder in include_path for h in folder.rglob("*.h")]
    headers += [h for folder in beside - include_path for h in folder.glob("*.h")]
    for header in sorted(set(headers)):
        digest.update(str(header).encode() + header.read_bytes())
    return digest.hexdigest()[:24]

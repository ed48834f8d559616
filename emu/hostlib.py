"""Host libraries: the C in emu/native/, built with the bundled zig and cached.

    library = hostlib.load("mmu")          # emu/native/mmu.c, or None
    hostlib.failure("mmu")                 # why it is None ("" when loaded)

Hot callbacks (the TLB fill, the instruction counter) are C functions given to
libunicorn's uc_hook_add through ctypes. Each library in emu/native/ (one
source, or the several SOURCES names, with the headers there) is compiled
once into a shared library with the clang inside the ziglang package
(`python -m ziglang cc -shared`), so no system compiler is needed, and cached
under the build cache (toolchain.cache_dir(), $EMU_CACHE_DIR) by a hash of its
bytes and the platform; a fresh `pip install -e .` builds on first use.

Every library has a Python reference beside it, which is also the fallback:
load() returns None, and failure() says why, when the compiler is missing or
fails, or when EMU_NATIVE=0 asks for the Python references everywhere. A
failure is remembered for the life of the process, so a machine without a
compiler does not try again for each new Machine.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
from pathlib import Path

from .toolchain import cache_dir

SOURCES = Path(__file__).resolve().parent / "native"
BUILD_SECONDS = 300
SUFFIX = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
# libraries of more than one source: the rest share mmu.h with the first
SOURCES_OF = {"mmu": ("mmu.c", "anon_maps.c")}
_loaded: dict[str, ctypes.CDLL | None] = {}
_failures: dict[str, str] = {}


def wanted() -> bool:
    """False when EMU_NATIVE=0 asks for the Python references."""
    return os.environ.get("EMU_NATIVE", "1") != "0"


def load(name: str) -> ctypes.CDLL | None:
    """emu/native/`name`.c as a loaded library, built on first use; None when
    it cannot be built or loaded, or native code is switched off (failure()
    then says why)."""
    if not wanted():
        _failures[name] = "EMU_NATIVE=0"
        return None
    if name in _loaded:
        return _loaded[name]
    try:
        files = SOURCES_OF.get(name, (f"{name}.c",))
        library = ctypes.CDLL(str(_build([SOURCES / file for file in files])))
        _failures.pop(name, None)
    except OSError as exc:
        library = None
        _failures[name] = str(exc)
    _loaded[name] = library
    return library


def failure(name: str) -> str:
    """Why load(name) last returned None ('' when it loaded)."""
    return _failures.get(name, "")


def _build(sources: list[Path]) -> Path:
    """`sources` as one host shared library, cached by their bytes and those
    of the headers beside them; written whole or not at all (parallel builds
    may race). OSError when zig fails."""
    headers = sorted(sources[0].parent.glob("*.h"))
    text = b"".join(path.read_bytes() for path in [*sources, *headers])
    key = hashlib.sha256(text + sys.platform.encode()).hexdigest()[:16]
    out = cache_dir() / "native" / f"{sources[0].stem}-{key}{SUFFIX}"
    if out.is_file():
        return out
    import subprocess        # only a first build needs these: start-up stays light
    import tempfile
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=out.parent, suffix=SUFFIX)
    os.close(fd)
    command = [sys.executable, "-m", "ziglang", "cc", "-shared", "-fPIC", "-O2",
               *map(str, sources), "-o", partial]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_SECONDS)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise OSError(lines[-1] if lines else f"zig cc failed (status {proc.returncode})")
        os.replace(partial, out)
    except subprocess.SubprocessError as exc:
        raise OSError(f"zig cc: {exc}") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return out

"""Install keystone-engine 0.9.2 into this Python, building it from source where
PyPI has no wheel for the platform.

    .venv/bin/python tools/keystone_wheel.py     (the Makefile runs it before pip install -e)

keystone-engine 0.9.2 (2020, its last release) ships wheels only for x86-64
Linux, x86-64 macOS and Windows. On Apple Silicon Macs and aarch64 Linux pip
falls back to the source archive, whose build needs CMake older than 4 and a
C++ compiler, and fails with CMake 4. This builds that archive with PyPI
packages only: cmake<4, and the clang inside the ziglang package (already an
emu dependency) as C and C++ compiler (and as ar/ranlib if there is none),
given to CMake as a toolchain file (CMAKE_TOOLCHAIN_FILE, CMake >= 3.21).
The wheel is kept in KEYSTONE_WHEELS (default ~/.cache/emu/wheels/<platform>),
so it is built once per machine.

    EMU_KEYSTONE_FROM_SOURCE=1    build from source even where a wheel exists
                                  (how this path is tested on x86-64 Linux)

Exit status 0 when keystone-engine 0.9.2 is installed, else pip's status.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from importlib import metadata
from pathlib import Path

PACKAGE, VERSION = "keystone-engine", "0.9.2"
BUILD_TOOLS = ["cmake<4", "ziglang", "setuptools", "wheel"]


def pip(*args: str, quiet: bool = True) -> int:
    command = [sys.executable, "-m", "pip", *(["-q"] if quiet else []), *args]
    return subprocess.call(command)


def installed() -> bool:
    try:
        return metadata.version(PACKAGE) == VERSION
    except metadata.PackageNotFoundError:
        return False


def cache_dir() -> Path:
    """Wheels built here, per platform and Python (the wheel's own tags may not say)."""
    root = os.environ.get("KEYSTONE_WHEELS") or \
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emu" / "wheels"
    tag = f"{sysconfig.get_platform()}-py{sys.version_info.major}{sys.version_info.minor}"
    return Path(root) / tag


def wrapper(directory: Path, tool: str) -> str:
    """A program `zig-<tool>` that runs `python -m ziglang <tool>`."""
    python = sys.executable
    if os.name == "nt":
        path = directory / f"zig-{tool}.cmd"
        path.write_text(f'@"{python}" -m ziglang {tool} %*\r\n')
    else:
        path = directory / f"zig-{tool}"
        path.write_text(f'#!/bin/sh\nexec "{python}" -m ziglang {tool} "$@"\n')
        path.chmod(0o755)
    return path.as_posix()


def toolchain(directory: Path) -> Path:
    """A CMake toolchain file: zig's clang as C and C++ compiler (and ar/ranlib
    where the system has none), and this Python for LLVM's FindPythonInterp,
    which otherwise may pick a broken python2.7 (a pyenv shim did, here)."""
    lines = [f'set(CMAKE_C_COMPILER "{wrapper(directory, "cc")}")',
             f'set(CMAKE_CXX_COMPILER "{wrapper(directory, "c++")}")',
             f'set(PYTHON_EXECUTABLE "{Path(sys.executable).as_posix()}" CACHE FILEPATH "")']
    if shutil.which("ar") is None:
        lines += [f'set(CMAKE_AR "{wrapper(directory, "ar")}" CACHE FILEPATH "")',
                  f'set(CMAKE_RANLIB "{wrapper(directory, "ranlib")}" CACHE FILEPATH "")']
    path = directory / "zig-toolchain.cmake"
    path.write_text("\n".join(lines) + "\n")
    return path


def build(into: Path) -> Path:
    """Build the wheel into `into`; returns its path."""
    print(f"emu: no {PACKAGE} {VERSION} wheel for this platform: building it from source "
          f"with cmake<4 and zig's clang.\n     This takes about 7 minutes on 2 cores, once; "
          f"the wheel is kept in {into}", flush=True)
    if pip("install", *BUILD_TOOLS) != 0:
        raise SystemExit(f"emu: could not install the build tools {BUILD_TOOLS}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="keystone-build-") as tmp:
        env = dict(os.environ, CMAKE_TOOLCHAIN_FILE=str(toolchain(Path(tmp))))
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
        status = subprocess.call([sys.executable, "-m", "pip", "wheel", "--no-build-isolation",
                                  "--no-deps", "--no-binary", PACKAGE, "-w", tmp,
                                  f"{PACKAGE}=={VERSION}"], env=env)
        wheels = sorted(Path(tmp).glob("keystone_engine-*.whl"))
        if status != 0 or not wheels:
            raise SystemExit(f"emu: building {PACKAGE} from source failed (pip said {status})")
        into.mkdir(parents=True, exist_ok=True)
        built = into / wheels[0].name
        shutil.copy(wheels[0], built)
    print(f"emu: built {built.name} in {time.monotonic() - started:.0f} s", flush=True)
    return built


def main() -> int:
    forced = os.environ.get("EMU_KEYSTONE_FROM_SOURCE") == "1"
    if installed() and not forced:
        return 0
    if not forced and pip("install", "--only-binary", ":all:", "--no-deps",
                          f"{PACKAGE}=={VERSION}") == 0:
        return 0
    cached = sorted(cache_dir().glob("keystone_engine-*.whl"))
    wheel = cached[0] if cached else build(cache_dir())
    if cached:
        print(f"emu: installing {PACKAGE} built from source earlier: {wheel}", flush=True)
    return pip("install", "--no-deps", "--force-reinstall", str(wheel))


if __name__ == "__main__":
    sys.exit(main())

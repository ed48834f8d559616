"""The memory syscalls against Linux itself: tests/fixtures/mm_differential.c,
run natively and under emu, must print the same thing.

The program prints every brk/mmap/munmap/mprotect/mremap/madvise/read/write it
makes, with its result, and the state of the pages it works on: first fixed
edge cases, then 500 generated sequences (see the comment at its top). Two
ways to compare:

  - with gcc on the host: `gcc -static` (glibc) builds it; it runs natively
    and under emu, and stdout and stderr must be byte for byte the same;
  - always: zig's clang builds it against musl (emu.toolchain), it runs under
    emu, and must print the committed native output, mm_differential.expected
    (stderr: its SHA-256 in mm_differential.stderr.sha256).

Regenerate the committed output on a Linux host with gcc:

    .venv/bin/python -m tests.integration.test_syscall_differential --regenerate

It was produced on Linux 6.18 (see the README); the native comparison is
skipped on kernels older than 6.17, whose mremap differs (see kernel/syscalls/
mremap.py).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emu import Budget, Machine
from emu.elf import read_elf
from emu.runner import ProcessRunner
from emu.toolchain import build
from tests.conftest import FIXTURES

SOURCE = FIXTURES / "mm_differential.c"
EXPECTED = FIXTURES / "mm_differential.expected"
EXPECTED_STDERR = FIXTURES / "mm_differential.stderr.sha256"
STDIN_SIZE = 4 << 20
OLDEST_MATCHING_KERNEL = (6, 17)
BUDGET = Budget(seconds=600)


def stdin_bytes() -> bytes:
    """What the program reads from fd 0: letters, so what it reads prints."""
    letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return (letters * (STDIN_SIZE // len(letters) + 1))[:STDIN_SIZE]


def build_with_gcc(out_dir: Path) -> Path:
    elf = out_dir / "mm_differential"
    subprocess.run(["gcc", "-static", "-O2", "-o", str(elf), str(SOURCE)], check=True)
    return elf


def run_natively(elf: Path, work: Path) -> tuple[bytes, bytes]:
    """stdout and stderr of a native run. stdin, stdout and stderr are files,
    so short reads and writes count bytes as they do for a file."""
    (work / "stdin").write_bytes(stdin_bytes())
    with open(work / "stdin", "rb") as stdin, open(work / "stdout", "wb") as stdout, \
            open(work / "stderr", "wb") as stderr:
        proc = subprocess.run([str(elf)], stdin=stdin, stdout=stdout, stderr=stderr, timeout=120)
    assert proc.returncode == 0, f"native run exited with {proc.returncode}"
    return (work / "stdout").read_bytes(), (work / "stderr").read_bytes()


def run_under_emu(elf: Path) -> tuple[bytes, bytes]:
    machine = Machine(ram_mib=256)
    result = ProcessRunner(machine, read_elf(elf), [str(elf.resolve())], stdin=stdin_bytes()).run(BUDGET)
    assert result.exit_code == 0, result.message
    return result.stdout, result.stderr


def stderr_digest(stderr: bytes) -> str:
    return f"{hashlib.sha256(stderr).hexdigest()}  {len(stderr)}\n"


def host_kernel() -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", platform.release())
    return (int(match[1]), int(match[2])) if match else (0, 0)


def first_difference(expected: bytes, found: bytes) -> str:
    """The first differing line with the `== ...` heading above it, for the
    assertion message."""
    want, got = expected.decode().splitlines(), found.decode().splitlines()
    for number, (a, b) in enumerate(zip(want, got)):
        if a != b:
            heading = next((line for line in reversed(want[:number]) if line.startswith("==")), "")
            return f"line {number + 1} ({heading}):\n  expected {a!r}\n  found    {b!r}"
    return f"expected {len(want)} lines, found {len(got)}"


def count_sequences(output: bytes) -> int:
    return output.count(b"\n== seed ")


needs_linux_gcc = pytest.mark.skipif(
    shutil.which("gcc") is None or sys.platform != "linux", reason="needs gcc on Linux")


@needs_linux_gcc
def test_glibc_build_prints_the_same_natively_and_under_emu(tmp_path):
    if host_kernel() < OLDEST_MATCHING_KERNEL:
        pytest.skip(f"Linux {platform.release()} predates the mremap emu follows (6.17)")
    elf = build_with_gcc(tmp_path)
    native_out, native_err = run_natively(elf, tmp_path)
    emu_out, emu_err = run_under_emu(elf)
    assert emu_out == native_out, first_difference(native_out, emu_out)
    assert emu_err == native_err
    assert count_sequences(native_out) >= 500


def test_musl_build_under_emu_prints_the_committed_native_output():
    elf = build([SOURCE], libc="musl")
    emu_out, emu_err = run_under_emu(elf)
    expected = EXPECTED.read_bytes()
    assert emu_out == expected, first_difference(expected, emu_out)
    assert stderr_digest(emu_err) == EXPECTED_STDERR.read_text()
    assert count_sequences(expected) >= 500


def regenerate() -> None:
    """Write the committed output from a native run on this host."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        stdout, stderr = run_natively(build_with_gcc(work), work)
    EXPECTED.write_bytes(stdout)
    EXPECTED_STDERR.write_text(stderr_digest(stderr))
    print(f"wrote {EXPECTED} ({count_sequences(stdout)} sequences) and {EXPECTED_STDERR}"
          f" on Linux {platform.release()}", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit("usage: python -m tests.integration.test_syscall_differential --regenerate")
    os.chdir(Path(__file__).resolve().parents[2])
    regenerate()

"""The malloc lab's cost: the whole standard suite for `implicit` inside the
machine, and host time per op against the same driver and allocator built
natively with gcc (-DLAB_NATIVE), replaying the same packed traces."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from emu.malloclab.lab import DRIVER, Lab, builtin_path
from emu.malloclab.traces import pack, read_trace
from emu.toolchain import RUNTIME

ROOT = Path(__file__).resolve().parent.parent
STANDARD = ROOT.parent / "shared" / "malloclab-traces"
SUITE = ("amptjp-bal", "cccp-bal", "cp-decl-bal", "expr-bal", "coalescing-bal", "random-bal",
         "random2-bal", "binary-bal", "binary2-bal", "realloc-bal", "realloc2-bal")
ALLOCATOR = "implicit"


def trace_paths() -> list[Path]:
    if STANDARD.is_dir():
        return [STANDARD / f"{name}.rep" for name in SUITE]
    return sorted((ROOT / "examples" / "traces").glob("*.rep"))


def native(traces, workdir: Path) -> float | None:
    """Seconds for the native driver over every trace (None without gcc)."""
    if shutil.which("gcc") is None:
        return None
    binary = workdir / "mdriver-native"
    subprocess.run(["gcc", "-O2", "-DLAB_NATIVE", "-DMM_LIBRARY", "-I", str(RUNTIME),
                    str(DRIVER), str(builtin_path(ALLOCATOR)), str(RUNTIME / "memlib.c"),
                    "-o", str(binary)], check=True)
    total = 0.0
    for trace in traces:
        packed = workdir / f"{trace.name}.lab"
        packed.write_bytes(pack(trace))
        start = time.perf_counter()
        subprocess.run([str(binary), f"@{packed}"], check=True, capture_output=True)
        total += time.perf_counter() - start
    return total


def main() -> dict:
    traces = [read_trace(p) for p in trace_paths()]
    ops = sum(t.num_ops for t in traces)
    lab = Lab.for_allocator(ALLOCATOR)
    start = time.perf_counter()
    results = [lab.run(t) for t in traces]
    emu_s = time.perf_counter() - start
    invalid = [r.name for r in results if not r.valid]
    with tempfile.TemporaryDirectory() as tmp:
        native_s = native(traces, Path(tmp))
    print(f"malloc lab, {ALLOCATOR} on {len(traces)} traces ({ops:,} ops, checks and timing "
          f"runs){' INVALID: ' + ', '.join(invalid) if invalid else ''}")
    print(f"  emu (one machine per trace)      {emu_s:6.2f} s   {emu_s / ops * 1e6:8.1f} us/op")
    if native_s is not None:
        print(f"  native, gcc -O2                  {native_s:6.2f} s   "
              f"{native_s / ops * 1e6:8.1f} us/op")
        print(f"  host time per op, emu/native     {emu_s / native_s:6.1f}x")
    return {"emu_s": emu_s, "native_s": native_s, "ops": ops}


if __name__ == "__main__":
    main()

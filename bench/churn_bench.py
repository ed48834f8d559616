"""malloc churn under `emu run` against the minimal raw-Unicorn runner.

The same static binary (bench/churn.c built against musl) runs both ways; the
checksums must match. The ratio is emu's time over raw Unicorn's (goal <= 1.2).
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.raw_runner import RawRunner
from emu import Budget, Machine
from emu.elf import read_elf
from emu.runner import ProcessRunner
from emu.toolchain import build

OPS = 200_000
SOURCE = Path(__file__).resolve().parent / "churn.c"


def main() -> dict:
    elf = str(build([SOURCE], libc="musl"))
    argv = ["churn", str(OPS)]
    start = time.perf_counter()
    raw_code, raw_out = RawRunner(elf, argv).run()
    raw_s = time.perf_counter() - start
    machine = Machine(ram_mib=1024)
    start = time.perf_counter()
    result = ProcessRunner(machine, read_elf(elf), argv).run(Budget(seconds=600))
    emu_s = time.perf_counter() - start
    if (result.exit_code, result.stdout) != (raw_code, raw_out):
        raise SystemExit(f"churn: the runs disagree: {result.stdout!r} vs {raw_out!r}")
    ratio = emu_s / raw_s
    print(f"malloc churn (musl, {OPS:,} ops): {raw_out.decode().strip()}")
    print(f"  raw Unicorn runner (flat, RWX)   {raw_s:6.2f} s")
    print(f"  emu run (paging, demand faults)  {emu_s:6.2f} s  ({result.syscalls} syscalls, "
          f"{result.page_faults} page faults)")
    print(f"  time ratio emu/raw               {ratio:6.2f}   (goal <= 1.2)")
    return {"raw_s": raw_s, "emu_s": emu_s, "ratio": ratio}


if __name__ == "__main__":
    main()

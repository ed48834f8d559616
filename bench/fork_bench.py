"""fork and the fault path: what processes and --kernel routines cost.

  fork + exit of a process with a 64 MiB touched heap: time per fork (sharing
    16,384 pages copy-on-write, then tearing the child down), from the
    difference between runs with 0 and FORKS forks;
  copy-on-write faults per second: a child writing every page of that heap;
  the page-fault path: microseconds per demand fault, built in and with the
    asm demand pager as --on-fault, from runs touching 32 MiB.
"""

from __future__ import annotations

import time
from pathlib import Path

from emu import Budget, Machine
from emu.elf import read_elf
from emu.guest_kernel import GuestKernel
from emu.runner import ProcessRunner
from emu.toolchain import build

HERE = Path(__file__).resolve().parent
PAGER = HERE.parent / "tests" / "fixtures" / "kernel" / "demand_pager.asm"
HEAP_MIB, FORKS, TOUCH_MIB = 64, 8, 32


def timed(elf, argv, pager: bool = False):
    machine = Machine(ram_mib=512)
    kernel = GuestKernel.load(machine, PAGER, on_fault="os_page_fault") if pager else None
    start = time.perf_counter()
    result = ProcessRunner(machine, read_elf(elf), argv, kernel=kernel).run(Budget(seconds=900))
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"fork bench: {argv} ended with {result.message or result.status}")
    return elapsed, result


def main() -> dict:
    fork_elf = str(build([HERE / "fork_heap.c"], libc="musl"))
    touch_elf = str(build([HERE / "touch_pages.c"], libc="musl"))
    base, _ = timed(fork_elf, ["fork_heap", str(HEAP_MIB), "0", "0"])
    forked, _ = timed(fork_elf, ["fork_heap", str(HEAP_MIB), str(FORKS), "0"])
    cow, result = timed(fork_elf, ["fork_heap", str(HEAP_MIB), "0", "1"])
    cow_faults = sum(p.cow_faults for p in result.processes)
    per_fork = (forked - base) / FORKS
    cow_rate = cow_faults / max(cow - base, 1e-9)
    builtin, plain = timed(touch_elf, ["touch", str(TOUCH_MIB)])
    guest, handled = timed(touch_elf, ["touch", str(TOUCH_MIB)], pager=True)
    pages = TOUCH_MIB << 8
    print(f"fork and page faults (musl, {HEAP_MIB} MiB heap, {FORKS} forks, {TOUCH_MIB} MiB touched)")
    print(f"  fork + exit, 16,384 pages shared   {per_fork * 1e3:8.1f} ms per fork")
    print(f"  copy-on-write faults               {cow_rate:8.0f} per second ({cow_faults} faults)")
    print(f"  demand fault, built in             {builtin / pages * 1e6:8.1f} us per fault "
          f"({plain.page_faults} faults, whole run)")
    print(f"  demand fault, --on-fault asm       {guest / pages * 1e6:8.1f} us per fault "
          f"({handled.page_faults} faults, whole run)")
    return {"fork_ms": per_fork * 1e3, "cow_per_s": cow_rate,
            "fault_us": builtin / pages * 1e6, "guest_fault_us": guest / pages * 1e6}


if __name__ == "__main__":
    main()

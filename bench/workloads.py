"""The five workloads of issue 15: emu against qemu-user, the raw-Unicorn runner and Qiling.

Each workload is a static binary built from bench/*.c (gcc -static for glibc
when gcc is present, zig's musl otherwise and for the musl churn). Every
runner starts it as a fresh process, as a user would: `emu run`, Debian's
qemu-x86_64, bench/raw_runner.py (flat RWX memory, no paging: the floor for
a Unicorn-based emulator) and Qiling when a Python with Qiling is found
($QILING_PYTHON, or /opt/qiling/bin/python; bench/qiling_runner.py). Runs are
interleaved, REPEAT rounds (BENCH_REPEAT, default 3), and the medians of wall
time are compared; CPU time (user + system, from wait4) is printed beside it,
since the wall clock of a shared machine also counts other people's work.
Every runner must print the same first line, or the run is marked.

Besides the workloads: the time of `emu run` for a program that does nothing
(start-up to first instruction, plus exit) and to its first instruction alone, and from the page-fault and
system-call workloads, all-in microseconds per fault and per system call
(the workload's time less that start-up, over emu's own counts).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import mmu_loop  # noqa: E402
from emu.toolchain import build  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
QILING_PYTHONS = (os.environ.get("QILING_PYTHON", ""), "/opt/qiling/bin/python")
TIMEOUT = 900


@dataclass(frozen=True)
class Workload:
    name: str
    source: str
    libc: str              # "glibc" (gcc -static, when gcc is here) or "musl" (zig)
    args: tuple[str, ...]


WORKLOADS = (
    Workload("glibc malloc churn, 1M ops", "churn.c", "glibc", ("1000000",)),
    Workload("musl malloc churn, 1M ops", "churn.c", "musl", ("1000000",)),
    Workload("compute: hash loop, 1e8 rounds", "hash.c", "glibc", ("100000000",)),
    Workload("stores: memset+memcpy 64 MiB x4", "stores.c", "glibc", ("64", "4")),
    Workload("page faults: 256 MiB x2", "faults.c", "glibc", ("256", "2")),
)
EMPTY = Workload("start-up: a program that does nothing", "hash.c", "glibc", ("0",))
SYSCALLS = Workload("system calls: 100,000 getppid", "syscalls.c", "glibc", ("100000",))


@dataclass
class Timing:
    wall: float
    cpu: float
    first_line: str
    counts: dict
    ok: bool               # exit status 0


def binary(workload: Workload, folder: Path) -> tuple[Path, str]:
    """The workload's static binary and the libc it really got."""
    gcc = shutil.which("gcc")
    if workload.libc == "glibc" and gcc:
        out = folder / f"{Path(workload.source).stem}.glibc"
        if not out.exists():
            subprocess.run([gcc, "-O2", "-static", "-o", str(out), str(BENCH / workload.source)],
                           check=True)
        return out, "glibc"
    return build([BENCH / workload.source], libc="musl"), "musl"


def runners() -> dict[str, list[str]]:
    """name -> the command that runs an ELF (followed by its arguments)."""
    found = {"emu": [sys.executable, "-m", "emu", "run", "--json", "--timeout", str(TIMEOUT)]}
    qemu = shutil.which("qemu-x86_64")
    if qemu:
        found["qemu-user"] = [qemu]
    found["raw Unicorn"] = [sys.executable, str(BENCH / "raw_runner.py")]
    for python in QILING_PYTHONS:
        if python and Path(python).exists():
            found["Qiling"] = [python, str(BENCH / "qiling_runner.py")]
            break
    return found


# The runners' environment: ours without PYTHONDONTWRITEBYTECODE, so that emu's
# modules start from their cached bytecode as they do for a user (with it set,
# every module edited since its .pyc was written is compiled again at each
# start: 0.166 s to the first instruction and 0.222 s in all, in the run of
# 14:38, against 0.147 and 0.162 s from cached bytecode).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> Timing:
    """Run `command`; its wall time, CPU time and output."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=CHILD_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode(errors="replace")
    counts = {}
    if command[1:3] == ["-m", "emu"] and text.startswith("{"):
        result = json.loads(text)
        counts = {"page_faults": result["page_faults"], "syscalls": result["syscalls"]}
        text = result["stdout"]
    first = text.splitlines()[0] if text.strip() else f"(no output, status {proc.returncode})"
    return Timing(wall, usage.ru_utime + usage.ru_stime, first, counts, proc.returncode == 0)


def run_all(folder: Path) -> tuple[dict, dict, dict]:
    """Every (workload, runner) REPEAT times, interleaved: timings[w][r] = [Timing]."""
    commands = runners()
    workloads = (*WORKLOADS, EMPTY, SYSCALLS)
    elfs = {w: binary(w, folder) for w in workloads}
    timings = {w: {r: [] for r in commands} for w in workloads}
    for _ in range(REPEAT):
        for w in workloads:
            for name, command in commands.items():
                between = ["--"] if name == "emu" else []     # emu run FILE -- ARGS
                timings[w][name].append(timed([*command, str(elfs[w][0]), *between, *w.args]))
    return timings, elfs, commands


def median(runs: list[Timing], what: str = "wall") -> float:
    return statistics.median(getattr(t, what) for t in runs)


def report(timings, elfs, commands) -> list[str]:
    others = [r for r in commands if r != "emu"]
    lines = [f"Workloads ({REPEAT} interleaved runs each, median wall seconds; "
             f"CPU seconds in brackets; ratio = emu's time / the other's)",
             f"  {'workload':<36} {'libc':<6}" + "".join(f"{r:>20}" for r in commands)]
    for w in WORKLOADS:
        cells = []
        for r in commands:
            runs = timings[w][r]
            if not all(t.ok for t in runs):
                cells.append("fails")
                continue
            mark = "" if runs[0].first_line == timings[w]["emu"][0].first_line else "!"
            cells.append(f"{median(runs):7.2f} ({median(runs, 'cpu'):6.2f}){mark:1}")
        lines.append(f"  {w.name:<36} {elfs[w][1]:<6}" + "".join(f"{c:>20}" for c in cells))
    lines.append("")
    lines.append(f"  {'emu / other (wall; CPU)':<43}" + "".join(f"{r:>20}" for r in others))
    for w in WORKLOADS:
        lines.append(f"  {w.name:<43}" + "".join(f"{ratio(timings[w], r):>20}" for r in others))
    if any(t.ok and t.first_line != timings[w]["emu"][0].first_line
           for w in WORKLOADS for r in commands for t in timings[w][r]):
        lines.append("  ! = that runner's output differs from emu's")
    return lines + [""] + figures(timings, commands, elfs)


def ratio(runs_by_runner: dict, other: str) -> str:
    """'wall ratio; CPU ratio' of emu to `other`, or '-' when either failed."""
    mine, theirs = runs_by_runner["emu"], runs_by_runner[other]
    if not all(t.ok for t in mine + theirs):
        return "-"
    return (f"{median(mine) / median(theirs):5.2f}x; "
            f"{median(mine, 'cpu') / max(median(theirs, 'cpu'), 1e-3):5.2f}x")


# `emu run` with Machine.run wrapped to print the wall clock at its first call
# (on stderr, last line), when the first guest instruction is about to run.
FIRST_RUN = """
import sys, time
import emu.machine
from emu.cli import main
run = emu.machine.Machine.run
def first(self, *args, **kw):
    if not getattr(first, "seen", False):
        first.seen = True
        print(repr(time.time()), file=sys.stderr)
    return run(self, *args, **kw)
emu.machine.Machine.run = first
sys.argv = ["emu", "run", *sys.argv[1:]]
main()
"""


def first_instruction(elf: Path, args: tuple[str, ...]) -> float:
    """Median wall seconds from starting `emu run` to its first guest
    instruction (5 x REPEAT runs: three alone gave outliers of 50 ms here)."""
    seconds = []
    for _ in range(5 * REPEAT):
        started = time.time()
        proc = subprocess.run([sys.executable, "-c", FIRST_RUN, str(elf), "--", *args],
                              capture_output=True, text=True, check=True, env=CHILD_ENV)
        seconds.append(float(proc.stderr.splitlines()[-1]) - started)
    return statistics.median(seconds)


def figures(timings, commands, elfs) -> list[str]:
    """Start-up, and all-in cost per page fault and per system call."""
    start = median(timings[EMPTY]["emu"])
    lines = [f"  emu run, a program that does nothing: {start:.3f} s wall"
             + "".join(f"; {r} {median(timings[EMPTY][r]):.3f} s" for r in commands
                       if r != "emu"),
             f"  emu run, from its start to the first guest instruction: "
             f"{first_instruction(elfs[EMPTY][0], EMPTY.args):.3f} s wall"]
    faults = WORKLOADS[-1]
    count = timings[faults]["emu"][0].counts["page_faults"]
    per_fault = (median(timings[faults]["emu"]) - start) / count * 1e6
    lines.append(f"  page faults: {count:,} in the page-fault workload, {per_fault:.1f} us each "
                 f"all-in (touch, fault, munmap)")
    calls = timings[SYSCALLS]["emu"][0].counts["syscalls"]
    per_call = (median(timings[SYSCALLS]["emu"]) - start) / calls * 1e6
    lines.append(f"  system calls: {calls:,} (getppid), {per_call:.1f} us each all-in"
                 + "".join(f"; {r} {(median(timings[SYSCALLS][r]) - median(timings[EMPTY][r])) / calls * 1e6:.2f} us"
                           for r in commands if r != "emu"))
    refills, seconds = refill_rate()
    lines.append(f"  TLB refills: {refills / seconds / 1e6:.2f} M/s ({refills:,} in {seconds:.2f} s of CPU, "
                 f"a loop touching each of 8,192 present pages in turn, {REFILL_PASSES} times)")
    return lines


REFILL_PASSES = 64
REFILL_LOOP = f"""
        mov rcx, {REFILL_PASSES}
refill_outer:
        mov rdi, {mmu_loop.DATA}
        mov rdx, {mmu_loop.DATA + mmu_loop.SIZE}
refill_inner:
        mov rax, [rdi]              ; a new page each time: Unicorn's TLB misses
        add rdi, 4096
        cmp rdi, rdx
        jb refill_inner
        dec rcx
        jnz refill_outer
done:   nop
"""


def refill_rate() -> tuple[int, float]:
    """Refills of Unicorn's TLB (walks and software-TLB hits) in a loop that
    loads one word of each of 8,192 present 4 KiB pages in turn: nearly
    every load misses Unicorn's 256-entry TLB. Returns (refills, CPU seconds:
    the wall clock of a shared machine counts other people's work)."""
    from emu.assembler import assemble
    program = assemble(REFILL_LOOP, base=mmu_loop.CODE)
    machine = mmu_loop.prepared_machine(program)
    before, started = sum(machine.mmu.fill_counts()), time.process_time()
    mmu_loop.run_prepared(machine, program)
    return sum(machine.mmu.fill_counts()) - before, time.process_time() - started


def main() -> dict:
    load = os.getloadavg()
    print(f"Issue 15's workloads (machine: {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start)")
    with tempfile.TemporaryDirectory() as folder:
        timings, elfs, commands = run_all(Path(folder))
        for line in report(timings, elfs, commands):    # the binaries are needed again
            print(line)
    load = os.getloadavg()
    print(f"  (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end; "
          f"children's CPU {resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime:.0f} s user)")
    if "Qiling" not in commands:
        print("  Qiling: not found (set QILING_PYTHON to a Python that has qiling installed)")
    return {"timings": timings}


if __name__ == "__main__":
    main()

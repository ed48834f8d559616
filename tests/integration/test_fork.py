"""fork, wait4, pipes, kill and copy-on-write, with programs that print the same
thing natively: built with musl (zig) always and with gcc -static (glibc) when
gcc is present, and compared with the same program run on Linux."""

import json
import shutil
import subprocess

import pytest

from emu import Budget, Machine
from emu.elf import read_elf
from emu.runner import ProcessRunner
from emu.toolchain import build
from tests.conftest import FIXTURES
from tests.fuzz.machines import BootState, assert_back_at_boot
from tests.integration.test_cli import emu

FORK = FIXTURES / "fork"
PROGRAMS = ["fork_wait", "pipe_pingpong", "cow_heap", "orphan"]
EXPECTED_STATUS = {"fork_wait": 3, "orphan": 5}
HAVE_GCC = shutil.which("gcc") is not None


def musl(name):
    return build([FORK / f"{name}.c"], libc="musl")


def glibc(name, tmp_path):
    out = tmp_path / name
    subprocess.run(["gcc", "-static", "-O1", "-o", out, FORK / f"{name}.c"], check=True)
    return out


def under_emu(elf, *args, ram_mib=256):
    machine = Machine(ram_mib=ram_mib)
    boot = BootState.of(machine)
    result = ProcessRunner(machine, read_elf(elf), [str(elf), *args]).run(Budget(seconds=120))
    assert_back_at_boot(machine, boot)
    return result


def native(elf, *args):
    return subprocess.run([elf, *args], capture_output=True, timeout=60)


@pytest.mark.parametrize("name", PROGRAMS)
def test_musl_fork_programs_print_what_they_print_natively(name, tmp_path):
    result = under_emu(musl(name))
    assert result.status == EXPECTED_STATUS.get(name, 0), result.message
    expected = native(musl(name))                 # a static musl binary runs here too
    assert result.stdout == expected.stdout
    assert result.status == expected.returncode


@pytest.mark.skipif(not HAVE_GCC, reason="gcc is not installed")
@pytest.mark.parametrize("name", PROGRAMS)
def test_glibc_fork_programs_print_what_they_print_natively(name, tmp_path):
    elf = glibc(name, tmp_path)
    result = under_emu(elf)
    expected = native(elf)
    assert result.stdout == expected.stdout, result.message
    assert result.status == expected.returncode


def test_copy_on_write_faults_are_the_pages_written_after_fork():
    result = under_emu(musl("cow_heap"), "8")
    parent, child = result.processes[0], result.processes[1]
    heap_pages = 8 * 256
    assert heap_pages <= child.cow_faults <= heap_pages + 16      # + a few stack pages
    assert parent.cow_faults <= 16                                 # the parent writes little
    assert child.outcome.exit_code == 0 and parent.outcome.exit_code == 0


def test_the_json_report_has_a_process_per_pid():
    proc = emu("run", FORK / "fork_wait.c", "--libc", "musl", "--json", ok=False)
    report = json.loads(proc.stdout)
    pids = [p["pid"] for p in report["processes"]]
    assert pids == list(range(1000, 1006))
    assert report["processes"][0]["ppid"] == 1 and report["processes"][1]["ppid"] == 1000
    signals = {p["pid"]: p["signal"] for p in report["processes"]}
    assert signals[1002] is None and signals[1003] == 11 and signals[1004] == 6
    assert signals[1005] == 15


def test_strace_prefixes_other_processes_with_their_pid():
    proc = emu("run", FORK / "orphan.c", "--libc", "musl", "--strace", ok=False)
    assert proc.returncode == 5
    assert "[pid 1001] " in proc.stderr and "[pid 1002] " in proc.stderr
    assert "fork() = 1001" in proc.stderr


def test_the_schedule_is_the_same_on_every_run():
    first = under_emu(musl("pipe_pingpong"))
    second = under_emu(musl("pipe_pingpong"))
    assert [r.syscalls for r in first.processes] == [r.syscalls for r in second.processes]
    assert first.syscall_log == second.syscall_log


def test_the_debugger_follows_the_parent_and_reports_forks():
    out = emu("debug", FORK / "cow_heap.c", "--libc", "musl", "--batch",
              "-ex", "break waitpid", "-ex", "run", "-ex", "continue", "--", "1").stdout
    assert "[Detaching after fork from child process 1001]" in out
    assert "Breakpoint 1" in out and "exited normally" in out

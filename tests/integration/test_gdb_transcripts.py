"""The same gdb script, natively and over `emu gdbserver`: the transcripts must match.

Each scenario is a C program and a gdb script in tests/fixtures/gdb/. The
program is built with `gcc -static -g -O0` (skipped without gcc or gdb) and
debugged twice:

    native   gdb -nx --batch -ex 'starti ARGS > OUT' -x SCRIPT ELF
    emu      emu gdbserver --port 0 ELF -- ARGS   and
             gdb -nx --batch -ex 'file ELF' -ex 'target remote :PORT' -x SCRIPT

Both start at the entry point; the prelude each prints up to `in _start ()`
is dropped. Addresses (hex numbers of 5 digits or more) and pids are
normalized, as are the lines only one side prints: the native warning that
address randomization cannot be disabled, and the remote `kill` noise.
gdb's `record` and `record stop` (process record in gdb itself) become
`monitor record` and `monitor record stop` for emu, which records in the
stub: those are the only lines the scripts differ by.
The program's own output is compared apart (natively it goes to OUT, from
emu to gdbserver's stdout).
"""

from __future__ import annotations

import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

GDB_FIXTURES = FIXTURES / "gdb"
TIMEOUT = 120
pytestmark = pytest.mark.skipif(shutil.which("gdb") is None or shutil.which("gcc") is None,
                                reason="needs gdb and gcc (native transcripts)")

ADDRESS = re.compile(r"0x[0-9a-f]{5,}")
PID = re.compile(r"(process|Process|pid) \d+")
NATIVE_ONLY = ("warning: Error disabling address space randomization",
               "Program stopped.")
EMU_ONLY = ("Remote connection closed",)
FOR_EMU = {"record": "monitor record", "record stop": "monitor record stop"}
LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+);")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """program name -> static ELF, each built once."""
    out = tmp_path_factory.mktemp("gdb-programs")
    cache = {}

    def build(name: str) -> Path:
        if name not in cache:
            elf = out / name
            subprocess.run(["gcc", "-static", "-g", "-O0", "-o", str(elf),
                            str(GDB_FIXTURES / f"{name}.c")], check=True, timeout=TIMEOUT)
            cache[name] = elf
        return cache[name]
    return build


def native(elf: Path, script: Path, args: list[str], tmp_path) -> tuple[str, str]:
    output = tmp_path / "native.out"
    start = "starti " + " ".join(args) + f" > {output}"
    proc = subprocess.run(["gdb", "-nx", "--batch", "-ex", "set pagination off",
                           "-ex", start, "-x", str(script), str(elf)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=TIMEOUT)
    return proc.stdout, output.read_text() if output.exists() else ""


def emu(elf: Path, script: Path, args: list[str], tmp_path, record: bool = False
        ) -> tuple[str, str]:
    text = "".join(FOR_EMU.get(line, line) + "\n" for line in script.read_text().splitlines())
    emu_script = tmp_path / f"emu-{script.name}"
    emu_script.write_text(text)
    server = subprocess.Popen([sys.executable, "-m", "emu", "gdbserver", "--port", "0",
                               str(elf), "--", *args], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([server.stdout], [], [], TIMEOUT)
        found = LISTENING.search(server.stdout.readline() if ready else "")
        assert found, f"emu gdbserver did not start: {server.stderr.read()}"
        proc = subprocess.run(["gdb", "-nx", "--batch", "-ex", "set pagination off",
                               "-ex", f"file {elf}", "-ex", f"target remote :{found.group(1)}",
                               "-x", str(emu_script)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=TIMEOUT)
        program_output, _ = server.communicate(timeout=TIMEOUT)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return proc.stdout, program_output


def normalize(transcript: str, only_here=()) -> list[str]:
    lines = transcript.splitlines()
    start = next((i for i, line in enumerate(lines) if line.endswith(" in _start ()")), -1)
    out = []
    for line in lines[start + 1:]:
        if any(line.startswith(prefix) for prefix in only_here):
            continue
        line = PID.sub(r"\1 PID", ADDRESS.sub("0xADDR", line))
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return out


def compare(built, tmp_path, name: str, program: str, args=()) -> tuple[list, list, str, str]:
    elf = built(program)
    script = GDB_FIXTURES / f"{name}.gdb"
    native_text, native_out = native(elf, script, list(args), tmp_path)
    emu_text, emu_out = emu(elf, script, list(args), tmp_path)
    return (normalize(native_text, NATIVE_ONLY), normalize(emu_text, EMU_ONLY),
            native_out, emu_out)


def assert_same(native_lines, emu_lines):
    assert emu_lines == native_lines, "\n".join(
        ["--- native", *native_lines, "--- emu", *emu_lines])


def test_everyday_stepping_and_data(built, tmp_path):
    native_lines, emu_lines, native_out, emu_out = compare(built, tmp_path, "everyday",
                                                           "everyday")
    assert "Value returned is $5 = 7" in native_lines or any(
        "Value returned" in line for line in native_lines)
    assert_same(native_lines, emu_lines)
    assert emu_out == native_out == "total 100 distance 7\n"


def test_watchpoints(built, tmp_path):
    native_lines, emu_lines, native_out, emu_out = compare(built, tmp_path, "watch", "watch")
    assert any(line.startswith("Hardware watchpoint 2: counter") for line in native_lines)
    assert_same(native_lines, emu_lines)
    assert emu_out == native_out


def test_sigsegv_and_siginfo(built, tmp_path):
    native_lines, emu_lines, _, _ = compare(built, tmp_path, "sigsegv", "signals")
    assert "Program received signal SIGSEGV, Segmentation fault." in native_lines
    assert "Program terminated with signal SIGSEGV, Segmentation fault." in native_lines
    assert_same(native_lines, emu_lines)


def test_signal_0_continues_after_a_fixed_fault(built, tmp_path):
    native_lines, emu_lines, native_out, emu_out = compare(built, tmp_path, "fixcont",
                                                           "signals")
    assert any("exited normally" in line for line in native_lines)
    assert_same(native_lines, emu_lines)
    assert emu_out == native_out == "good 7\n"


def test_two_inferior_calls_in_a_row(built, tmp_path):
    native_lines, emu_lines, native_out, emu_out = compare(built, tmp_path, "calls",
                                                           "everyday")
    assert "$1 = 100" in native_lines and "$2 = 60" in native_lines
    assert_same(native_lines, emu_lines)
    assert emu_out == native_out


def test_glibc_abort_is_sigabrt(built, tmp_path):
    native_lines, emu_lines, native_out, emu_out = compare(built, tmp_path, "abort",
                                                           "signals", ["abort"])
    assert "Program received signal SIGABRT, Aborted." in native_lines
    assert_same(native_lines, emu_lines)
    assert emu_out == native_out


def test_detach_lets_the_program_finish(built, tmp_path):
    native_lines, emu_lines, native_out, emu_out = compare(built, tmp_path, "detach",
                                                           "everyday")
    assert any("detached" in line for line in native_lines)
    assert_same(native_lines, emu_lines)
    assert emu_out == native_out == "total 100 distance 7\n"


def test_info_proc_mappings(built, tmp_path):
    """The tables differ in what only Linux maps ([vvar], [vdso], [vsyscall])
    and in how the bss and RELRO pages split; what must match is the header
    and the program's, the heap's and the stack's mappings and permissions."""
    native_lines, emu_lines, _, _ = compare(built, tmp_path, "maps", "everyday")
    table = native_lines.index("Mapped address spaces:")
    assert emu_lines[:table + 3] == native_lines[:table + 3]

    def mapped(lines):
        rows = [line.split() for line in lines[table + 3:] if line.strip()]
        return {(row[4], Path(row[5]).name) for row in rows
                if len(row) == 6 and (row[5].startswith("/") or row[5] in ("[heap]", "[stack]"))}
    assert mapped(emu_lines) == mapped(native_lines)
    assert ("r-xp", "everyday") in mapped(native_lines)


def test_reverse_execution_across_finish_and_a_recorded_continue(built, tmp_path):
    native_lines, emu_lines, native_out, emu_out = compare(built, tmp_path, "reverse",
                                                           "reverse")
    assert native_lines.count("No more reverse-execution history.") == 2
    assert "Process record is stopped and all execution logs are deleted." in native_lines
    assert_same(native_lines, emu_lines)
    assert emu_out == native_out

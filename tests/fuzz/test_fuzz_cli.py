"""Fuzz target: the command line, in process. Random argument lists built from
the real options with wild values, and `emu debug --batch` with random
commands. Invariant: every command ends with a documented status and never an
internal error (status 70 / "internal error" means a bug in emu)."""

from __future__ import annotations

import contextlib
import io

from hypothesis import given
from hypothesis import strategies as st

from emu import cli
from tests.conftest import ASM, EXAMPLES
from tests.fuzz.conftest import FUZZ, record

VALUES = st.sampled_from(["0", "1", "-1", "2", "64", "3", "0x10", "1e309", "nan", "inf",
                          "-0", "99999999999999999999999", "", " ", "é", "a" * 300,
                          "rcx=3", "rzz=1", "rax=0x" + "f" * 17, "/", "/dev/null",
                          "os_MemoryMap", "0xffffffffffffffff", "musl", "runtime",
                          str(EXAMPLES / "hello.asm"), str(ASM / "os_mem_allocate.asm"),
                          "os_mem_allocate", "memmap", "--", "-x", "-ex"])
OPTIONS = st.sampled_from(["--ram-mib", "--json", "--max-insns", "--timeout", "--reg",
                           "--show", "--load", "--strace", "--maps", "--libc", "--stdin",
                           "--history", "--batch", "-ex", "--link", "--cc", "--help"])
COMMANDS = {
    "memmap": [],
    "pt": ["0x10000"],
    "call": [str(ASM / "os_mem_allocate.asm"), "os_mem_allocate"],
    "run": [str(EXAMPLES / "hello.asm")],
    "debug": [str(EXAMPLES / "hello.asm"), "--batch"],
}
DEBUG_COMMANDS = st.sampled_from([
    "si", "ni", "si 3", "c", "x/4gx $rsp", "x/s $rsi", "x/-1x 0", "p $rax", "p/x $rsp + 8",
    "p 1/0", "b _start", "b *0", "tbreak msg", "delete 99", "info registers", "i r rip",
    "pt $rsp", "pt 0xffffffffffffffff", "vmmap", "heap", "memmap", "syscalls", "rsi", "rc",
    "finish", "bt", "disassemble", "watch $rsp 8", "watch 0 99999", "set $rax = 5",
    "set $nope = 1", "until", "start", "run", "kill", "help", "help x", "context", "list",
    "info symbol 0x400000", "info frame", "x/100000gx 0", "p (((((1)))))", ""])


def run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.TextIOWrapper(io.BytesIO()), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(argv)
        except SystemExit as exc:            # argparse: --help (0) or a bad argument (2)
            status = exc.code if isinstance(exc.code, int) else 2
    return status, err.getvalue()


def check(argv: list[str], target: str) -> None:
    status, err = run_cli(argv)
    assert status != 70 and "internal error" not in err, f"{argv}: {err}"
    assert "Traceback" not in err, err
    record(target, f"status {status}")


@FUZZ
@given(command=st.sampled_from(sorted(COMMANDS)),
       extra=st.lists(st.one_of(OPTIONS, VALUES), max_size=6))
def test_random_command_lines_end_with_a_documented_status(command, extra):
    check([command, *COMMANDS[command], *extra, "--ram-mib", "64"] if "--ram-mib" not in extra
          else [command, *COMMANDS[command], *extra], "cli")


@FUZZ
@given(commands=st.lists(st.one_of(DEBUG_COMMANDS, st.text(max_size=16)), max_size=8))
def test_random_debugger_commands_never_break_the_debugger(commands):
    argv = ["debug", str(EXAMPLES / "hello.asm"), "--batch", "--ram-mib", "64"]
    for command in commands:
        argv += ["-ex", command]
    check(argv, "debug-batch")

"""An lldb session over `emu gdbserver` (skipped without lldb).

lldb connects with `gdb-remote`; the program is already started (stopped at
its entry point), so lldb's `continue` is the "run" to the first breakpoint
(lldb's own `run` would launch a native copy of the program). The session:
break, continue, step, next, finish, bt, frame variable, register read,
memory read $rsp, a watchpoint, and continue to the exit.
"""

from __future__ import annotations

import re
import select
import shutil
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, ROOT

PROGRAM = FIXTURES / "gdb" / "everyday.c"
TIMEOUT = 300
LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+); in gdb: file (\S+) then")
pytestmark = pytest.mark.skipif(shutil.which("lldb") is None, reason="lldb is not installed")


def build(tmp_path):
    """The program as gcc builds it when gcc is here, else as emu's musl flavour."""
    if shutil.which("gcc"):
        elf = tmp_path / "everyday"
        subprocess.run(["gcc", "-static", "-g", "-O0", "-o", str(elf), str(PROGRAM)],
                       check=True, timeout=TIMEOUT)
        return [str(elf)]
    return [str(PROGRAM), "--libc", "musl"]


def line_of(text: str) -> int:
    return next(n for n, line in enumerate(PROGRAM.read_text().splitlines(), 1) if text in line)


def test_an_lldb_session_breaks_steps_inspects_watches_and_exits(tmp_path):
    server = subprocess.Popen([sys.executable, "-m", "emu", "gdbserver", "--port", "0",
                               *build(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([server.stdout], [], [], TIMEOUT)
        found = LISTENING.search(server.stdout.readline() if ready else "")
        assert found, server.stderr.read()
        port, elf = found.groups()
        commands = [f"gdb-remote 127.0.0.1:{port}", "breakpoint set --name list_push",
                    "continue", "next", "step", "finish", "bt", "frame variable",
                    "register read rip rsp", "memory read --count 16 $rsp",
                    "breakpoint delete 1", "watchpoint set variable pushes", "continue",
                    "watchpoint delete 1", "continue"]
        argv = ["lldb", "--batch", "--no-lldbinit", elf]
        for command in commands:
            argv += ["-o", command]
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=TIMEOUT)
        program_output, _ = server.communicate(timeout=TIMEOUT)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    out = proc.stdout
    assert re.search(r"stop reason = breakpoint 1\.1\s+frame #0: 0x[0-9a-f]+ everyday`list_push"
                     r"\(head=0x0+, value=10\) at everyday\.c:" + str(line_of("malloc(sizeof")),
                     out), out
    assert "stop reason = step over" in out and "stop reason = step in" in out, out
    assert re.search(r"stop reason = step out\s+Return value: \(node \*\) \$0 = 0x[0-9a-f]+", out), out
    assert re.search(r"frame #1: 0x[0-9a-f]+ everyday`.*main", out), out
    assert "(node *) list = NULL" in out and "(long) i = 1" in out, out    # frame variable
    assert re.search(r"rip = 0x[0-9a-f]+\s+everyday`main", out), out
    assert re.search(r"0x7fff[0-9a-f]+: ([0-9a-f]{2} ){16}", out), out      # memory read $rsp
    assert re.search(r"Watchpoint 1 hit:\s+old value: 1\s+new value: 2", out), out
    assert "exited with status = 0" in out, out
    assert program_output == "total 100 distance 7\n"

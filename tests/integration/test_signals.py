"""Signals a process sends itself, and hlt in user mode: what `emu run` reports,
and how a debugged process stops with the signal pending."""

import shutil
import subprocess

import pytest

from emu.debug.debugger import Debugger
from emu.runner import ProcessRunner
from emu.loader import load_program
from emu.machine import Budget, Machine
from tests.integration.test_cli import emu

KILL_SELF = """
_start:
  mov eax, 39            ; getpid
  syscall
  mov edi, eax
  mov esi, {signo}
  mov eax, 62            ; kill(getpid(), signo)
  syscall
after_kill:
  mov rdi, rax           ; exit status: what kill returned
  mov eax, 60
  syscall
"""

HALT = """
_start:
  nop
halt_here:
  hlt
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_kill_self_with_sigabrt_exits_134_and_says_why(tmp_path):
    proc = emu("run", write(tmp_path, "abrt.asm", KILL_SELF.format(signo=6)), ok=False)
    assert proc.returncode == 134
    assert proc.stderr.startswith("SIGABRT (Aborted): the program sent it to itself")


def test_a_signal_ignored_by_default_lets_the_program_go_on(tmp_path):
    proc = emu("run", write(tmp_path, "chld.asm", KILL_SELF.format(signo=17)), ok=False)
    assert proc.returncode == 0 and proc.stderr == ""


def test_hlt_in_user_mode_is_sigsegv_at_the_hlt_itself(tmp_path):
    image = load_program(write(tmp_path, "halt.asm", HALT))
    result = ProcessRunner(Machine(ram_mib=16), image, ["halt"]).run(Budget(seconds=10))
    assert result.status == 139 and result.fault.rip == image.symbols["halt_here"]
    assert "general protection fault" in result.message


def test_musl_abort_is_sigabrt(tmp_path):
    source = write(tmp_path, "abort.c", "#include <stdlib.h>\nint main(void) { abort(); }\n")
    proc = emu("run", source, "--libc", "musl", ok=False)
    assert proc.returncode == 134 and "SIGABRT" in proc.stderr


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_glibc_abort_exits_134_from_emu_run(tmp_path):
    """glibc's abort() raises SIGABRT with tgkill (before, ENOSYS sent it on to hlt)."""
    source = write(tmp_path, "abort.c", "#include <stdlib.h>\nint main(void) { abort(); }\n")
    elf = tmp_path / "abort"
    subprocess.run(["gcc", "-static", "-o", str(elf), str(source)], check=True, timeout=120)
    proc = emu("run", elf, ok=False)
    assert proc.returncode == 134
    assert proc.stderr.startswith("SIGABRT (Aborted): the program sent it to itself")
    assert "__pthread_kill_implementation" in proc.stderr


@pytest.fixture
def debugged_kill(tmp_path):
    dbg = Debugger.start(write(tmp_path, "abrt.asm", KILL_SELF.format(signo=6)), ["abrt"],
                         ram_mib=16)
    yield dbg
    dbg.runner.finish()


def test_a_debugged_process_stops_alive_with_the_signal_pending(debugged_kill):
    dbg = debugged_kill
    stop = dbg.target.cont()
    assert (stop.kind, stop.signo) == ("signalled", 6) and dbg.target.alive
    assert stop.rip == dbg.image.symbols["after_kill"]            # after the syscall
    assert dbg.runner.pending_signal.code == 0                     # SI_USER: kill()


def test_resuming_without_the_signal_runs_on(debugged_kill):
    dbg = debugged_kill
    dbg.target.cont()
    assert dbg.target.deliver(0) is None
    stop = dbg.target.cont()
    assert (stop.kind, stop.exit_code) == ("exited", 0)            # kill() returned 0


def test_passing_the_signal_kills(debugged_kill):
    dbg = debugged_kill
    dbg.target.cont()
    stop = dbg.target.deliver(6)
    assert (stop.kind, stop.signo) == ("killed", 6) and not dbg.target.alive
    assert dbg.runner.finish().status == 134

"""kernel/syscalls/signal.py on its own: sending to self, blocking, dispositions."""

import struct

from kernel.process import SignalState
from kernel.syscalls import signal as sig

PID = 1000


class FakeProcess:
    """What the signal syscalls use of a process: pid, signals, user memory,
    and no other process in its run (table None)."""

    def __init__(self):
        self.pid = PID
        self.table = None
        self.signals = SignalState()
        self.memory = {}

    def read(self, vaddr, length):
        data = self.memory.get(vaddr)
        return None if data is None else data[:length]

    def write(self, vaddr, data):
        self.memory[vaddr] = bytes(data)
        return True


def sigset(*signos) -> bytes:
    return sum(sig.bit(s) for s in signos).to_bytes(8, "little")


def test_tgkill_to_self_with_a_killing_signal_marks_it_fatal():
    proc = FakeProcess()
    assert sig.sys_tgkill(proc, PID, PID, sig.SIGABRT) == 0
    fatal = proc.signals.fatal
    assert (fatal.signo, fatal.code, fatal.pid) == (sig.SIGABRT, sig.SI_TKILL, PID)


def test_kill_uses_si_user_and_other_pids_are_esrch():
    proc = FakeProcess()
    assert sig.sys_kill(proc, 4242, sig.SIGTERM) == -3                 # ESRCH
    assert sig.sys_tkill(proc, PID + 1, sig.SIGTERM) == -3
    assert sig.sys_kill(proc, PID, 0) == 0 and proc.signals.fatal is None   # existence check
    assert sig.sys_kill(proc, PID, 65) == -22                          # EINVAL
    assert sig.sys_kill(proc, 0, sig.SIGTERM) == 0
    assert proc.signals.fatal.code == sig.SI_USER


def test_signals_ignored_by_default_or_by_sig_ign_do_nothing():
    proc = FakeProcess()
    assert sig.sys_kill(proc, PID, sig.SIGCHLD) == 0 and proc.signals.fatal is None
    proc.memory[0x1000] = struct.pack("<QQQQ", sig.SIG_IGN, 0, 0, 0)
    assert sig.sys_rt_sigaction(proc, sig.SIGUSR1, 0x1000, 0, 8) == 0
    assert sig.sys_kill(proc, PID, sig.SIGUSR1) == 0 and proc.signals.fatal is None
    assert sig.sys_rt_sigaction(proc, sig.SIGKILL, 0x1000, 0, 8) == -22


def test_a_blocked_signal_waits_until_sigprocmask_unblocks_it():
    """musl's raise(): block everything, tkill, restore the mask."""
    proc = FakeProcess()
    proc.memory[0x2000] = sigset(*range(1, 65))
    assert sig.sys_rt_sigprocmask(proc, sig.SIG_BLOCK, 0x2000, 0x3000, 8) == 0
    assert proc.memory[0x3000] == bytes(8)                           # the old mask
    assert sig.sys_tkill(proc, PID, sig.SIGABRT) == 0
    assert proc.signals.fatal is None and sig.SIGABRT in proc.signals.pending
    proc.memory[0x2000] = bytes(8)
    assert sig.sys_rt_sigprocmask(proc, sig.SIG_SETMASK, 0x2000, 0, 8) == 0
    assert proc.signals.fatal.signo == sig.SIGABRT and not proc.signals.pending


def test_sigkill_cannot_be_blocked_and_a_handler_is_remembered():
    proc = FakeProcess()
    proc.memory[0x2000] = sigset(sig.SIGKILL)
    sig.sys_rt_sigprocmask(proc, sig.SIG_BLOCK, 0x2000, 0, 8)
    assert proc.signals.mask == 0
    proc.memory[0x1000] = struct.pack("<QQQQ", 0x401000, 0, 0, 0)
    sig.sys_rt_sigaction(proc, sig.SIGINT, 0x1000, 0, 8)
    assert sig.handled(proc, sig.SIGINT)
    assert sig.sys_rt_sigaction(proc, sig.SIGINT, 0, 0x1800, 8) == 0
    assert struct.unpack("<QQQQ", proc.memory[0x1800])[0] == 0x401000

"""Stop replies: what gdb is told when the program stops, ends or faults.

    T05 06:<rbp>;07:<rsp>;10:<rip>;thread:p3e8.3e8;swbreak:;   stopped (signal, registers, why)
    W07;process:3e8                                           exited with status 7
    X06;process:3e8                                           killed by signal 6 (SIGABRT)

Registers in a T packet are gdb numbers in hex (10 is 16: rip), values
little-endian; they save gdb a `g` after every step. Reasons: swbreak/hwbreak
(a breakpoint), watch/rwatch/awatch:ADDR (a watchpoint on ADDR),
replaylog:begin / replaylog:end (reverse execution reached the start of the
history; a replay forward reached its end). Thread
ids are `pPID.TID` when the client speaks the multiprocess extensions (gdb
then knows the pid: `info proc mappings`), plain `TID` otherwise; the one
thread's id is the pid, as on Linux (threads.py).

Signal numbers on the wire are gdb's own (include/gdb/signals.h), not the
host's: SIGBUS is 7 on Linux but 10 to gdb. siginfo (qXfer:siginfo:read)
uses Linux's numbers and the x86-64 siginfo_t layout.
"""

from __future__ import annotations

import signal

from .registers import RBP, RIP, RSP

# Linux signal number -> gdb's number for it (include/gdb/signals.def)
GDB_SIGNALS = {signal.SIGHUP: 1, signal.SIGINT: 2, signal.SIGQUIT: 3, signal.SIGILL: 4,
               signal.SIGTRAP: 5, signal.SIGABRT: 6, signal.SIGFPE: 8, signal.SIGKILL: 9,
               signal.SIGBUS: 10, signal.SIGSEGV: 11, signal.SIGSYS: 12, signal.SIGPIPE: 13,
               signal.SIGALRM: 14, signal.SIGTERM: 15, signal.SIGURG: 16, signal.SIGSTOP: 17,
               signal.SIGTSTP: 18, signal.SIGCONT: 19, signal.SIGCHLD: 20, signal.SIGTTIN: 21,
               signal.SIGTTOU: 22, signal.SIGIO: 23, signal.SIGXCPU: 24, signal.SIGXFSZ: 25,
               signal.SIGVTALRM: 26, signal.SIGPROF: 27, signal.SIGWINCH: 28,
               signal.SIGUSR1: 30, signal.SIGUSR2: 31, signal.SIGPWR: 32}
LINUX_SIGNALS = {gdb: linux for linux, gdb in GDB_SIGNALS.items()}
GDB_SIGNAL_UNKNOWN = 143

# Why the program is not running: Stop.kind / ProcessRunner.stopped -> Linux signal
STOP_SIGNALS = {"step": signal.SIGTRAP, "breakpoint": signal.SIGTRAP,
                "watchpoint": signal.SIGTRAP, "history-start": signal.SIGTRAP,
                "history-end": signal.SIGTRAP,
                "interrupted": signal.SIGINT, "budget": signal.SIGXCPU, "oom": signal.SIGKILL}
WATCH_REASONS = {"write": "watch", "read": "rwatch", "access": "awatch"}

# siginfo_t on x86-64: si_signo, si_errno, si_code (ints), padding, then the
# union: _sigfault.si_addr at offset 16, or _kill.si_pid and si_uid at 16 and 20.
SIGINFO_SIZE = 128
SI_KILLS = (0, -6)                   # SI_USER (kill), SI_TKILL (tkill, tgkill)


def gdb_signal(linux_signo: int) -> int:
    return GDB_SIGNALS.get(linux_signo, GDB_SIGNAL_UNKNOWN)


def linux_signal(gdb_signo: int) -> int | None:
    """The Linux number of a signal gdb names (0 stays 0), None if unknown."""
    return 0 if gdb_signo == 0 else LINUX_SIGNALS.get(gdb_signo)


def stop_signal(stop) -> int:
    """The Linux signal a stop stands for (SIGTRAP for steps and breakpoints)."""
    if stop.kind in ("signalled", "killed"):
        return stop.signo
    return STOP_SIGNALS.get(stop.kind, signal.SIGTRAP)


def stop_reply(stop, registers, ids, reason: str = "") -> bytes:
    """The reply for `stop`: W or X when the process ended, else a T packet.

    `reason` is the breakpoint reason the caller worked out (swbreak/hwbreak);
    `ids` names the thread and process (threads.ThreadIds)."""
    if stop.kind == "exited":
        return exit_reply(stop.exit_code, ids)
    if stop.kind == "killed":
        return killed_reply(stop.signo, ids)
    fields = [f"{n:02x}:{registers.read(n).hex()}" for n in (RBP, RSP, RIP)]
    fields.append(f"thread:{ids.thread}")
    if stop.kind == "watchpoint" and stop.watchpoint is not None:
        fields.append(f"{WATCH_REASONS[stop.watchpoint.kind]}:{stop.watchpoint.address:x}")
    elif stop.kind == "history-start":
        fields.append("replaylog:begin")
    elif stop.kind == "history-end":
        fields.append("replaylog:end")
    elif reason:
        fields.append(f"{reason}:")
    head = f"T{gdb_signal(stop_signal(stop)):02x}"
    return (head + "".join(f + ";" for f in fields)).encode()


def exit_reply(code: int | None, ids) -> bytes:
    return b"W%02x" % ((code or 0) & 0xFF) + ids.process_suffix()


def killed_reply(linux_signo: int, ids) -> bytes:
    return b"X%02x" % gdb_signal(linux_signo) + ids.process_suffix()


def ended_reply(runner, ids) -> bytes:
    """What a resume of a program that cannot run any more gets: W after an
    exit, X and the signal that ended it otherwise (gdb: 'Program terminated')."""
    if runner.exit_code is not None:
        return exit_reply(runner.exit_code, ids)
    signo = runner.signal or STOP_SIGNALS.get(runner.stopped, signal.SIGKILL)
    return killed_reply(signo, ids)


def siginfo(info) -> bytes:
    """The x86-64 siginfo_t of a kernel.process.SignalInfo: si_addr for a
    fault, si_pid and si_uid for a signal sent with kill/tkill/tgkill."""
    head = b"".join(v.to_bytes(4, "little", signed=True)
                    for v in (info.signo, 0, info.code, 0))
    if info.code in SI_KILLS:
        body = info.pid.to_bytes(4, "little") + info.uid.to_bytes(4, "little")
    else:
        body = info.address.to_bytes(8, "little")
    return (head + body).ljust(SIGINFO_SIZE, b"\0")

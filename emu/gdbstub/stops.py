"""Stop replies: what gdb is told when the program stops, ends or faults.

    T05 06:<rbp>;07:<rsp>;10:<rip>;thread:1;swbreak:;    stopped (signal, registers, why)
    W07                                                   exited with status 7
    X0b                                                   killed by signal 11

Registers in a T packet are gdb numbers in hex (10 is 16: rip), values
little-endian; they save gdb a `g` after every step. Reasons: swbreak/hwbreak
(a breakpoint), watch/rwatch/awatch:ADDR (a watchpoint on ADDR),
replaylog:begin (reverse execution reached the start of the history).

Signal numbers on the wire are gdb's own (include/gdb/signals.h), not the
host's: SIGBUS is 7 on Linux but 10 to gdb. siginfo (qXfer:siginfo:read)
uses Linux's numbers and the x86-64 siginfo_t layout.
"""

from __future__ import annotations

import signal

from ..paging import NOT_PRESENT
from ..registers import U64
from .registers import RBP, RIP, RSP

THREAD = "1"                         # the one thread gdb sees

# Linux signal number -> gdb's number for it
GDB_SIGNALS = {signal.SIGINT: 2, signal.SIGILL: 4, signal.SIGTRAP: 5, signal.SIGABRT: 6,
               signal.SIGFPE: 8, signal.SIGKILL: 9, signal.SIGBUS: 10, signal.SIGSEGV: 11,
               signal.SIGXCPU: 24}
GDB_SIGNAL_UNKNOWN = 143

# Why the program is not running: Stop.kind / ProcessRunner.stopped -> Linux signal
STOP_SIGNALS = {"step": signal.SIGTRAP, "breakpoint": signal.SIGTRAP,
                "watchpoint": signal.SIGTRAP, "history-start": signal.SIGTRAP,
                "interrupted": signal.SIGINT, "budget": signal.SIGXCPU, "oom": signal.SIGKILL}
WATCH_REASONS = {"write": "watch", "read": "rwatch", "access": "awatch"}

# siginfo_t on x86-64: si_signo, si_errno, si_code (ints), padding, then the
# union, whose _sigfault.si_addr is at offset 16; 128 bytes in all.
SIGINFO_SIZE = 128
SI_ADDR_OFFSET = 16
SEGV_MAPERR, SEGV_ACCERR = 1, 2
FAULT_CODES = {signal.SIGILL: 2, signal.SIGFPE: 1, signal.SIGBUS: 2,      # ILL_ILLOPN,
               signal.SIGTRAP: 1}                                         # FPE_INTDIV, ...


def gdb_signal(linux_signo: int) -> int:
    return GDB_SIGNALS.get(linux_signo, GDB_SIGNAL_UNKNOWN)


def stop_signal(stop, runner) -> int:
    """The Linux signal a stop stands for (SIGTRAP for steps and breakpoints)."""
    if stop.kind == "fault":
        return runner.fault.signo if runner.fault is not None else signal.SIGSEGV
    return STOP_SIGNALS.get(stop.kind, signal.SIGTRAP)


def stop_reply(stop, runner, registers, reason: str = "") -> bytes:
    """The reply for `stop`: W when the process exited, else a T packet.

    `reason` is the breakpoint reason the caller worked out (swbreak/hwbreak)."""
    if stop.kind == "exited":
        return exit_reply(stop.exit_code)
    fields = [f"{n:02x}:{registers.read(n).hex()}" for n in (RBP, RSP, RIP)]
    fields.append(f"thread:{THREAD}")
    if stop.kind == "watchpoint" and stop.watchpoint is not None:
        fields.append(f"{WATCH_REASONS[stop.watchpoint.kind]}:{stop.watchpoint.address:x}")
    elif stop.kind == "history-start":
        fields.append("replaylog:begin")
    elif reason:
        fields.append(f"{reason}:")
    head = f"T{gdb_signal(stop_signal(stop, runner)):02x}"
    return (head + "".join(f + ";" for f in fields)).encode()


def exit_reply(code: int | None) -> bytes:
    return b"W%02x" % ((code or 0) & 0xFF)


def ended_reply(runner) -> bytes:
    """What a resume of a program that cannot run any more gets: W after an
    exit, X and the signal that ended it otherwise (gdb: 'Program terminated')."""
    if runner.exit_code is not None:
        return exit_reply(runner.exit_code)
    signo = runner.fault.signo if runner.fault is not None else \
        STOP_SIGNALS.get(runner.stopped, signal.SIGKILL)
    return b"X%02x" % gdb_signal(signo)


def siginfo(linux_signo: int, fault) -> bytes:
    """A siginfo_t for the stop's signal; for a fault, si_code and si_addr
    say what Linux would (SEGV_MAPERR or SEGV_ACCERR and the faulting address)."""
    code, address = 0, 0
    if fault is not None:
        address = fault.address & U64
        if linux_signo == signal.SIGSEGV:
            code = SEGV_MAPERR if fault.reason == NOT_PRESENT else SEGV_ACCERR
        else:
            code = FAULT_CODES.get(linux_signo, 0)
    head = b"".join(v.to_bytes(4, "little", signed=True) for v in (linux_signo, 0, code, 0))
    body = address.to_bytes(8, "little")
    return (head + body).ljust(SIGINFO_SIZE, b"\0")

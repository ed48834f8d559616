"""Signal syscalls: kill, tkill, tgkill, the signal mask and the dispositions.

A process here has one thread. A signal comes from the process itself
(abort() and raise() use tgkill or tkill), from another process of the run
(kill), from the kernel (SIGPIPE on a broken pipe) or from the machine (a
fault; see emu/runner.py). What happens to it is the default action of
signal(7), per process:

    terminate   HUP INT KILL USR1 USR2 PIPE ALRM TERM STKFLT IO PWR VTALRM
                PROF, and the real-time signals 32..64
    core dump   QUIT ILL TRAP ABRT BUS FPE SEGV XCPU XFSZ SYS (terminates too;
                no core file is written)
    ignore      CHLD URG WINCH, and CONT
    stop        STOP TSTP TTIN TTOU: there is no job control here and nobody
                to send SIGCONT, so they are ignored

A blocked signal waits in `pending` until rt_sigprocmask unblocks it (musl's
raise() blocks every signal around its tkill). SIG_IGN discards a signal.
emu runs no signal handlers: a signal whose handler is installed takes its
default action, and the report says so (`handled`).

When a signal's action is to terminate, SignalState.fatal is set and the
runner stops the process after the syscall returns (emu/runner.py).
"""

from __future__ import annotations

import struct

from ..errno import EFAULT, EINVAL, ESRCH
from ..process import SignalInfo
from ..tasks import FIRST_PID

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL = range(1, 10)
SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD = range(10, 18)
SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ = range(18, 26)
SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS = range(26, 32)
NSIG = 64

IGNORED_BY_DEFAULT = frozenset({SIGCHLD, SIGURG, SIGWINCH, SIGCONT,
                                SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU})
UNBLOCKABLE = frozenset({SIGKILL, SIGSTOP})
SIG_DFL, SIG_IGN = 0, 1
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SI_USER, SI_TKILL = 0, -6                 # si_code of kill() and of tkill()/tgkill()
SIGSET_SIZE = 8
SIGACTION = struct.Struct("<QQQQ")        # handler, flags, restorer, mask (the kernel's layout)
UID = 1000


def bit(signo: int) -> int:
    """The bit of `signo` in a sigset_t (signal 1 is bit 0)."""
    return 1 << (signo - 1)


def valid(signo: int) -> bool:
    return 1 <= signo <= NSIG


def kills_by_default(signo: int) -> bool:
    """Does the default action of `signo` end the process (terminate or core)?"""
    return valid(signo) and signo not in IGNORED_BY_DEFAULT


def handled(proc, signo: int) -> bool:
    """Has the program installed a handler for `signo` (which emu will not run)?"""
    return proc.signals.actions.get(signo, SIG_DFL) not in (SIG_DFL, SIG_IGN)


# -- sending ---------------------------------------------------------------------------

def send(proc, info: SignalInfo) -> None:
    """Deliver `info` to the process, or keep it pending while it is blocked."""
    state = proc.signals
    if state.actions.get(info.signo, SIG_DFL) == SIG_IGN and info.signo not in UNBLOCKABLE:
        return
    if state.mask & bit(info.signo) and info.signo not in UNBLOCKABLE:
        state.pending.setdefault(info.signo, info)
        return
    _act(proc, info)


def _act(proc, info: SignalInfo) -> None:
    if kills_by_default(info.signo) and proc.signals.fatal is None:
        proc.signals.fatal = info


def _deliver_unblocked(proc) -> None:
    state = proc.signals
    for signo in sorted(state.pending):
        if not state.mask & bit(signo):
            _act(proc, state.pending.pop(signo))


def _to_self(proc, signo: int, code: int) -> int:
    if signo == 0:                       # kill(pid, 0): does the process exist?
        return 0
    if not valid(signo):
        return -EINVAL
    send(proc, SignalInfo(signo, code, pid=proc.pid, uid=UID))
    return 0


def send_kernel_signal(proc, signo: int) -> None:
    """A signal the kernel sends the calling process (SIGPIPE from a write to a
    pipe with no reader), as Linux's send_sig(sig, current, 0) does."""
    send(proc, SignalInfo(signo, SI_USER, pid=proc.pid, uid=UID))


def _targets(proc, pid: int) -> list:
    """The processes kill(pid, ...) reaches: one pid, or every live process of
    the run for 0, -1 and -FIRST_PID (the run is one process group, led by
    the first process). Ended processes are not reached."""
    everyone = proc.table.live() if proc.table is not None else [proc]
    if pid > 0:
        return [p for p in everyone if p.pid == pid]
    return list(everyone) if pid in (0, -1, -FIRST_PID) else []


def sys_kill(proc, pid: int, signo: int) -> int:
    """kill(2): to one process of the run, or to all of them (0, -1, or minus
    the first process's pid: the one process group); ESRCH when none matches."""
    targets = _targets(proc, _signed32(pid))
    if not targets:
        return -ESRCH
    if signo == 0:
        return 0
    if not valid(signo):
        return -EINVAL
    for target in targets:
        send(target, SignalInfo(signo, SI_USER, pid=proc.pid, uid=UID))
    return 0


def sys_tkill(proc, tid: int, signo: int) -> int:
    if _signed32(tid) <= 0:
        return -EINVAL
    if tid != proc.pid:                 # the one thread's id is the pid
        return -ESRCH
    return _to_self(proc, signo, SI_TKILL)


def sys_tgkill(proc, tgid: int, tid: int, signo: int) -> int:
    if _signed32(tgid) <= 0 or _signed32(tid) <= 0:
        return -EINVAL
    if tgid != proc.pid or tid != proc.pid:
        return -ESRCH
    return _to_self(proc, signo, SI_TKILL)


def _signed32(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >> 31 else value


# -- dispositions and the mask ----------------------------------------------------------

def sys_rt_sigaction(proc, signo: int, act: int, oldact: int, sigsetsize: int) -> int:
    """Remember the handler (SIG_DFL, SIG_IGN or an address); the flags,
    restorer and mask are accepted and not kept."""
    if sigsetsize != SIGSET_SIZE or not valid(signo) or (act and signo in UNBLOCKABLE):
        return -EINVAL
    new = None
    if act:
        raw = proc.read(act, SIGACTION.size)
        if raw is None:
            return -EFAULT
        new = SIGACTION.unpack(raw)[0]
    if oldact:
        old = proc.signals.actions.get(signo, SIG_DFL)
        if not proc.write(oldact, SIGACTION.pack(old, 0, 0, 0)):
            return -EFAULT
    if new is not None:
        proc.signals.actions[signo] = new
        if new == SIG_IGN:
            proc.signals.pending.pop(signo, None)
    return 0


def sys_rt_sigprocmask(proc, how: int, newset: int, oldset: int, sigsetsize: int) -> int:
    """Change the blocked mask; pending signals it unblocks are delivered."""
    if sigsetsize != SIGSET_SIZE or (newset and how not in (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK)):
        return -EINVAL
    state = proc.signals
    change = None
    if newset:
        raw = proc.read(newset, SIGSET_SIZE)
        if raw is None:
            return -EFAULT
        change = int.from_bytes(raw, "little")
    if oldset and not proc.write(oldset, state.mask.to_bytes(SIGSET_SIZE, "little")):
        return -EFAULT
    if change is not None:
        if how == SIG_BLOCK:
            state.mask |= change
        elif how == SIG_UNBLOCK:
            state.mask &= ~change
        else:
            state.mask = change
        state.mask &= ~(bit(SIGKILL) | bit(SIGSTOP))
        _deliver_unblocked(proc)
    return 0

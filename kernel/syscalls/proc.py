"""Process syscalls: exit, thread setup, limits, identity, time, randomness.

A process here is one thread. The signal calls are in signal.py; sigaltstack
is here because nothing is ever delivered on an alternate stack.
"""

from __future__ import annotations

import struct
import time

from ..address_space import STACK_LIMIT
from ..errno import EFAULT, EINVAL, ENOSYS, ESRCH, EAGAIN

ARCH_SET_GS = 0x1001
ARCH_SET_FS = 0x1002
ARCH_GET_FS = 0x1003
ARCH_GET_GS = 0x1004
RLIM_INFINITY = (1 << 64) - 1
RLIMIT_DATA = 2
RLIMIT_STACK = 3
RLIMIT_NOFILE = 7
RLIMIT_NLIMITS = 16
FUTEX_WAIT, FUTEX_WAKE = 0, 1
UID = 1000


def sys_exit(proc, code: int) -> int:
    proc.exit(code)
    return 0


def sys_exit_group(proc, code: int) -> int:
    proc.exit(code)
    return 0


def sys_arch_prctl(proc, code: int, addr: int) -> int:
    if code == ARCH_SET_FS:
        proc.cpu.set_fs_base(addr)
        return 0
    if code == ARCH_SET_GS:
        proc.cpu.set_gs_base(addr)
        return 0
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        value = proc.cpu.fs_base() if code == ARCH_GET_FS else proc.cpu.gs_base()
        return 0 if proc.write(addr, struct.pack("<Q", value)) else -EFAULT
    return -EINVAL


def sys_set_tid_address(proc, tidptr: int) -> int:
    proc.clear_child_tid = tidptr
    return proc.pid


def sys_set_robust_list(proc, head: int, length: int) -> int:
    return 0 if length == 24 else -EINVAL


def sys_rseq(proc, rseq: int, length: int, flags: int, sig: int) -> int:
    return -ENOSYS


def _limit(proc, resource: int) -> tuple[int, int]:
    if resource == RLIMIT_DATA and proc.data_limit is not None:
        return proc.data_limit, proc.data_limit
    if resource == RLIMIT_STACK:
        return STACK_LIMIT, RLIM_INFINITY
    if resource == RLIMIT_NOFILE:
        return 1024, 4096
    return RLIM_INFINITY, RLIM_INFINITY


def sys_prlimit64(proc, pid: int, resource: int, new: int, old: int) -> int:
    if pid not in (0, proc.pid):
        return -ESRCH
    if resource >= RLIMIT_NLIMITS:
        return -EINVAL
    if new and proc.read(new, 16) is None:
        return -EFAULT
    if old and not proc.write(old, struct.pack("<QQ", *_limit(proc, resource))):
        return -EFAULT
    return 0


def sys_getrlimit(proc, resource: int, rlim: int) -> int:
    return sys_prlimit64(proc, 0, resource, 0, rlim)


def sys_uname(proc, buf: int) -> int:
    fields = (b"Linux", b"emu", b"6.1.0-emu", b"#1 SMP emu", b"x86_64", b"(none)")
    data = b"".join(f.ljust(65, b"\0") for f in fields)
    return 0 if proc.write(buf, data) else -EFAULT


def sys_sched_getaffinity(proc, pid: int, size: int, mask: int) -> int:
    """One CPU. Returns the size of the kernel's mask, as Linux does."""
    if pid not in (0, proc.pid):
        return -ESRCH
    if size < 8 or size % 8:
        return -EINVAL
    return 8 if proc.write(mask, struct.pack("<Q", 1)) else -EFAULT


GETRANDOM_MAX = (1 << 25) - 1      # Linux returns at most this much per call


def sys_getrandom(proc, buf: int, length: int, flags: int) -> int:
    """Bytes from the process's seeded generator: runs are reproducible."""
    if flags & ~0x7:
        return -EINVAL
    length = min(length, GETRANDOM_MAX)
    if not proc.can_access(buf, length, "write"):
        return -EFAULT
    data = proc.random.randbytes(length)
    return length if proc.write(buf, data) else -EFAULT


def sys_sigaltstack(proc, ss: int, old: int) -> int:
    if old and not proc.write(old, struct.pack("<QiiQ", 0, 2, 0, 0)):   # SS_DISABLE
        return -EFAULT
    return 0


def sys_getuid(proc) -> int:
    return UID


def sys_futex(proc, uaddr: int, op: int, val: int, timeout: int, uaddr2: int, val3: int) -> int:
    """One thread: nobody can wake a waiter, so WAIT never sleeps."""
    command = op & 0x7F
    if command == FUTEX_WAKE:
        return 0
    if command == FUTEX_WAIT:
        word = proc.read(uaddr, 4)
        if word is None:
            return -EFAULT
        return -EAGAIN
    return -ENOSYS


def _timespec(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("<qq", whole, int((seconds - whole) * 1e9))


def sys_clock_gettime(proc, clock: int, tp: int) -> int:
    now = time.time() if clock == 0 else time.monotonic()
    return 0 if proc.write(tp, _timespec(now)) else -EFAULT


def sys_gettimeofday(proc, tv: int, tz: int) -> int:
    now = time.time()
    if tv and not proc.write(tv, struct.pack("<qq", int(now), int(now % 1 * 1e6))):
        return -EFAULT
    return 0


def sys_time(proc, tloc: int) -> int:
    now = int(time.time())
    if tloc and not proc.write(tloc, struct.pack("<q", now)):
        return -EFAULT
    return now


def sys_nanosleep(proc, req: int, rem: int) -> int:
    return 0 if proc.read(req, 16) is not None else -EFAULT


def sys_clock_nanosleep(proc, clock: int, flags: int, req: int, rem: int) -> int:
    return sys_nanosleep(proc, req, rem)

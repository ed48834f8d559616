"""The syscall table: one explicit number -> handler map (Linux x86-64 numbers).

A handler takes the process and as many arguments as its entry lists, and
returns the result or -errno. The argument kinds say how --strace prints them.
Numbers not in the table return -ENOSYS and are logged like the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errno import ENOSYS
from ..files import Blocked
from ..process import SyscallRecord
from . import fds, io, madvise, mman, mremap, proc, signal, tasks
from .trace import format_call


@dataclass(frozen=True)
class Syscall:
    name: str
    handler: object
    args: tuple[str, ...]       # argument kinds, see trace.py


TABLE: dict[int, Syscall] = {
    0: Syscall("read", io.sys_read, ("fd", "ptr", "size")),
    1: Syscall("write", io.sys_write, ("fd", "buf", "size")),
    2: Syscall("open", io.sys_open, ("path", "hex", "oct")),
    3: Syscall("close", fds.sys_close, ("fd",)),
    4: Syscall("stat", io.sys_stat, ("path", "ptr")),
    5: Syscall("fstat", io.sys_fstat, ("fd", "ptr")),
    6: Syscall("lstat", io.sys_stat, ("path", "ptr")),
    8: Syscall("lseek", io.sys_lseek, ("fd", "int", "int")),
    9: Syscall("mmap", mman.sys_mmap, ("ptr", "size", "prot", "mapflags", "fd", "hex")),
    10: Syscall("mprotect", mman.sys_mprotect, ("ptr", "size", "prot")),
    11: Syscall("munmap", mman.sys_munmap, ("ptr", "size")),
    12: Syscall("brk", mman.sys_brk, ("ptr",)),
    13: Syscall("rt_sigaction", signal.sys_rt_sigaction, ("int", "ptr", "ptr", "int")),
    14: Syscall("rt_sigprocmask", signal.sys_rt_sigprocmask, ("int", "ptr", "ptr", "int")),
    16: Syscall("ioctl", io.sys_ioctl, ("fd", "hex", "ptr")),
    20: Syscall("writev", io.sys_writev, ("fd", "ptr", "int")),
    21: Syscall("access", io.sys_access, ("path", "int")),
    22: Syscall("pipe", fds.sys_pipe, ("ptr",)),
    24: Syscall("sched_yield", tasks.sys_sched_yield, ()),
    25: Syscall("mremap", mremap.sys_mremap, ("ptr", "size", "size", "hex", "ptr")),
    28: Syscall("madvise", madvise.sys_madvise, ("ptr", "size", "int")),
    32: Syscall("dup", fds.sys_dup, ("fd",)),
    33: Syscall("dup2", fds.sys_dup2, ("fd", "fd")),
    35: Syscall("nanosleep", proc.sys_nanosleep, ("ptr", "ptr")),
    39: Syscall("getpid", tasks.sys_getpid, ()),
    56: Syscall("clone", tasks.sys_clone, ("hex", "ptr", "ptr", "ptr", "ptr")),
    57: Syscall("fork", tasks.sys_fork, ()),
    58: Syscall("vfork", tasks.sys_fork, ()),
    60: Syscall("exit", proc.sys_exit, ("int",)),
    61: Syscall("wait4", tasks.sys_wait4, ("int", "ptr", "hex", "ptr")),
    62: Syscall("kill", signal.sys_kill, ("int", "int")),
    63: Syscall("uname", proc.sys_uname, ("ptr",)),
    72: Syscall("fcntl", fds.sys_fcntl, ("fd", "int", "hex")),
    89: Syscall("readlink", io.sys_readlink, ("path", "ptr", "size")),
    96: Syscall("gettimeofday", proc.sys_gettimeofday, ("ptr", "ptr")),
    97: Syscall("getrlimit", proc.sys_getrlimit, ("int", "ptr")),
    102: Syscall("getuid", proc.sys_getuid, ()),
    104: Syscall("getgid", proc.sys_getuid, ()),
    107: Syscall("geteuid", proc.sys_getuid, ()),
    108: Syscall("getegid", proc.sys_getuid, ()),
    110: Syscall("getppid", tasks.sys_getppid, ()),
    131: Syscall("sigaltstack", proc.sys_sigaltstack, ("ptr", "ptr")),
    158: Syscall("arch_prctl", proc.sys_arch_prctl, ("hex", "ptr")),
    186: Syscall("gettid", tasks.sys_getpid, ()),
    200: Syscall("tkill", signal.sys_tkill, ("int", "int")),
    201: Syscall("time", proc.sys_time, ("ptr",)),
    202: Syscall("futex", proc.sys_futex, ("ptr", "int", "int", "ptr", "ptr", "int")),
    204: Syscall("sched_getaffinity", proc.sys_sched_getaffinity, ("int", "size", "ptr")),
    218: Syscall("set_tid_address", proc.sys_set_tid_address, ("ptr",)),
    228: Syscall("clock_gettime", proc.sys_clock_gettime, ("int", "ptr")),
    230: Syscall("clock_nanosleep", proc.sys_clock_nanosleep, ("int", "int", "ptr", "ptr")),
    231: Syscall("exit_group", proc.sys_exit_group, ("int",)),
    234: Syscall("tgkill", signal.sys_tgkill, ("int", "int", "int")),
    257: Syscall("openat", io.sys_openat, ("fd", "path", "hex", "oct")),
    262: Syscall("newfstatat", io.sys_newfstatat, ("fd", "path", "ptr", "hex")),
    267: Syscall("readlinkat", io.sys_readlinkat, ("fd", "path", "ptr", "size")),
    269: Syscall("faccessat", io.sys_faccessat, ("fd", "path", "int", "hex")),
    273: Syscall("set_robust_list", proc.sys_set_robust_list, ("ptr", "size")),
    292: Syscall("dup3", fds.sys_dup3, ("fd", "fd", "hex")),
    293: Syscall("pipe2", fds.sys_pipe2, ("ptr", "hex")),
    302: Syscall("prlimit64", proc.sys_prlimit64, ("int", "int", "ptr", "ptr")),
    318: Syscall("getrandom", proc.sys_getrandom, ("ptr", "size", "hex")),
    334: Syscall("rseq", proc.sys_rseq, ("ptr", "size", "hex", "hex")),
    439: Syscall("faccessat2", io.sys_faccessat, ("fd", "path", "int", "hex")),
}

_UNKNOWN_ARGS = ("hex",) * 6


def dispatch(process, number: int, args: tuple[int, ...], trace: bool = False):
    """Run syscall `number` for `process`; returns rax, or Blocked when the
    process must wait and make the call again (nothing is logged then).
    Logs the call, with an strace-style line when `trace`."""
    entry = TABLE.get(number)
    if entry is None:
        result, name, kinds = -ENOSYS, f"syscall_{number}", _UNKNOWN_ARGS
    else:
        name, kinds = entry.name, entry.args
        result = entry.handler(process, *args[:len(kinds)])
        if isinstance(result, Blocked):
            return result
    record = SyscallRecord(number, name, tuple(args[:len(kinds)]), result)
    if trace:
        record.text = format_call(process, name, kinds, record.args, result)
    process.log(record)
    return result

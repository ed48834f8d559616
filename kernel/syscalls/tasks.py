"""Process syscalls for more than one process: fork, vfork, clone, wait4,
getpid/getppid/gettid, sched_yield.

    fork()       a child with a copy-on-write copy of the address space
                 (kernel/fork.py), the same open files, the same registers;
                 0 in the child, the child's pid in the parent
    vfork()      the same as fork here (the parent is not suspended)
    clone(...)   with the flags glibc's and musl's fork() use (a signal number
                 and CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID / CLONE_PARENT_SETTID);
                 threads (CLONE_VM, CLONE_THREAD, ...) are refused with EINVAL
    wait4(...)   reaps a zombie child: its wait status (kernel/tasks.py),
                 0 with WNOHANG when none has ended, ECHILD when there is none;
                 otherwise the caller blocks until a child ends

The runner (emu/runner.py) gives the child the parent's CPU state: a process
carries `context`, saved by the CPU port, and `syscall_return`, the value its
interrupted system call returns when it first runs.
"""

from __future__ import annotations

import struct

from emu.errors import OutOfMemory

from ..errno import ECHILD, EFAULT, EINVAL, ENOMEM
from ..files import Blocked
from ..fork import fork_address_space
from ..process import Process

SIGCHLD = 17
CSIGNAL = 0xFF
CLONE_PARENT_SETTID = 0x0010_0000
CLONE_CHILD_CLEARTID = 0x0020_0000
CLONE_CHILD_SETTID = 0x0100_0000
FORK_FLAGS = CSIGNAL | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID
WNOHANG, WUNTRACED, WCONTINUED = 1, 2, 8
WAIT_OPTIONS = WNOHANG | WUNTRACED | WCONTINUED | 0x4000_0000 | 0x8000_0000   # __WALL, __WCLONE
RUSAGE_SIZE = 144


def _int(value: int) -> int:
    """A pid argument as the signed int the kernel sees."""
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def fork_process(parent: Process) -> Process | int:
    """The new child process (runnable, in the parent's table), or -ENOMEM."""
    try:
        space = fork_address_space(parent.aspace)
    except OutOfMemory:
        return -ENOMEM
    child = Process(space, parent.path, list(parent.argv), cpu=parent.cpu,
                    files=parent.files.fork(), console=parent.console,
                    seed=parent.random.getrandbits(32))
    child.data_limit = parent.data_limit
    child.signals = parent.signals.copy()
    child.signals.pending.clear()
    child.context = parent.cpu.save_context()
    child.syscall_return = 0
    parent.table.add(child, parent)
    return child


def sys_fork(proc) -> int:
    child = fork_process(proc)
    return child if isinstance(child, int) else child.pid


def sys_clone(proc, flags: int, stack: int, parent_tid: int, child_tid: int, tls: int) -> int:
    """clone as fork() calls it; anything that would make a thread is EINVAL."""
    if flags & ~FORK_FLAGS or stack:
        return -EINVAL
    child = fork_process(proc)
    if isinstance(child, int):
        return child
    tid = struct.pack("<i", child.pid)
    if flags & CLONE_PARENT_SETTID and not proc.write(parent_tid, tid):
        return -EFAULT
    if flags & CLONE_CHILD_SETTID:
        child.write(child_tid, tid)             # a fault here is the child's to find
    if flags & CLONE_CHILD_CLEARTID:
        child.clear_child_tid = child_tid
    return child.pid


def sys_wait4(proc, pid: int, status: int, options: int, rusage: int):
    """Reap an ended child: its pid, and its wait status at `status` (unless
    NULL) and a zeroed struct rusage at `rusage` (unless NULL)."""
    pid = _int(pid)
    if options & ~WAIT_OPTIONS:
        return -EINVAL
    zombie, any_child = proc.table.waitable(proc, -1 if pid < -1 else pid)
    if not any_child:
        return -ECHILD
    if zombie is None:
        return 0 if options & WNOHANG else Blocked("a child to exit")
    if status and not proc.write(status, struct.pack("<i", zombie.wait_status)):
        return -EFAULT
    if rusage and not proc.write(rusage, bytes(RUSAGE_SIZE)):
        return -EFAULT
    proc.table.reap(zombie)
    return zombie.pid


def sys_getpid(proc) -> int:
    return proc.pid


def sys_getppid(proc) -> int:
    return proc.ppid


def sys_sched_yield(proc) -> int:
    """Give up the CPU: the runner moves to the next process after this call."""
    proc.yield_requested = True
    return 0

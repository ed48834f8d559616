"""The processes of a run: pids, parents and children, exit statuses, and who runs next.

    table = ProcessTable()            # pids from FIRST_PID, in creation order
    table.add(proc, parent)           # fork and the first exec
    table.exited(proc, status)        # a zombie until its parent's wait4
    table.scheduler.next()            # round-robin over runnable processes

Wait status words are built as Linux builds them (<sys/wait.h>):

    exited with code c      (c & 0xff) << 8          WIFEXITED, WEXITSTATUS
    killed by signal s      s & 0x7f                 WIFSIGNALED, WTERMSIG

No core file is ever written, so the 0x80 bit (WCOREDUMP) stays clear, as on
a Linux system with the usual `ulimit -c 0`.

A process whose parent exits first is given to init (pid 1), which here is
the kernel itself: it reaps such zombies at once, so nothing is left behind.

The scheduler is round-robin and deterministic: the same program gives the
same interleaving on every run. A process leaves the queue's head when its
time slice (an instruction quantum) runs out, when it blocks (wait4 with no
exited child, read of an empty pipe), or when it exits. A blocked process is
skipped until something it may be waiting for happens (wake_all: a child
exits, a pipe changes); it then makes its system call again.
"""

from __future__ import annotations

from collections import deque

from emu.errors import KernelPanic

FIRST_PID = 1000                 # where pids start (the first program's pid)
INIT_PID = 1                     # the parent of orphans: the kernel reaps them

RUNNABLE, BLOCKED, ZOMBIE = "runnable", "blocked", "zombie"


def exited_status(code: int) -> int:
    """The wait status of a process that called exit(code)."""
    return (code & 0xFF) << 8


def signaled_status(signo: int) -> int:
    """The wait status of a process killed by signal `signo` (no core dumped)."""
    return signo & 0x7F


class Scheduler:
    """Round-robin over pids; blocked ones wait for a wake-up."""

    def __init__(self):
        self._queue: deque[int] = deque()
        self._state: dict[int, str] = {}
        self._woken: set[int] = set()

    def add(self, pid: int) -> None:
        self._queue.append(pid)
        self._state[pid] = RUNNABLE

    def remove(self, pid: int) -> None:
        if pid in self._state:
            self._queue.remove(pid)
            del self._state[pid]
            self._woken.discard(pid)

    def block(self, pid: int) -> None:
        self._state[pid] = BLOCKED
        self._woken.discard(pid)

    def wake_all(self) -> None:
        """Something happened that a blocked process may be waiting for."""
        self._woken.update(pid for pid, state in self._state.items() if state == BLOCKED)

    def next(self) -> int | None:
        """The pid to run next, moved to the back of the queue; None when none
        can run (all blocked with nothing new: a deadlock, or no processes)."""
        for _ in range(len(self._queue)):
            pid = self._queue[0]
            self._queue.rotate(-1)
            if self._state[pid] == RUNNABLE or pid in self._woken:
                self._state[pid] = RUNNABLE
                self._woken.discard(pid)
                return pid
        return None

    def is_runnable(self, pid: int) -> bool:
        return self._state.get(pid) == RUNNABLE or pid in self._woken

    def runnable(self) -> int:
        """How many processes could run now."""
        return sum(1 for pid, s in self._state.items() if s == RUNNABLE or pid in self._woken)

    def __len__(self) -> int:
        return len(self._queue)

    def snapshot(self):
        return deque(self._queue), dict(self._state), set(self._woken)

    def restore(self, state) -> None:
        queue, states, woken = state
        self._queue, self._state, self._woken = deque(queue), dict(states), set(woken)


class ProcessTable:
    """Every process of one run, by pid, with the scheduler that runs them."""

    def __init__(self):
        self.processes: dict = {}              # pid -> Process, live and zombie
        self.scheduler = Scheduler()
        self._next_pid = FIRST_PID

    def add(self, proc, parent=None) -> int:
        """Give `proc` the next pid and make it runnable; returns the pid."""
        pid = self._next_pid
        self._next_pid += 1
        proc.pid = pid
        proc.ppid = parent.pid if parent is not None else INIT_PID
        proc.table = self
        self.processes[pid] = proc
        self.scheduler.add(pid)
        return pid

    def get(self, pid: int):
        return self.processes.get(pid)

    @property
    def created(self) -> int:
        """How many processes the table has ever had."""
        return self._next_pid - FIRST_PID

    def children(self, pid: int) -> list:
        return [p for p in self.processes.values() if p.ppid == pid]

    def live(self) -> list:
        return [p for p in self.processes.values() if p.wait_status is None]

    def exited(self, proc, status: int) -> None:
        """`proc` has ended with wait status `status`: it stays a zombie for
        its parent's wait4; its children go to init; waiters are woken."""
        if proc.wait_status is not None:
            raise KernelPanic(f"process_exit: pid {proc.pid} exited twice")
        proc.wait_status = status
        self.scheduler.remove(proc.pid)
        for child in self.children(proc.pid):
            child.ppid = INIT_PID
        for orphan in [p for p in self.children(INIT_PID) if p.wait_status is not None]:
            self.reap(orphan)
        self.scheduler.wake_all()

    def waitable(self, parent, pid: int):
        """For wait4(pid, ...) by `parent`: (a zombie child to reap or None,
        whether any child matches at all). pid -1 (or 0 here: one process
        group) means any child; pid > 0 that child."""
        matching = [c for c in self.children(parent.pid) if pid in (-1, 0) or c.pid == pid]
        zombie = next((c for c in matching if c.wait_status is not None), None)
        return zombie, bool(matching)

    def reap(self, proc) -> int:
        """Forget a zombie; returns its wait status."""
        if proc.wait_status is None:
            raise KernelPanic(f"reap: pid {proc.pid} is still running")
        del self.processes[proc.pid]
        return proc.wait_status

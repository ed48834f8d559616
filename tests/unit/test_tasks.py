"""The process table and the scheduler: pids, zombies, orphans, wait statuses,
round-robin order and wake-ups (pure logic)."""

from kernel.tasks import (FIRST_PID, INIT_PID, ProcessTable, exited_status, signaled_status)


class Proc:
    def __init__(self):
        self.pid = self.ppid = 0
        self.wait_status = None


def test_wait_statuses_are_built_as_linux_builds_them():
    assert exited_status(3) == 0x300 and exited_status(256 + 7) == 0x700
    assert signaled_status(9) == 9 and signaled_status(11) == 11
    assert signaled_status(6) == 6                       # no core file: WCOREDUMP is 0


def test_pids_parents_and_reaping():
    table = ProcessTable()
    parent, child = Proc(), Proc()
    assert table.add(parent) == FIRST_PID and parent.ppid == INIT_PID
    assert table.add(child, parent) == FIRST_PID + 1 and child.ppid == parent.pid
    assert table.waitable(parent, -1) == (None, True)
    table.exited(child, exited_status(4))
    zombie, any_child = table.waitable(parent, child.pid)
    assert zombie is child and any_child
    assert table.reap(child) == 0x400 and table.get(child.pid) is None
    assert table.waitable(parent, -1) == (None, False)     # ECHILD now


def test_an_orphan_goes_to_init_and_is_reaped_when_it_exits():
    table = ProcessTable()
    parent, child = Proc(), Proc()
    table.add(parent)
    table.add(child, parent)
    table.exited(parent, exited_status(0))                  # the parent goes first
    assert child.ppid == INIT_PID
    table.exited(child, exited_status(1))
    assert table.get(child.pid) is None and table.get(parent.pid) is None


def test_round_robin_skips_blocked_processes_until_woken():
    table = ProcessTable()
    a, b, c = Proc(), Proc(), Proc()
    for p in (a, b, c):
        table.add(p)
    s = table.scheduler
    assert [s.next() for _ in range(4)] == [a.pid, b.pid, c.pid, a.pid]
    s.block(b.pid)
    assert [s.next() for _ in range(3)] == [c.pid, a.pid, c.pid]
    s.wake_all()
    assert s.next() == a.pid and s.next() == b.pid
    for p in (a, b, c):
        s.block(p.pid)
    assert s.next() is None and s.runnable() == 0          # everyone waits: deadlock

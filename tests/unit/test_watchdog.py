"""RunTimer, the machine's time budget: it stops a run that outlasts it, once,
and never a run that ended first (nor the run after it)."""

import threading
import time

from emu.watchdog import RunTimer


def test_a_run_that_outlasts_its_budget_is_stopped_once():
    stopped = threading.Event()
    calls = []

    def stop():
        calls.append(time.monotonic())
        stopped.set()
    with RunTimer(0.05, stop):
        assert stopped.wait(5)
        time.sleep(0.1)
    assert len(calls) == 1


def test_a_run_that_ends_first_is_never_stopped():
    calls = []
    with RunTimer(0.05, lambda: calls.append(1)):
        pass
    time.sleep(0.15)
    assert calls == []


def test_no_thread_is_left_behind():
    before = threading.active_count()
    for _ in range(50):
        with RunTimer(10, lambda: None):
            pass
    time.sleep(0.1)
    assert threading.active_count() <= before + 1


def test_timers_on_several_threads_keep_their_own_deadlines_on_one_thread():
    """Runs of several machines at once (threads): each is stopped at its own
    deadline, in order, by the one watchdog thread."""
    fired = []

    def run(seconds, name):
        done = threading.Event()
        with RunTimer(seconds, lambda: (fired.append(name), done.set())):
            assert done.wait(5)

    threads = [threading.Thread(target=run, args=(s, n))
               for s, n in ((0.3, "late"), (0.05, "early"), (0.15, "middle"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fired == ["early", "middle", "late"]
    assert sum(t.name == "emu-watchdog" for t in threading.enumerate()) == 1


def test_an_ended_run_with_an_earlier_deadline_does_not_delay_the_others():
    calls = []
    with RunTimer(0.2, lambda: calls.append("outer")):
        with RunTimer(0.05, lambda: calls.append("inner")):
            pass                                       # ended long before its deadline
        time.sleep(0.4)
    assert calls == ["outer"]


def test_a_forked_child_keeps_time_budgets():
    """ProcessPoolExecutor forks its workers (emu lab grade --jobs): a child of
    a process whose watchdog thread runs must get a thread of its own."""
    import os
    with RunTimer(10, lambda: None):
        pass                                           # the parent's thread is running
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                       # the child: is a budget kept?
        fired = threading.Event()
        with RunTimer(0.05, fired.set):
            ok = fired.wait(5)
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"

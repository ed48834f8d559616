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

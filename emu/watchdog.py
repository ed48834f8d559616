"""A run's time budget, kept by a sleeping timer instead of Unicorn's timeout.

    with RunTimer(seconds, stop):      # stop() is called once if time runs out
        ... run ...

Unicorn's own `timeout` starts a thread per run that wakes every 2
microseconds (usleep(2) in uc.c's _timeout_fn) until the run ends. Measured
here, that polling costs a register-only loop 40% more CPU (0.35 s without a
timeout, 0.50 s with one, raw Unicorn, 1e8 rounds of bench/hash.c), and on a
shared machine it takes a core from the run.

Every RunTimer of the process is kept by one daemon thread, started at the
first, which sleeps until the nearest deadline: starting a thread per run
cost ~100 us (a --on-fault handler and the run after each fault, every time
slice of several processes). The thread calls `stop` (the machine's
uc_emu_stop) only while its run is still on, holding the lock that ending the
run takes: a timer that fires as the run ends cannot stop the next.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time


class _Watchdog:
    """The thread behind every RunTimer: deadlines in a heap, one wait."""

    def __init__(self):
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int]] = []     # (deadline, ticket), nearest first
        self._stops: dict[int, object] = {}          # ticket -> stop(), while its run is on
        self._tickets = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, stop) -> int:
        with self._lock:
            ticket = next(self._tickets)
            self._stops[ticket] = stop
            heapq.heappush(self._heap, (time.monotonic() + seconds, ticket))
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="emu-watchdog",
                                                daemon=True)
                self._thread.start()
            self._lock.notify()
            return ticket

    def disarm(self, ticket: int) -> None:
        with self._lock:
            self._stops.pop(ticket, None)             # its heap entry is skipped later

    def _watch(self) -> None:
        with self._lock:
            while True:
                heap = self._heap
                while heap and heap[0][1] not in self._stops:
                    heapq.heappop(heap)               # ended before its deadline
                if not heap:
                    self._lock.wait()
                    continue
                left = heap[0][0] - time.monotonic()
                if left > 0:
                    self._lock.wait(left)
                    continue
                _, ticket = heapq.heappop(heap)
                self._stops.pop(ticket)()


_WATCHDOG = _Watchdog()


def _after_fork_in_child() -> None:
    """A forked child (the lab grader's worker processes) has no watchdog
    thread, only the parent's record of one: it starts its own."""
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


os.register_at_fork(after_in_child=_after_fork_in_child)


class RunTimer:
    """Calls `stop()` after `seconds` unless the with-block has ended first."""

    def __init__(self, seconds: float, stop):
        self._seconds = seconds
        self._stop = stop
        self._ticket: int | None = None

    def __enter__(self) -> RunTimer:
        self._ticket = _WATCHDOG.arm(self._seconds, self._stop)
        return self

    def __exit__(self, *_exc) -> None:
        _WATCHDOG.disarm(self._ticket)

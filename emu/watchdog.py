"""A run's time budget, kept by a sleeping timer instead of Unicorn's timeout.

    with RunTimer(seconds, stop):      # stop() is called once if time runs out
        ... run ...

Unicorn's own `timeout` starts a thread per run that wakes every 2
microseconds (usleep(2) in uc.c's _timeout_fn) until the run ends. Measured
here, that polling costs a register-only loop 40% more CPU (0.35 s without a
timeout, 0.50 s with one, raw Unicorn, 1e8 rounds of bench/hash.c), and on a
shared machine it takes a core from the run. A RunTimer sleeps on an event
until its deadline and calls `stop` (the machine's uc_emu_stop) only while
its run is still on: a timer that wakes as the run ends cannot stop the next.
"""

from __future__ import annotations

import threading


class RunTimer:
    """Calls `stop()` after `seconds` unless the with-block has ended first."""

    def __init__(self, seconds: float, stop):
        self._seconds = seconds
        self._stop = stop
        self._lock = threading.Lock()
        self._running = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> RunTimer:
        self._running = True
        self._timer.start()
        return self

    def __exit__(self, *_exc) -> None:
        with self._lock:
            self._running = False
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._running:
                self._stop()

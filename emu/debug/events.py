"""What the debug target reports: breakpoints, and why execution stopped.

    Breakpoint   a place execution stops at (several share a number when one
                 `break` has many locations, e.g. every inlined copy)
    Stop         why a run ended: step, breakpoint, watchpoint, signalled,
                 exited, killed, history-start, history-end, ...
    Hit         a hook's request to stop, carried through Machine.stop()
"""

from __future__ import annotations

from dataclasses import dataclass

from ..machine import Budget
from .watchpoints import Watchpoint

STEP = Budget(instructions=1)
CONTINUE = Budget(seconds=3600)


@dataclass
class Breakpoint:
    number: int
    address: int
    temporary: bool = False
    enabled: bool = True
    hits: int = 0
    location: str = ""
    hook: object = None
    condition: object = None        # condition() -> bool, or None: stop every time
    hidden: bool = False            # another way into a location listed elsewhere


@dataclass
class Stop:
    """Why the target stopped. kind: step, breakpoint, watchpoint, signalled
    (a signal is pending), exited, killed (by a signal), fault, budget, oom,
    panic, history-start, history-end (a replay reached the log's end),
    interrupted."""
    kind: str
    rip: int = 0
    breakpoint: Breakpoint | None = None
    watchpoint: Watchpoint | None = None
    old: bytes = b""
    new: bytes = b""
    access_address: int = 0
    message: str = ""
    exit_code: int | None = None
    signo: int = 0


@dataclass
class Hit:
    """A hook's request to stop (passed through Machine.stop)."""
    breakpoint: Breakpoint | None = None
    watchpoint: Watchpoint | None = None
    rip: int = 0
    paddr: int = 0
    size: int = 0
    old: bytes = b""
    read: bool = False

"""The debugger's commands, registered here explicitly (no import-time magic).

find(word) resolves a command the way gdb does: an exact name or alias first,
then a unique prefix of a name ("disas", "fin", "bre")."""

from __future__ import annotations

from .backtrace import BACKTRACE
from .base import Command
from .breakpoint import BREAK, TBREAK
from .delete import DELETE
from .display import DISPLAY, UNDISPLAY
from .examine import DISASSEMBLE, X
from .frame import DOWN, FRAME, UP
from .heap import HEAP
from .info import INFO
from .listing import LIST
from .meta import CONTEXT, HELP, QUIT, SHOW
from .os_views import MEMMAP, PT, SYSCALLS, VMMAP
from .print import OUTPUT, PRINT
from .record import RECORD
from .reverse import REVERSE_CONTINUE, REVERSE_STEPI
from .running import CONTINUE, KILL, RUN, START
from .set import SET
from .signal import SIGNAL
from .stepping import FINISH, NEXT, NEXTI, STEP, STEPI, UNTIL
from .types import PTYPE, WHATIS
from .watch import AWATCH, RWATCH, WATCH

COMMANDS: tuple[Command, ...] = (
    RUN, START, CONTINUE, KILL, SIGNAL,
    STEPI, NEXTI, STEP, NEXT, FINISH, UNTIL, REVERSE_STEPI, REVERSE_CONTINUE, RECORD,
    BREAK, TBREAK, DELETE, WATCH, RWATCH, AWATCH,
    BACKTRACE, FRAME, UP, DOWN, LIST,
    PRINT, OUTPUT, SET, DISPLAY, UNDISPLAY, WHATIS, PTYPE, X, DISASSEMBLE, INFO,
    PT, VMMAP, MEMMAP, HEAP, SYSCALLS,
    CONTEXT, SHOW, HELP, QUIT,
)


def find(word: str) -> Command | None:
    for command in COMMANDS:
        if word == command.name or word in command.aliases:
            return command
    matches = [c for c in COMMANDS if c.name.startswith(word)]
    return matches[0] if len(matches) == 1 else None

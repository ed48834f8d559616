"""The debugger's commands, registered here explicitly (no import-time magic).

find(word) resolves a command the way gdb does: an exact name or alias first,
then a unique prefix of a name ("disas", "fin", "bre")."""

from __future__ import annotations

from .backtrace import BACKTRACE
from .base import Command
from .breakpoint import BREAK, TBREAK
from .data import PRINT, SET
from .delete import DELETE
from .examine import DISASSEMBLE, X
from .heap import HEAP
from .info import INFO
from .os_views import MEMMAP, PT, SYSCALLS, VMMAP
from .reverse import REVERSE_CONTINUE, REVERSE_STEPI
from .running import CONTINUE, KILL, RUN, START
from .meta import CONTEXT, HELP, QUIT
from .stepping import FINISH, NEXT, NEXTI, STEP, STEPI, UNTIL
from .watch import AWATCH, RWATCH, WATCH

COMMANDS: tuple[Command, ...] = (
    RUN, START, CONTINUE, KILL,
    STEPI, NEXTI, STEP, NEXT, FINISH, UNTIL, REVERSE_STEPI, REVERSE_CONTINUE,
    BREAK, TBREAK, DELETE, WATCH, RWATCH, AWATCH,
    INFO, PRINT, SET, X, DISASSEMBLE, BACKTRACE,
    PT, VMMAP, MEMMAP, HEAP, SYSCALLS,
    CONTEXT, HELP, QUIT,
)


def find(word: str) -> Command | None:
    for command in COMMANDS:
        if word == command.name or word in command.aliases:
            return command
    matches = [c for c in COMMANDS if c.name.startswith(word)]
    return matches[0] if len(matches) == 1 else None

"""What a debugger command is: a name, aliases, help, and a function that
returns lines. Commands never print; the REPL does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...errors import EmuError


class CommandError(EmuError):
    """A command refused its arguments: printed as `cmd: why`."""


@dataclass(frozen=True)
class Command:
    name: str
    run: Callable            # run(repl, args: str) -> list[str]
    summary: str
    usage: str               # syntax and "Examples:" lines
    aliases: tuple[str, ...] = ()
    resumes: bool = False    # the program ran: show the stop and the context


def count_argument(args: str, command: str) -> int:
    """The optional repeat count of stepi/next/...: a positive number."""
    text = args.strip()
    if not text:
        return 1
    try:
        count = int(text, 0)
    except ValueError:
        raise CommandError(f"{command}: '{text}' is not a count") from None
    if count < 1:
        raise CommandError(f"{command}: the count must be at least 1")
    return count


def require_alive(repl, command: str) -> None:
    if not repl.dbg.target.alive:
        raise CommandError(f"{command}: the program is not running (use `run` to start it again)")


NOT_PASSED = (5, 2)              # SIGTRAP, SIGINT: gdb's `handle` table does not pass them


def pass_pending_signal(repl):
    """Before resuming: hand the pending signal to the program as gdb does by
    default (all but SIGTRAP and SIGINT). The Stop when that ended it, else None."""
    target = repl.dbg.target
    pending = target.pending_signal
    if not pending:
        return None
    return target.deliver(0 if pending in NOT_PASSED else pending)

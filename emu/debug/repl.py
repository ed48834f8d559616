"""The `emu debug` read-eval-print loop: gdb's commands, pwndbg's context.

Reads commands from a file (-x), from -ex arguments, then from the terminal
unless --batch; an empty line repeats the last command. Each command returns
lines; after a command that ran the program, the stop and the context
(registers with changes marked, code around rip, the source line, the stack)
are printed.
"""

from __future__ import annotations

import sys

from ..errors import EmuError
from .commands import find
from .commands.base import CommandError
from .context import context_lines, stop_lines
from .debugger import Debugger

PROMPT = "(emu) "
REPEATABLE = {"stepi", "nexti", "step", "next", "x", "reverse-stepi", "until", "continue"}


class Repl:
    """One debugging session's state between commands."""

    def __init__(self, dbg: Debugger, out=None, show_context: bool = True):
        self.dbg = dbg
        self.out = out or sys.stdout
        self.show_context = show_context
        self.started = False
        self.quitting = False
        self.values: list[int] = []
        self.x_format, self.x_unit, self.x_next = "x", "w", None
        self.last_command = ""
        self._previous = dbg.target.registers()

    # -- what commands call ----------------------------------------------------------

    def report(self, stop) -> list[str]:
        return stop_lines(self.dbg, stop)

    def context(self, force: bool = False) -> list[str]:
        lines = context_lines(self.dbg, self._previous)
        if self.dbg.target.alive:
            self._previous = self.dbg.target.registers()
        return lines

    # -- the loop ------------------------------------------------------------------------

    def execute(self, line: str) -> list[str]:
        """Run one command line; returns what to print. Errors become one line."""
        text = line.strip()
        if not text:
            text = self.last_command if self.last_command else ""
            if not text:
                return []
        if text.startswith("#"):
            return []
        word, _, args = text.partition(" ")
        if "/" in word and not word.startswith("/"):      # x/4gx, p/x, disas/r
            word, _, fmt = word.partition("/")
            args = f"/{fmt} {args}".strip()
        command = find(word)
        if command is None:
            return [f'Undefined command: "{word}".  Try "help".']
        self.last_command = text if command.name in REPEATABLE else ""
        try:
            lines = command.run(self, args)
        except CommandError as exc:
            return [str(exc)]
        except EmuError as exc:
            return [f"{command.name}: {exc}"]
        if command.resumes and self.show_context:
            lines = lines + self.context()
        return lines

    def emit(self, lines) -> None:
        for line in lines:
            self.out.write(line + "\n")
        self.out.flush()

    def run_lines(self, lines) -> None:
        for line in lines:
            if self.quitting:
                return
            self.emit(self.execute(line))

    def interact(self) -> None:
        while not self.quitting:
            try:
                line = input(PROMPT)
            except EOFError:
                self.out.write("\n")
                return
            except KeyboardInterrupt:
                self.out.write("\nQuit\n")
                continue
            self.emit(self.execute(line))

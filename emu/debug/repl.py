"""The `emu debug` read-eval-print loop: gdb's commands, pwndbg's context.

Reads commands from a file (-x), from -ex arguments, then from the terminal
unless --batch; an empty line repeats the last command. Each command returns
lines; after a command that ran the program, the stop is reported as gdb
reports it (the frame line when the function changed, the source line), the
`display` expressions are shown, and then the context (registers with
changes marked, code around rip, the source line, the stack).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from ..errors import EmuError
from .commands import COMMANDS, find
from .commands.base import CommandError
from .commands.display import display_lines
from .context import context_lines
from .debugger import Debugger
from .lineedit import LineEditor, completions, readline
from .report import stop_lines

PROMPT = "(emu) "
REPEATABLE = {"stepi", "nexti", "step", "next", "x", "reverse-stepi", "until", "continue",
              "list", "reverse-next", "reverse-step"}
INFO_TOPICS = ("registers", "breakpoints", "watchpoints", "symbol", "line", "frame", "locals",
               "args", "display", "signals", "proc")


@dataclass
class Display:
    number: int
    expression: str
    format: str = ""          # the /FMT of display/FMT


class Repl:
    """One debugging session's state between commands."""

    def __init__(self, dbg: Debugger, out=None, show_context: bool = True,
                 editor: LineEditor | None = None):
        self.dbg = dbg
        self.out = out or sys.stdout
        self.show_context = show_context
        self.editor = editor
        self.started = False
        self.quitting = False
        self.x_format, self.x_unit, self.x_next = "x", "w", None
        self.last_command = ""
        self.displays: list[Display] = []
        self.list_last: tuple[str, int] | None = None   # (path, last line listed)
        self.list_center = None                          # SourceLine of the last stop
        self._display_numbers = 0
        self._frame_key = None
        self._previous = dbg.target.registers()
        self._forks_seen = (None, 1)         # (runner, its processes already reported)
    # -- what commands call ----------------------------------------------------------

    def report(self, stop) -> list[str]:
        """The lines for a stop, as gdb prints them, then the displays."""
        dbg = self.dbg
        dbg.selected = 0
        frame = dbg.selected_frame() if dbg.target.alive else None
        key = (frame.name, frame.frame_cfa) if frame is not None else None
        header = key != self._frame_key
        self._frame_key = key
        self.list_center = frame.line if frame is not None else None
        self.list_last = None
        lines = self.fork_lines() + stop_lines(dbg, stop, frame, header)
        return lines + self.display_lines()

    def fork_lines(self) -> list[str]:
        """gdb's note for each child forked since the last stop (the debugger
        follows the parent and leaves the child to run)."""
        runner = self.dbg.runner
        seen_runner, seen = self._forks_seen
        children = runner.processes[seen if seen_runner is runner else 1:]
        self._forks_seen = (runner, len(runner.processes))
        return [f"[Detaching after fork from child process {child.pid}]" for child in children]

    def display_lines(self) -> list[str]:
        if not self.dbg.target.alive:
            return []
        return [line for d in self.displays for line in display_lines(self, d)]

    def add_display(self, expression: str, fmt: str) -> Display:
        self._display_numbers += 1
        display = Display(self._display_numbers, expression, fmt)
        self.displays.append(display)
        return display

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
        editor = self.editor or LineEditor(self.complete)
        self.editor = editor
        while not self.quitting:
            try:
                line = editor.read(PROMPT)
            except EOFError:
                self.out.write("\n")
                return
            except KeyboardInterrupt:
                self.out.write("\nQuit\n")
                continue
            editor.remember(line)
            self.emit(self.execute(line))

    # -- completion ----------------------------------------------------------------------

    def complete(self, text: str, state: int):
        """readline's completer: the state-th completion of `text`."""
        if state == 0:
            before = readline.get_line_buffer()[:readline.get_begidx()] if readline else ""
            names = [n for c in COMMANDS for n in (c.name, *c.aliases)]
            self._matches = completions(text, before, names, INFO_TOPICS, self.symbol_names)
        return self._matches[state] if state < len(self._matches) else None

    def symbol_names(self) -> list[str]:
        """Names Tab may complete after a command: functions, globals, locals."""
        dbg = self.dbg
        names = set(dbg.symbols.addresses())
        if dbg.dwarf is not None:
            names.update(dbg.dwarf.function_names())
            names.update(dbg.dwarf.global_names())
        if dbg.target.alive:
            frame = dbg.selected_frame()
            if frame is not None:
                names.update(v.name for s in frame.scopes for v in s.variables)
        return sorted(names)

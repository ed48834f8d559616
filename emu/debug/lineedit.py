"""Line editing for `emu debug`: readline where the platform has it, and a history file.

With GNU readline (or libedit) the prompt has arrow keys, Ctrl-R reverse
search and Tab completion of command names, `info` topics and the program's
symbols (functions, globals, the selected frame's locals). Commands typed at
the prompt are kept in a history file across sessions, as gdb does with
`set history save on`:

    $EMU_DEBUG_HISTORY     the file (default ~/.emu_debug_history)
    HISTORY_SIZE           lines kept

`show commands` lists the history. Commands given with -ex or -x are not
added (gdb does not add them either).
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import readline
except ImportError:              # Windows without pyreadline: plain input(), history kept by hand
    readline = None

HISTORY_ENV = "EMU_DEBUG_HISTORY"
HISTORY_SIZE = 1000


def history_path() -> Path:
    return Path(os.environ.get(HISTORY_ENV) or Path.home() / ".emu_debug_history")


def completions(text: str, before: str, commands, info_topics, symbols) -> list[str]:
    """What Tab offers for the word `text`, `before` being the line up to it:
    command names for the first word, `info` topics after `info`, else symbols."""
    words = before.split()
    if not words:
        pool = commands
    elif words[0] in ("info", "i") and len(words) == 1:
        pool = info_topics
    else:
        pool = symbols()
    return sorted({word for word in pool if word.startswith(text)})


class LineEditor:
    """Reads command lines; remembers them in memory and in the history file."""

    def __init__(self, completer=None, path: Path | None = None):
        self.path = path or history_path()
        self.history: list[str] = []
        self._load()
        if readline is not None:
            readline.set_auto_history(False)
            readline.set_history_length(HISTORY_SIZE)
            if completer is not None:
                readline.set_completer(completer)
                readline.set_completer_delims(" \t\n*&()[]{},;=+-/<>!~")
                binding = "bind ^I rl_complete" if "libedit" in (readline.__doc__ or "") \
                    else "tab: complete"
                readline.parse_and_bind(binding)

    def _load(self) -> None:
        try:
            lines = self.path.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        self.history = lines[-HISTORY_SIZE:]
        if readline is not None:
            readline.clear_history()
            for line in self.history:
                readline.add_history(line)

    def read(self, prompt: str) -> str:
        """One line from the terminal (EOFError at the end of input)."""
        return input(prompt)

    def remember(self, line: str) -> None:
        """Add a typed command to the history (not blank lines, not a repeat)."""
        line = line.rstrip("\n")
        if not line.strip() or (self.history and self.history[-1] == line):
            return
        self.history.append(line)
        if readline is not None:
            readline.add_history(line)
        self._append(line)

    def _append(self, line: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(line + "\n")
            if len(self.history) > 2 * HISTORY_SIZE:
                self.history = self.history[-HISTORY_SIZE:]
                self.path.write_text("".join(h + "\n" for h in self.history))
        except OSError:
            pass                    # a read-only home: the history is kept for this session

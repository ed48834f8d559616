"""context / show / help / quit: the debugger itself."""

from .base import Command, CommandError
from .record import RECORD


def _context(repl, args: str):
    return repl.context(force=True)


def _help(repl, args: str):
    from . import COMMANDS, find
    name = args.strip()
    if name:
        command = find(name)
        if command is None:
            raise CommandError(f"help: no command '{name}'")
        aliases = f"  (also: {', '.join(command.aliases)})" if command.aliases else ""
        return [f"{command.name}: {command.summary}{aliases}", *command.usage.splitlines()]
    out = ["Commands (abbreviations work as in gdb; an empty line repeats the last command):"]
    for command in COMMANDS:
        names = ", ".join((command.name,) + command.aliases)
        out.append(f"  {names:<34} {command.summary}")
    return out + ["help COMMAND shows its syntax and examples."]


def _show(repl, args: str):
    word = args.strip()
    if word == "commands":
        history = repl.editor.history if repl.editor is not None else []
        first = max(0, len(history) - 10)
        return [f"{i + 1:5}  {line}" for i, line in enumerate(history[first:], first)]
    if word == "version":
        return ["emu debug: gdb's commands over the emu machine"]
    if word in ("record", "record full"):
        return RECORD.run(repl, "status")
    raise CommandError(f"show: unknown setting '{word}' (commands, record, version)")


def _quit(repl, args: str):
    repl.quitting = True
    return []


CONTEXT = Command("context", _context, "show registers, code, source and stack again",
                  "context\nExamples:\n  context\n  ctx", aliases=("ctx",))
SHOW = Command("show", _show, "show the command history or a setting",
               "show commands | show record | show version\nExamples:\n  show commands")
HELP = Command("help", _help, "list the commands, or explain one", "help [COMMAND]\nExamples:\n"
               "  help\n  help x", aliases=("h",))
QUIT = Command("quit", _quit, "leave the debugger", "quit\nExamples:\n  quit", aliases=("q", "exit"))

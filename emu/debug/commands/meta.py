"""context / help / quit: the debugger itself."""

from .base import Command, CommandError


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


def _quit(repl, args: str):
    repl.quitting = True
    return []


CONTEXT = Command("context", _context, "show registers, code, source and stack again",
                  "context\nExamples:\n  context\n  ctx", aliases=("ctx",))
HELP = Command("help", _help, "list the commands, or explain one", "help [COMMAND]\nExamples:\n"
               "  help\n  help x", aliases=("h",))
QUIT = Command("quit", _quit, "leave the debugger", "quit\nExamples:\n  quit", aliases=("q", "exit"))

"""delete [N...]: remove breakpoints and watchpoints."""

from .base import Command, CommandError


def _delete(repl, args: str):
    target = repl.dbg.target
    if not args.strip():
        for number in list(target.breakpoints) + list(target.watchpoints):
            target.delete(number)
        return ["Deleted all breakpoints and watchpoints."]
    out = []
    for word in args.split():
        try:
            number = int(word)
        except ValueError:
            raise CommandError(f"delete: '{word}' is not a breakpoint number") from None
        if not target.delete(number):
            raise CommandError(f"delete: no breakpoint number {number}")
    return out


DELETE = Command(
    "delete", _delete, "delete breakpoints and watchpoints (all, or by number)",
    "delete [N...]\nExamples:\n  delete 2\n  delete", aliases=("d",))

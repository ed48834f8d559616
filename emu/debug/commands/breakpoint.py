"""break / tbreak LOCATION: stop when execution reaches a place.

A function the compiler inlined gets one location per inlined copy, as in
gdb: `Breakpoint 1 at 0x401136: mm_free. (4 locations)`."""

from ...errors import UsageError
from .base import Command, CommandError


def _break(repl, args: str, temporary: bool = False):
    name = "tbreak" if temporary else "break"
    spec = args.strip() or f"*{repl.dbg.target.rip:#x}"
    try:
        bp = repl.dbg.break_at(spec, temporary=temporary)
    except UsageError as exc:
        raise CommandError(f"{name}: {exc}") from None
    kind = "Temporary breakpoint" if temporary else "Breakpoint"
    count = len(repl.dbg.locations_of(bp.number))
    if count > 1:
        return [f"{kind} {bp.number} at {bp.address:#x}: {bp.location}. ({count} locations)"]
    line = repl.dbg.info.line_at(bp.address)
    at = f": file {line.file}, line {line.line}." if line else \
        f" <{repl.dbg.describe(bp.address)}>." if repl.dbg.describe(bp.address) else "."
    return [f"{kind} {bp.number} at {bp.address:#x}{at}"]


BREAK = Command(
    "break", _break, "stop at a function (every inlined copy too), a source line or an address",
    "break [LOCATION]\n  LOCATION is FUNCTION, FILE:LINE, LINE (in the current file) or *ADDRESS;\n"
    "  with none, the current instruction.\nExamples:\n  break main\n  b mm_malloc\n"
    "  break alloc_test.c:42\n  break firstfit.asm:60\n  break *0x401136", aliases=("b", "br"))

TBREAK = Command(
    "tbreak", lambda repl, args: _break(repl, args, temporary=True),
    "a breakpoint that deletes itself when hit",
    "tbreak LOCATION\nExamples:\n  tbreak main")

"""display[/FMT] EXPR / undisplay [N]: show expressions after every stop."""

from ..dwarf.evaluate import EvalError
from ..report import value_line
from .base import Command, CommandError
from .examine import X
from .print import split_format


def display_lines(repl, display) -> list[str]:
    """`1: total = 10`, or `1: x/i $pc` and the instruction for display/i."""
    if display.format in ("i", "s"):
        return [f"{display.number}: x/{display.format} {display.expression}"] + \
            X.run(repl, f"/{display.format} {display.expression}")
    try:
        value = repl.dbg.value(display.expression)
        shown = value_line(repl.dbg, value, display.format)
    except EvalError as exc:
        shown = f"<error: {exc}>"
    fmt = f"/{display.format} " if display.format else ""
    return [f"{display.number}: {fmt}{display.expression} = {shown}"]


def _display(repl, args: str):
    text = args.strip()
    if not text:
        return [line for d in repl.displays for line in display_lines(repl, d)]
    fmt = ""
    if text.startswith("/"):
        spec, _, text = text[1:].partition(" ")
        fmt = spec if spec in ("i", "s") else split_format("/" + spec + " x", "display")[0]
    display = repl.add_display(text.strip(), fmt)
    return display_lines(repl, display) if repl.dbg.target.alive else []


def _undisplay(repl, args: str):
    if not args.strip():
        repl.displays.clear()
        return []
    for word in args.split():
        try:
            number = int(word)
        except ValueError:
            raise CommandError(f"undisplay: '{word}' is not a display number") from None
        kept = [d for d in repl.displays if d.number != number]
        if len(kept) == len(repl.displays):
            raise CommandError(f"undisplay: no display number {number}")
        repl.displays = kept
    return []


def info_display(repl):
    if not repl.displays:
        return ["There are no auto-display expressions now."]
    return ["Auto-display expressions now in effect:", "Num Enb Expression"] + \
        [f"{d.number}:   y  {'/' + d.format + ' ' if d.format else ''}{d.expression}"
         for d in repl.displays]


DISPLAY = Command("display", _display, "print an expression after every stop",
                  "display[/FMT] EXPR\nExamples:\n  display total\n  display/x $rax\n"
                  "  display/i $pc")
UNDISPLAY = Command("undisplay", _undisplay, "stop displaying expressions (all, or by number)",
                    "undisplay [N...]\nExamples:\n  undisplay 1")

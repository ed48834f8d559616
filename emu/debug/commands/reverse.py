"""reverse-stepi / reverse-continue: go back through the recorded history.

The history holds the instructions run by stepi, nexti, step, next, finish
and until, and by continue when `record` is on (the newest 4096 by default,
--history sets it): registers and memory come back exactly as they were."""

from .base import Command, count_argument


def _reverse_stepi(repl, args: str):
    stop = repl.dbg.reverse_stepi(count_argument(args, "reverse-stepi"))
    return repl.report(stop)


def _reverse_continue(repl, args: str):
    return repl.report(repl.dbg.reverse_cont())


REVERSE_STEPI = Command(
    "reverse-stepi", _reverse_stepi, "undo the last recorded instruction(s)",
    "reverse-stepi [N]\nExamples:\n  reverse-stepi\n  rsi 5", aliases=("rsi",), resumes=True)
REVERSE_CONTINUE = Command(
    "reverse-continue", _reverse_continue,
    "undo recorded instructions back to a breakpoint, a watched change, or the start",
    "reverse-continue\nExamples:\n  reverse-continue\n  rc", aliases=("rc",), resumes=True)

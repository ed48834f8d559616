"""stepi / nexti / step / next / finish / until: run a little and stop.

Every one of these is recorded instruction by instruction, so reverse-stepi
and reverse-continue can undo it."""

from .base import Command, count_argument, require_alive


def _stepper(name: str, method: str, takes_count: bool = True):
    def run(repl, args: str):
        require_alive(repl, name)
        repl.started = True
        step = getattr(repl.dbg, method)
        stop = step(count_argument(args, name)) if takes_count else step()
        return repl.report(stop)
    return run


STEPI = Command("stepi", _stepper("stepi", "stepi"), "execute one machine instruction",
                "stepi [N]\nExamples:\n  stepi\n  si 10", aliases=("si",), resumes=True)
NEXTI = Command("nexti", _stepper("nexti", "nexti"),
                "one instruction, but a call counts as one (it runs until it returns)",
                "nexti [N]\nExamples:\n  nexti\n  ni 3", aliases=("ni",), resumes=True)
STEP = Command("step", _stepper("step", "step"), "run to the next source line, into calls",
               "step [N]\nExamples:\n  step\n  s", aliases=("s",), resumes=True)
NEXT = Command("next", _stepper("next", "next"), "run to the next source line, over calls",
               "next [N]\nExamples:\n  next\n  n 2", aliases=("n",), resumes=True)
FINISH = Command("finish", _stepper("finish", "finish", takes_count=False),
                 "run until the current function returns", "finish\nExamples:\n  finish",
                 aliases=("fin",), resumes=True)
UNTIL = Command("until", _stepper("until", "until", takes_count=False),
                "like next, but runs a loop to its end (never stops on an earlier line)",
                "until\nExamples:\n  until\n  u", aliases=("u",), resumes=True)

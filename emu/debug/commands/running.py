"""run / start / continue / kill: start and resume the program."""

from .base import Command, CommandError, require_alive


def _run(repl, args: str):
    if repl.started:
        repl.dbg.restart()
    repl.started = True
    return repl.report(repl.dbg.cont())


def _start(repl, args: str):
    if repl.started:
        repl.dbg.restart()
    repl.started = True
    repl.dbg.break_at("main", temporary=True)
    return repl.report(repl.dbg.cont())


def _continue(repl, args: str):
    require_alive(repl, "continue")
    repl.started = True
    return repl.report(repl.dbg.cont())


def _kill(repl, args: str):
    if not repl.dbg.target.alive:
        raise CommandError("kill: the program is not running")
    repl.dbg.restart()
    repl.started = False
    return ["[Inferior 1 (process) killed]"]


RUN = Command("run", _run, "run the program from the start",
              "run\n  (the arguments are the ones given after -- to emu debug)\nExamples:\n  run",
              aliases=("r",), resumes=True)
START = Command("start", _start, "run to the start of main", "start\nExamples:\n  start",
                resumes=True)
CONTINUE = Command("continue", _continue, "resume until a breakpoint, a watchpoint or the end",
                   "continue\nExamples:\n  continue\n  c", aliases=("c", "cont", "fg"),
                   resumes=True)
KILL = Command("kill", _kill, "kill the program (it can be run again)", "kill\nExamples:\n  kill",
               aliases=("k",))

"""run / start / continue / kill: start and resume the program."""

from .base import Command, CommandError, pass_pending_signal, require_alive


def _run(repl, args: str):
    if repl.started:
        repl.dbg.restart()
    repl.started = True
    return repl.report(repl.dbg.cont())


def _start(repl, args: str):
    if repl.started:
        repl.dbg.restart()
    repl.started = True
    bp = repl.dbg.break_at("main", temporary=True)
    line = repl.dbg.info.line_at(bp.address)
    at = f": file {line.file}, line {line.line}." if line else "."
    return [f"Temporary breakpoint {bp.number} at {bp.address:#x}{at}"] + \
        repl.report(repl.dbg.cont())


def _continue(repl, args: str):
    require_alive(repl, "continue")
    repl.started = True
    ended = pass_pending_signal(repl)
    return repl.report(ended if ended is not None else repl.dbg.cont())


def _kill(repl, args: str):
    if not repl.dbg.target.alive:
        raise CommandError("kill: the program is not running")
    pid = repl.dbg.runner.process.pid
    repl.dbg.restart()
    repl.started = False
    return [f"[Inferior 1 (process {pid}) killed]"]


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

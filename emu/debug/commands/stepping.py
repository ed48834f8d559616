"""stepi / nexti / step / next / finish / until: run a little and stop.

Every one of these is recorded instruction by instruction, so reverse-stepi
and reverse-continue can undo it. finish prints the value the function
returned, from rax (or xmm0 for floating point), typed by its DWARF."""

from ..dwarf.values import Value
from ..report import frame_text, value_line
from .base import Command, CommandError, count_argument, pass_pending_signal, require_alive
from .print import detached


def _stepper(name: str, method: str, takes_count: bool = True):
    def run(repl, args: str):
        require_alive(repl, name)
        repl.started = True
        ended = pass_pending_signal(repl)
        if ended is not None:
            return repl.report(ended)
        step = getattr(repl.dbg, method)
        stop = step(count_argument(args, name)) if takes_count else step()
        return repl.report(stop)
    return run


def _finish(repl, args: str):
    require_alive(repl, "finish")
    repl.started = True
    dbg = repl.dbg
    frames = dbg.backtrace(dbg.selected + 2)
    if dbg.selected + 1 >= len(frames):
        raise CommandError('"finish" not meaningful in the outermost frame.')
    frame = frames[dbg.selected]
    head = ["Run till exit from " + frame_text(dbg, frame)]
    ended = pass_pending_signal(repl)
    stop = ended if ended is not None else dbg.finish()
    lines = head + repl.report(stop)
    if stop.kind == "step" and frame.scope is not None and frame.scope.kind == "function":
        lines += _returned_value(repl, frame.scope.return_type)
    return lines


def _returned_value(repl, return_type) -> list[str]:
    """"Value returned is $N = ..." from rax / xmm0, as the x86-64 ABI returns it."""
    if return_type is None or return_type.strip().kind == "void":
        return []
    kind = return_type.strip().kind
    if kind in ("struct", "union", "array") and return_type.byte_size > 16:
        return []
    dbg = repl.dbg
    if return_type.is_float():
        value = Value(return_type, register="xmm0")
    elif kind in ("struct", "union"):
        data = dbg.machine.reg("rax").to_bytes(8, "little") + \
            dbg.machine.reg("rdx").to_bytes(8, "little")
        value = Value(return_type, data=data[:return_type.byte_size])
    else:
        value = Value(return_type, register="rax")
    dbg.values.append(detached(dbg, value))
    return [f"Value returned is ${len(dbg.values)} = {value_line(dbg, value)}"]


STEPI = Command("stepi", _stepper("stepi", "stepi"), "execute one machine instruction",
                "stepi [N]\nExamples:\n  stepi\n  si 10", aliases=("si",), resumes=True)
NEXTI = Command("nexti", _stepper("nexti", "nexti"),
                "one instruction, but a call counts as one (it runs until it returns)",
                "nexti [N]\nExamples:\n  nexti\n  ni 3", aliases=("ni",), resumes=True)
STEP = Command("step", _stepper("step", "step"), "run to the next source line, into calls",
               "step [N]\nExamples:\n  step\n  s", aliases=("s",), resumes=True)
NEXT = Command("next", _stepper("next", "next"), "run to the next source line, over calls",
               "next [N]\nExamples:\n  next\n  n 2", aliases=("n",), resumes=True)
FINISH = Command("finish", _finish, "run until the selected function returns; show its value",
                 "finish\nExamples:\n  finish\n  up\n  finish", aliases=("fin",), resumes=True)
UNTIL = Command("until", _stepper("until", "until", takes_count=False),
                "like next, but runs a loop to its end (never stops on an earlier line)",
                "until\nExamples:\n  until\n  u", aliases=("u",), resumes=True)

"""backtrace: the call stack, by the frame-pointer chain."""

from .base import Command


def _backtrace(repl, args: str):
    out = []
    for frame in repl.dbg.backtrace():
        at = f" at {frame.line.file}:{frame.line.line}" if frame.line else ""
        prefix = f"{frame.rip:#018x} in " if frame.level else ""
        out.append(f"#{frame.level:<2} {prefix}{frame.function} (){at}")
    return out


BACKTRACE = Command("backtrace", _backtrace, "the call stack (frame pointers and symbols)",
                    "backtrace\nExamples:\n  backtrace\n  bt", aliases=("bt", "where"))

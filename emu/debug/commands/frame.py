"""frame [N] / up [N] / down [N]: select a frame; print, info locals and finish then work there."""

from ..report import frame_text, source_text
from .base import Command, CommandError, require_alive


def _number(args: str, command: str, default: int) -> int:
    text = args.strip()
    if not text:
        return default
    try:
        return int(text, 0)
    except ValueError:
        raise CommandError(f"{command}: '{text}' is not a frame number") from None


def select(repl, level: int, command: str):
    require_alive(repl, command)
    dbg = repl.dbg
    frames = dbg.backtrace(level + 1)
    if level < 0:
        raise CommandError("Bottom (innermost) frame selected; you cannot go down.")
    if level >= len(frames):
        if command == "up":
            raise CommandError("Initial frame selected; you cannot go up.")
        raise CommandError(f"No frame at level {level}.")
    dbg.selected = level
    frame = frames[level]
    repl.list_center, repl.list_last = frame.line, None
    lines = [frame_text(dbg, frame)]
    if frame.line is not None:
        lines.append(source_text(frame.line))
    return lines


def _frame(repl, args: str):
    return select(repl, _number(args, "frame", repl.dbg.selected), "frame")


def _up(repl, args: str):
    return select(repl, repl.dbg.selected + _number(args, "up", 1), "up")


def _down(repl, args: str):
    return select(repl, repl.dbg.selected - _number(args, "down", 1), "down")


FRAME = Command("frame", _frame, "select a frame by number, or show the selected one",
                "frame [N]\nExamples:\n  frame\n  frame 1\n  f 2", aliases=("f",))
UP = Command("up", _up, "select the frame of the caller (N frames up)",
             "up [N]\nExamples:\n  up\n  up 2")
DOWN = Command("down", _down, "select the frame called by this one",
               "down [N]\nExamples:\n  down")

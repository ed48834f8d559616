"""backtrace [N]: the call stack, inlined calls included, with arguments."""

from ..report import frame_text
from .base import Command, CommandError


def _backtrace(repl, args: str):
    text = args.strip()
    limit = 64
    if text:
        try:
            limit = int(text, 0)
        except ValueError:
            raise CommandError(f"backtrace: '{text}' is not a number of frames") from None
    frames = repl.dbg.backtrace(limit + 1)
    out = [frame_text(repl.dbg, f) for f in frames[:limit]]
    if len(frames) > limit:
        out.append("(More stack frames follow...)")
    return out


BACKTRACE = Command("backtrace", _backtrace, "the call stack: frames with their arguments",
                    "backtrace [N]\nExamples:\n  backtrace\n  bt 3", aliases=("bt", "where"))

"""info frame / info locals / info args: the selected frame and its variables.

    Stack level 0, frame at 0x7fffffffe570:
     rip = 0x401658 in sum (ll.c:14); saved rip = 0x4016e6
     called by frame at 0x7fffffffe5b0
     source language c.
     Arglist at 0x7fffffffe560, args: head=0x4ad750
     Locals at 0x7fffffffe560, Previous frame's sp is 0x7fffffffe570
"""

from ..dwarf.values import format_value
from ..frames import RBP, RIP
from ..report import arguments_text, reader
from .base import CommandError, require_alive


def _selected(repl, command: str):
    require_alive(repl, command)
    frame = repl.dbg.selected_frame()
    if frame is None:
        raise CommandError("No stack.")
    return frame


def info_locals(repl, rest: str):
    frame = _selected(repl, "info locals")
    if frame.scope is None:
        return ["No symbol table info available."]
    variables = frame.visible_variables()
    if not variables:
        return ["No locals."]
    return [f"{var.name} = {format_value(frame.value_of(var), reader(repl.dbg), top=False)}"
            for var in variables]


def info_args(repl, rest: str):
    frame = _selected(repl, "info args")
    if frame.scope is None:
        return ["No symbol table info available."]
    params = frame.arguments()
    if not params:
        return ["No arguments."]
    return [f"{var.name} = {format_value(frame.value_of(var), reader(repl.dbg), top=False)}"
            for var in params]


def info_frame(repl, rest: str):
    frame = _selected(repl, "info frame")
    dbg = repl.dbg
    frames = dbg.backtrace(frame.level + 2)
    caller = frames[frame.level + 1] if frame.level + 1 < len(frames) else None
    where = f"{frame.name} ({frame.line.file}:{frame.line.line})" if frame.line else frame.name
    cfa = frame.frame_cfa
    lines = [f"Stack level {frame.level}, frame at {cfa:#x}:" if cfa is not None else
             f"Stack level {frame.level}:"]
    saved = f"; saved rip = {caller.pc:#x}" if caller is not None else ""
    lines.append(f" rip = {frame.pc:#x} in {where}{saved}")
    if frame.level > 0:
        lines.append(f" caller of frame at {frames[frame.level - 1].frame_cfa or 0:#x}")
    if caller is not None and caller.frame_cfa is not None:
        lines.append(f" called by frame at {caller.frame_cfa:#x}")
    if frame.scope is not None:
        lines.append(" source language c.")
    base = frame.regs.get(RBP) if frame.regs.get(RBP) is not None else 0
    args = arguments_text(dbg, frame) if frame.scope is not None else ""
    lines.append(f" Arglist at {base:#x}, args: {args}")
    lines.append(f" Locals at {base:#x}, Previous frame's sp is {cfa or 0:#x}")
    if cfa is not None:
        lines.append(" Saved registers:")
        lines.append(f"  rbp at {cfa - 16:#x}, rip at {cfa - 8:#x}"
                     if frame.regs.get(RIP) is not None else f"  rip at {cfa - 8:#x}")
    return lines

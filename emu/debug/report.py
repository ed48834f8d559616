"""What gdb prints about frames and stops, as lines (pure functions over a Debugger).

    frame_text(dbg, frame)     "#1  0x00000000004016e6 in main (argc=1, argv=0x7ffe...) at ll.c:24"
    source_text(line)          "24\t    long total = sum(list);"
    stop_lines(dbg, stop, ...) the report after run/continue/step/...:

        Breakpoint 1, sum (head=0x4ad750) at ll.c:14           a breakpoint
        14	    long total = 0;
        16	        total += head->value;                      a step in the same function
        0x0000000000401633	8	    n->value = value;      a stepi into the middle of a line
        Program received signal SIGSEGV, Segmentation fault.   a signal
        [Inferior 1 (process 1000) exited with code 0226]      the end (octal, as gdb)

Frame arguments are shown as gdb's `print frame-arguments scalars` does:
a struct, union or array argument is `...`.
"""

from __future__ import annotations

import signal
from pathlib import Path

from .dwarf.values import Reader, Value, format_value
from .watchpoints import TITLES

SIGNAL_TEXT = {signal.SIGSEGV: "Segmentation fault", signal.SIGABRT: "Aborted",
               signal.SIGILL: "Illegal instruction", signal.SIGFPE: "Arithmetic exception",
               signal.SIGBUS: "Bus error", signal.SIGTRAP: "Trace/breakpoint trap",
               signal.SIGINT: "Interrupt", signal.SIGKILL: "Killed",
               signal.SIGTERM: "Terminated", signal.SIGXCPU: "CPU time limit exceeded"}


def reader(dbg) -> Reader:
    return Reader(dbg.target.read, dbg.describe, dbg.machine.reg)


def arguments_text(dbg, frame) -> str:
    parts = []
    for var in frame.arguments():
        value = frame.value_of(var)
        kind = var.type.strip().kind
        text = "..." if kind in ("struct", "union", "array") and not value.optimized else \
            format_value(value, reader(dbg), top=False)
        parts.append(f"{var.name}={text}")
    return ", ".join(parts)


def frame_text(dbg, frame, level: bool = True, address: bool | None = None) -> str:
    """gdb's one-line description of a frame."""
    show = frame.show_address if address is None else address
    head = f"#{frame.level:<2} " if level else ""
    where = f"{frame.pc:#018x} in " if show else ""
    args = arguments_text(dbg, frame) if frame.scope is not None else ""
    text = f"{head}{where}{frame.name} ({args})"
    if frame.line is not None:
        text += f" at {frame.line.file}:{frame.line.line}"
    return text


_SOURCES: dict[str, list[str] | None] = {}


def source_lines(path: str) -> list[str] | None:
    """The lines of a source file (cached), or None when it cannot be read."""
    if path not in _SOURCES:
        try:
            _SOURCES[path] = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            _SOURCES[path] = None
    return _SOURCES[path]


def source_text(line) -> str:
    """'24\\t    long total = sum(list);' for a SourceLine."""
    text = source_lines(line.path)
    if text is None:
        return f"{line.line}\tin {line.path}"
    if not 1 <= line.line <= len(text):
        return f"Line number {line.line} out of range; \"{line.path}\" has {len(text)} lines."
    return f"{line.line}\t{text[line.line - 1]}"


def location_lines(dbg, frame, header: bool) -> list[str]:
    """Where a stop left us: the frame line when `header` (the function or
    frame changed, or a breakpoint), then the source line; mid-line, the
    source line carries the address, as gdb's print_stop_event does."""
    if frame is None:
        return []
    if frame.line is None:
        return [frame_text(dbg, frame, level=False, address=True)]
    lines = []
    if header:
        lines.append(frame_text(dbg, frame, level=False))
    text = source_text(frame.line)
    if frame.show_address and not header:
        text = f"{frame.pc:#018x}\t{text}"
    return lines + [text]


def signal_name(signo: int) -> str:
    """'SIGSEGV' for 11; the number itself for a signal Python does not name."""
    try:
        return signal.Signals(signo).name
    except ValueError:
        return str(signo)


def stop_lines(dbg, stop, frame, header: bool) -> list[str]:
    """The report for `stop`; frame is frame 0 after it (None when the
    process is gone); header: show the frame line for a plain step."""
    kind = stop.kind
    if kind == "breakpoint":
        bp = stop.breakpoint
        word = "Temporary breakpoint" if bp.temporary else "Breakpoint"
        if frame is None or frame.line is None:
            where = frame_text(dbg, frame, level=False, address=True) if frame else "??"
            return ["", f"{word} {bp.number}, {where}"]
        return ["", f"{word} {bp.number}, " + frame_text(dbg, frame, level=False),
                source_text(frame.line)]
    if kind == "watchpoint":
        return _watch_lines(dbg, stop) + location_lines(dbg, frame, header)
    if kind == "watch-scope":
        return ["", f"Watchpoint {stop.watchpoint.number} deleted because the program has "
                    f"left the block in", "which its expression is valid."] + \
            location_lines(dbg, frame, header=True)
    if kind == "signalled":
        name = signal_name(stop.signo)
        return ["", f"Program received signal {name}, {SIGNAL_TEXT.get(stop.signo, name)}."] + \
            location_lines(dbg, frame, header=True)
    if kind == "killed":
        name = signal_name(stop.signo)
        return ["", f"Program terminated with signal {name}, "
                    f"{SIGNAL_TEXT.get(stop.signo, name)}.", "The program no longer exists."]
    if kind == "exited":
        pid = dbg.runner.process.pid
        code = stop.exit_code
        return [f"[Inferior 1 (process {pid}) exited normally]" if code == 0 else
                f"[Inferior 1 (process {pid}) exited with code 0{code:o}]"]
    if kind in ("history-start", "history-end"):
        return ["", "No more reverse-execution history."] + location_lines(dbg, frame, True)
    if kind in ("fault", "budget", "oom", "panic"):
        return ["", "Program stopped: " + stop.message]
    if kind == "interrupted":
        return ["", "Program received signal SIGINT, Interrupt."] + \
            location_lines(dbg, frame, True)
    lines = location_lines(dbg, frame, header)
    return ([stop.message] if stop.message else []) + lines


def _watch_lines(dbg, stop) -> list[str]:
    wp = stop.watchpoint
    show = wp.render or (lambda data: _raw(data))
    lines = ["", wp.title if wp.expression else f"{TITLES[wp.kind]} {wp.number}: "
             f"*{wp.address:#x} (len {wp.length})", ""]
    if wp.kind == "read" or stop.old == stop.new:
        return lines + [f"Value = {show(stop.new)}"]
    return lines + [f"Old value = {show(stop.old)}", f"New value = {show(stop.new)}"]


def _raw(data: bytes) -> str:
    if not data:
        return "<unreadable>"
    if len(data) in (1, 2, 4, 8):
        return f"{int.from_bytes(data, 'little'):#x}"
    return data.hex(" ")


def value_line(dbg, value: Value, fmt: str = "") -> str:
    return format_value(value, reader(dbg), top=True, fmt=fmt)

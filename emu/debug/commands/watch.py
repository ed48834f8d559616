"""watch / rwatch / awatch EXPR: stop when memory is written or read.

EXPR is a C lvalue (`watch total`, `watch list->next`, `watch *(long *)0x4052a0`):
its bytes are watched and its old and new values shown in its type. An
address and a length (`watch 0x4052a0 8`) watch raw bytes."""

from ...errors import UnmappedAccess, UsageError
from ..dwarf.evaluate import EvalError
from ..dwarf.values import Value, format_value
from ..report import reader
from ..watchpoints import TITLES
from .base import Command, CommandError

KINDS = {"watch": "write", "rwatch": "read", "awatch": "access"}


def _watcher(name: str):
    def run(repl, args: str):
        text = args.strip()
        if not text:
            raise CommandError(f"{name}: expected an expression, e.g. {name} total")
        words = text.split()
        if len(words) == 2 and _is_number(repl, words[1]) and not _is_lvalue(repl, text):
            return _raw(repl, name, words)
        try:
            value = repl.dbg.value(text)
        except EvalError as exc:
            raise CommandError(f"{name}: {exc}") from None
        if value.address is None:
            if value.type.is_integer() or value.type.is_pointer():
                return _raw(repl, name, [text])
            raise CommandError(f"{name}: Cannot watch constant value `{text}'.")
        size = value.type.byte_size or 8
        render = _renderer(repl, value)
        try:
            wp = repl.dbg.target.add_watchpoint(value.address, size, KINDS[name],
                                                expression=text, render=render)
        except UnmappedAccess as exc:
            raise CommandError(f"{name}: {exc}") from None
        return [wp.title]
    return run


def _renderer(repl, value: Value):
    def render(data: bytes) -> str:
        if not data:
            return "<unreadable>"
        return format_value(Value(value.type, data=data), reader(repl.dbg), top=True)
    return render


def _is_number(repl, text: str) -> bool:
    try:
        int(text, 0)
        return True
    except ValueError:
        return False


def _is_lvalue(repl, text: str) -> bool:
    try:
        return repl.dbg.value(text).address is not None
    except EvalError:
        return False


def _raw(repl, name: str, words: list[str]):
    try:
        address = repl.dbg.evaluate(words[0].lstrip("*"))
        length = repl.dbg.evaluate(words[1]) if len(words) > 1 else 8
    except UsageError as exc:
        raise CommandError(f"{name}: {exc}") from None
    if not 1 <= length <= 4096:
        raise CommandError(f"{name}: the length must be 1..4096 bytes")
    try:
        wp = repl.dbg.target.add_watchpoint(address, length, KINDS[name])
    except UnmappedAccess as exc:
        raise CommandError(f"{name}: {exc}") from None
    return [f"{TITLES[wp.kind]} {wp.number}: *{address:#x} (len {length})"]


WATCH = Command("watch", _watcher("watch"), "stop after a write changes an expression's value",
                "watch EXPR | watch ADDRESS LENGTH\nExamples:\n  watch total\n"
                "  watch list->next\n  watch *(long *)0x4052a0\n  watch 0x4052a0 16",
                aliases=("wa",))
RWATCH = Command("rwatch", _watcher("rwatch"), "stop after a read of an expression",
                 "rwatch EXPR | rwatch ADDRESS LENGTH\nExamples:\n  rwatch counter")
AWATCH = Command("awatch", _watcher("awatch"), "stop after a read or a write of an expression",
                 "awatch EXPR | awatch ADDRESS LENGTH\nExamples:\n  awatch counter")

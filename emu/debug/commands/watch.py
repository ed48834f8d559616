"""watch / rwatch / awatch EXPR: stop when memory is written or read.

EXPR is a C lvalue (`watch total`, `watch list->next`, `watch *(long *)0x4052a0`):
its bytes are watched and its old and new values shown in its type. An
address and a length (`watch 0x4052a0 8`) watch raw bytes. A variable the
compiler keeps in a register gets a software watchpoint, as in gdb
(`Watchpoint 2: total`): continue then checks it before every instruction
of its function, and it is deleted when its frame returns."""

from ...errors import UnmappedAccess, UsageError
from ..dwarf.evaluate import EvalError
from ..dwarf.values import Value, ValueError_, format_value, value_bytes
from ..frames import Frame, frame_zero_registers
from ..report import reader
from ..watchpoints import LEFT_SCOPE, TITLES
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
            variable = _variable(repl, text)
            if variable is not None and name == "watch":
                return _software(repl, text, value, variable)
            if variable is not None:
                raise CommandError(f"{name}: {text} is not in memory here (-O2 keeps it in a "
                                   f"register); only `watch` can watch it")
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


def _variable(repl, text: str):
    """The DWARF variable `text` names in the selected frame, or None."""
    frame = repl.dbg.selected_frame() if repl.dbg.target.alive else None
    return frame.find_variable(text.strip()) if frame is not None else None


def _software(repl, text: str, value: Value, variable):
    """A software watchpoint on a variable of the selected frame that is not
    in memory: its value is read again, at the current pc, before every
    instruction of its function."""
    dbg = repl.dbg
    frames = dbg.backtrace(dbg.selected + 8)
    frame = frames[min(dbg.selected, len(frames) - 1)]
    caller = next((f for f in frames[frame.level + 1:] if f.physical > frame.physical), None)
    scope, cfa = frame.scope, frame.frame_cfa
    if scope is None or cfa is None:
        raise CommandError(f"watch: {text} is not in memory and its frame is unknown")
    machine, ret, size = dbg.machine, caller.pc if caller is not None else None, \
        value.type.byte_size
    scopes, function = frame.scopes, frame.function_scope

    def sample(address: int):
        if address == ret and machine.reg("rsp") >= cfa:
            return LEFT_SCOPE
        if not scope.contains(address):
            return None                     # in a callee: the registers are not its
        now = Frame(0, address, address, frame_zero_registers(dbg), dbg, scopes=scopes,
                    function_scope=function)
        current = now.value_of(variable)
        if current.optimized:
            return None
        try:
            return value_bytes(current, reader(dbg))[:size]
        except ValueError_:
            return None
    wp = dbg.target.add_software_watch(text, sample, _renderer(repl, value))
    return [wp.title]


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

"""print EXPR / set $REG = VALUE: look at and change registers and values."""

from ...errors import UsageError
from ...paging import U64
from ...registers import REGISTER_FILE
from .base import Command, CommandError, require_alive


def _print(repl, args: str):
    text = args.strip()
    fmt = "d"
    if text.startswith("/"):
        fmt, _, text = text[1:].partition(" ")
    if not text:
        raise CommandError("print: expected an expression, e.g. print $rax")
    try:
        value = repl.dbg.evaluate(text)
    except UsageError as exc:
        raise CommandError(f"print: {exc}") from None
    repl.values.append(value)
    signed = value - (1 << 64) if value >= 1 << 63 else value
    shown = {"x": hex(value), "d": str(signed), "u": str(value), "o": oct(value),
             "t": bin(value)[2:], "c": repr(chr(value & 0xFF))}.get(fmt)
    if shown is None:
        raise CommandError(f"print: unknown format '/{fmt}' (x, d, u, o, t, c)")
    name = repl.dbg.describe(value) if fmt == "d" and text.lstrip("$") in ("rip", "pc") else ""
    if name:
        shown = f"{value:#x} <{name}>"
    return [f"${len(repl.values)} = {shown}"]


def _set(repl, args: str):
    require_alive(repl, "set")
    text = args.strip()
    if text.startswith("var "):
        text = text[4:]
    name, sep, value_text = text.partition("=")
    name = name.strip()
    if not sep or not name.startswith("$"):
        raise CommandError("set: expected $REGISTER = VALUE, e.g. set $rax = 5")
    register = name[1:].lower()
    if register not in REGISTER_FILE and register not in ("fs_base", "gs_base"):
        raise CommandError(f"set: unknown register '{register}'")
    try:
        value = repl.dbg.evaluate(value_text)
    except UsageError as exc:
        raise CommandError(f"set: {exc}") from None
    repl.dbg.machine.set_reg(register, value & U64)
    return []


PRINT = Command("print", _print, "evaluate an expression: registers, symbols, numbers",
                "print[/FMT] EXPR   (FMT: x d u o t c)\nExamples:\n  print $rax\n  p/x $rsp + 16\n"
                "  print mm_malloc", aliases=("p", "output"))
SET = Command("set", _set, "change a register", "set $REG = VALUE\nExamples:\n  set $rax = 0\n"
              "  set $rdi = $rsp + 8")

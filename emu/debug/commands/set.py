"""set var EXPR = VALUE / set $REG = VALUE: change a variable, memory or a register."""

from ..dwarf.evaluate import EvalError
from .base import Command, CommandError, require_alive


def _set(repl, args: str):
    require_alive(repl, "set")
    text = args.strip()
    for prefix in ("variable ", "var "):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if "=" not in text.replace("==", ""):
        raise CommandError("set: expected VARIABLE = VALUE, e.g. set var total = 0 "
                           "or set $rax = 5")
    try:
        repl.dbg.value(text)
    except EvalError as exc:
        raise CommandError(f"set: {exc}") from None
    return []


SET = Command("set", _set, "change a variable, memory, or a register",
              "set var EXPR = VALUE | set $REG = VALUE\nExamples:\n  set var total = 0\n"
              "  set $rax = 0\n  set *(long *)0x405000 = 7\n  set $rdi = $rsp + 8")

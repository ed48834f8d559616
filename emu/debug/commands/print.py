"""print / output / call EXPR: evaluate a C expression in the selected frame.

The value goes into the value history ($1, $2, ...; $ is the last). /FMT
prints every scalar in it as x (hex), d, u, o, t (binary), c, a (address
and symbol) or z (zero-padded hex)."""

from ..dwarf.evaluate import EvalError
from ..dwarf.values import Value, value_bytes
from ..report import reader, value_line
from .base import Command, CommandError

FORMATS = "xduotcaz"


def split_format(args: str, command: str) -> tuple[str, str]:
    """('x', 'expr') from '/x expr'; CommandError for an unknown letter."""
    text = args.strip()
    if not text.startswith("/"):
        return "", text
    fmt, _, rest = text[1:].partition(" ")
    if len(fmt) != 1 or fmt not in FORMATS:
        raise CommandError(f'{command}: undefined output format "{fmt}" '
                           f"(one of {', '.join(FORMATS)})")
    return fmt, rest.strip()


def _print(repl, args: str, record: bool = True):
    fmt, text = split_format(args, "print")
    dbg = repl.dbg
    if not text:
        if not dbg.values:
            raise CommandError("print: the value history is empty (print EXPR)")
        value = dbg.values[-1]
    else:
        try:
            value = dbg.value(text)
        except EvalError as exc:
            raise CommandError(str(exc)) from None
    shown = value_line(dbg, value, fmt)
    if not record:
        return [shown]
    dbg.values.append(detached(dbg, value))
    return [f"${len(dbg.values)} = {shown}"]


def detached(dbg, value):
    """The value as history keeps it: its bytes now (later changes to memory
    or registers do not change $N), and its address when it had one."""
    if value.optimized:
        return value
    try:
        data = value_bytes(value, reader(dbg))
    except Exception:        # unreadable: keep the lvalue, print shows the error again
        return value
    return Value(value.type, address=value.address, data=data, bit_size=value.bit_size,
                 bit_offset=value.bit_offset)


PRINT = Command(
    "print", _print, "evaluate a C expression: variables, *p, p->f, a[i], casts, $registers",
    "print[/FMT] EXPR   (FMT: x d u o t c a z)\nExamples:\n  print size\n  p *list\n"
    "  p list->next->value\n  p *(long *)0x405000\n  p/x $rsp + 16\n  p arr[2]@3\n"
    "  print total = 0", aliases=("p", "inspect", "call"))
OUTPUT = Command("output", lambda repl, args: _print(repl, args, record=False),
                 "like print, without recording the value in the history",
                 "output EXPR\nExamples:\n  output total")

"""whatis / ptype EXPR-or-TYPE: the C type of an expression or a type name."""

from ..dwarf.cexpr import ParseError, parse_type
from ..dwarf.evaluate import EvalError, Evaluator
from ..dwarf.types import spell
from .base import Command, CommandError


def _type_of(repl, text: str, command: str):
    if not text:
        raise CommandError(f"{command}: expected an expression or a type, e.g. {command} list")
    dbg = repl.dbg
    context = dbg.context()
    try:
        return Evaluator(context).resolve_type(parse_type(text, lambda w: True))
    except (ParseError, EvalError):
        pass
    try:
        return dbg.value(text).type
    except EvalError as exc:
        raise CommandError(str(exc)) from None


def _whatis(repl, args: str):
    return [f"type = {spell(_type_of(repl, args.strip(), 'whatis'))}"]


def _ptype(repl, args: str):
    t = _type_of(repl, args.strip(), "ptype")
    core = t.strip()
    if core.kind in ("struct", "union"):
        lines = [f"type = {core.kind} {core.name + ' ' if core.name else ''}{{"]
        lines += [f"    {spell(m.type, m.name)}{' : ' + str(m.bits) if m.bits else ''};"
                  for m in core.members]
        return lines + ["}" + _pointer_suffix(t)]
    if core.kind == "enum":
        names = ", ".join(core.enumerators.values())
        return [f"type = enum {core.name + ' ' if core.name else ''}{{{names}}}"]
    return [f"type = {spell(core if t.kind == 'typedef' else t)}"]


def _pointer_suffix(t) -> str:
    depth = 0
    while t.kind == "pointer":
        depth += 1
        t = t.target
    return " " + "*" * depth if depth else ""


WHATIS = Command("whatis", _whatis, "the type of an expression",
                 "whatis EXPR\nExamples:\n  whatis list\n  whatis size_t")
PTYPE = Command("ptype", _ptype, "the type of an expression, structs spelled out",
                "ptype EXPR|TYPE\nExamples:\n  ptype struct node\n  ptype list")

"""Conditional assembly: the %if family's stack and its tests.

    %if EXPR / %ifdef NAME / %ifidn A, B / ... and %ifn... for each
    %elif... (same tests), %else, %endif

Conditionals keeps one entry per open %if: whether its lines are assembled,
whether one of its branches was already taken, and whether the text around
it is assembled at all (in a skipped region nothing is evaluated, only the
nesting is followed, as in NASM).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .macros import IDENT, MacroError, expand_defines, lookup_define, split_arguments

DIRECTIVE = re.compile(r"(el)?if(n)?(def|idni|idn|macro|empty|num|id|str)?$")


def is_conditional(name: str) -> bool:
    """True for %if..., %elif..., %else and %endif (name without the %)."""
    return DIRECTIVE.match(name) is not None or name in ("else", "endif")


@dataclass
class _Cond:
    active: bool          # lines here are assembled
    taken: bool           # some branch of this %if was already chosen
    parent: bool          # the enclosing text is active
    else_seen: bool = False


class Conditionals:
    """The open %if blocks. `test(kind, text)` evaluates one condition."""

    def __init__(self, test):
        self.stack: list[_Cond] = []
        self.test = test

    def active(self) -> bool:
        return not self.stack or self.stack[-1].active

    def handle(self, name: str, rest: str) -> None:
        """Apply one conditional directive; raises MacroError when misplaced."""
        if name == "endif":
            self._top("%endif")
            self.stack.pop()
            return
        if name == "else":
            top = self._top("%else")
            if top.else_seen:
                raise MacroError("a second %else for one %if")
            top.else_seen, top.active, top.taken = True, top.parent and not top.taken, True
            return
        m = DIRECTIVE.match(name)
        negate, kind = bool(m.group(2)), m.group(3) or ""
        if not m.group(1):                                    # %if...
            parent = self.active()
            value = parent and self.test(kind, rest.strip()) != negate
            self.stack.append(_Cond(active=value, taken=value or not parent, parent=parent))
            return
        top = self._top(f"%{name}")                           # %elif...
        if top.else_seen:
            raise MacroError(f"%{name} after %else")
        if top.parent and not top.taken:
            top.active = top.taken = self.test(kind, rest.strip()) != negate
        else:
            top.active = False

    def _top(self, what: str) -> _Cond:
        if not self.stack:
            raise MacroError(f"{what} without an %if")
        return self.stack[-1]


def condition(kind: str, rest: str, defines, macros, evaluate) -> bool:
    """The truth of `%if<kind> rest` (evaluate(text) for a plain %if)."""
    if kind == "def":
        return lookup_define(defines, rest.split()[0] if rest else "") is not None
    if kind == "macro":
        return (rest.split() or [""])[0] in macros
    text = expand_defines(rest, defines)
    if kind in ("idn", "idni"):
        parts = split_arguments(text)
        if len(parts) != 2:
            raise MacroError(f"%if{kind} needs two texts separated by a comma")
        a, b = (re.sub(r"\s+", "", p) for p in parts)
        return a.lower() == b.lower() if kind == "idni" else a == b
    if kind == "empty":
        return not text.strip()
    if kind == "num":
        return re.fullmatch(r"\s*[-+]?\s*(\$?[0-9][\w.]*)\s*", text) is not None
    if kind == "id":
        return re.fullmatch(rf"\s*{IDENT}\s*", text) is not None
    if kind == "str":
        return re.fullmatch(r"""\s*('[^']*'|"[^"]*"|`[^`]*`)\s*""", text) is not None
    return evaluate(text) != 0

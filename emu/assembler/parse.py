"""Reading NASM source into statements.

One source line holds at most one statement:

    [label:] [times COUNT] mnemonic-or-directive [operand, operand...] [; comment]
    NAME equ EXPR
    %define NAME TEXT

Local labels (".loop") belong to the last label without a dot, as in NASM, and
are stored under the full name ("os_mem_allocate.loop").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import AssemblyError
from .expr import Context, ExprError, evaluate, tokenize

IDENT = r"[A-Za-z_.?@][\w.?@$#~]*"
_LABEL = re.compile(rf"^\s*(\$?{IDENT})\s*:(?!:)")
_EQU = re.compile(rf"^\s*({IDENT})\s*:?\s+equ\s+(.+)$", re.IGNORECASE)
_DEFINE = re.compile(rf"^\s*%(define|assign|xdefine)\s+({IDENT})\s*(.*)$", re.IGNORECASE)
_WORD = re.compile(rf"\s*({IDENT})")

DATA_SIZES = {"db": 1, "dw": 2, "dd": 4, "dq": 8}
RESERVE_SIZES = {"resb": 1, "resw": 2, "resd": 4, "resq": 8, "rest": 10, "reso": 16,
                 "resy": 32, "resz": 64}
PREFIXES = {"rep", "repe", "repz", "repne", "repnz", "lock", "xacquire", "xrelease",
            "bnd", "notrack"}
IGNORED = {"cpu", "use64"}
DIRECTIVES = ({"section", "segment", "global", "extern", "common", "bits", "default",
               "align", "alignb", "org", "times", "static"}
              | set(DATA_SIZES) | set(RESERVE_SIZES) | IGNORED)


@dataclass
class Statement:
    """One parsed source line. `kind` is one of:
    insn, data, reserve, align, section, equ, global, extern, bits, default, empty."""
    line: int
    source: str
    label: str | None = None
    kind: str = "empty"
    name: str = ""                   # mnemonic (with prefixes) or directive
    operands: list[str] = field(default_factory=list)
    times: str | None = None         # repeat-count expression
    scope: str = ""                  # the label ".local" names belong to here


def strip_comment(line: str) -> str:
    """`line` without its `;` comment (a `;` inside quotes is kept)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == ";":
            return line[:i]
    return line


def split_operands(text: str) -> list[str]:
    """Split on commas that are outside quotes, brackets and parentheses."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if quote:
        raise ValueError("unterminated string")
    last = text[start:].strip()
    if last or parts:
        parts.append(last)
    if any(not p for p in parts):
        raise ValueError("empty operand")
    return parts


class Reader:
    """Turns source text into Statements, tracking %define and label scope."""

    def __init__(self, file: str):
        self.file = file
        self.defines: dict[str, str] = {}
        self.scope = ""

    def error(self, message: str, line: int, source: str) -> AssemblyError:
        return AssemblyError(message, self.file, line, source)

    def read(self, text: str) -> list[Statement]:
        return [self.statement(n, raw) for n, raw in enumerate(text.splitlines(), 1)]

    def statement(self, number: int, raw: str) -> Statement:
        line = strip_comment(raw).strip()
        stmt = Statement(number, raw)
        if line.startswith("%"):
            self._define(line, stmt)
            return stmt
        line = self._substitute(line)
        if line.startswith("[") and line.endswith("]"):        # [section .text]
            line = line[1:-1].strip()
        equ = _EQU.match(line)
        if equ:                          # a constant: the local-label scope stays
            stmt.label, stmt.kind = self._full_name(equ.group(1), stmt, scoping=False), "equ"
            stmt.operands = [equ.group(2).strip()]
            stmt.scope = self.scope
            return stmt
        label = _LABEL.match(line)
        if label:
            stmt.label = self._full_name(label.group(1).lstrip("$"), stmt)
            line = line[label.end():].strip()
        stmt.scope = self.scope
        if line:
            self._body(line, stmt)
        return stmt

    def _define(self, line: str, stmt: Statement) -> None:
        m = _DEFINE.match(line)
        if not m:
            word = line.split()[0]
            raise self.error(f"preprocessor directive {word} is not supported "
                             f"(only %define and %assign)", stmt.line, stmt.source)
        text = self._substitute(m.group(3).strip())
        if m.group(1).lower() == "assign":       # %assign evaluates, %define substitutes
            try:
                text = str(evaluate(text, Context(lambda name: None)))
            except ExprError as exc:
                raise self.error(f"%assign {m.group(2)}: {exc}", stmt.line, stmt.source) from None
        self.defines[m.group(2)] = text

    def _substitute(self, line: str) -> str:
        """Replace defined names outside string and character constants."""
        if not self.defines:
            return line
        parts = re.split(r"""('[^']*'|"[^"]*"|`(?:\\.|[^`])*`)""", line)
        for i in range(0, len(parts), 2):
            parts[i] = re.sub(IDENT, lambda m: self.defines.get(m.group(), m.group()), parts[i])
        return "".join(parts)

    def _full_name(self, name: str, stmt: Statement, scoping: bool = True) -> str:
        if name.startswith(".") and not name.startswith(".."):
            if not self.scope:
                raise self.error(f"local label {name} has no label before it",
                                 stmt.line, stmt.source)
            return self.scope + name
        if scoping:
            self.scope = name
        return name

    def _body(self, line: str, stmt: Statement) -> None:
        words = line.split(None, 1)
        name = words[0].lower()
        rest = words[1].strip() if len(words) > 1 else ""
        if name == "times":
            stmt.times, rest = self._split_times(rest, stmt)
            words = rest.split(None, 1)
            name = words[0].lower()
            rest = words[1].strip() if len(words) > 1 else ""
        prefixes = []
        while name in PREFIXES and rest:
            prefixes.append(name)
            words = rest.split(None, 1)
            name = words[0].lower()
            rest = words[1].strip() if len(words) > 1 else ""
        stmt.name = " ".join(prefixes + [name])
        try:
            stmt.operands = split_operands(rest) if rest else []
        except ValueError as exc:
            raise self.error(str(exc), stmt.line, stmt.source) from None
        stmt.kind = self._kind(name, prefixes, stmt)

    def _kind(self, name: str, prefixes: list[str], stmt: Statement) -> str:
        if prefixes or name not in DIRECTIVES:
            return "insn"
        if name in DATA_SIZES:
            return "data"
        if name in RESERVE_SIZES:
            return "reserve"
        if name in ("align", "alignb"):
            return "align"
        if name in ("section", "segment"):
            return "section"
        if name in ("global", "static", "common"):
            return "global"
        if name in IGNORED:
            return "empty"
        if name in ("extern", "bits", "default"):
            return name
        raise self.error(f"directive '{name}' is not supported", stmt.line, stmt.source)

    def _split_times(self, rest: str, stmt: Statement) -> tuple[str, str]:
        """Split 'COUNT statement' after `times` where COUNT is a whole expression."""
        for m in re.finditer(r"\s+(?=[A-Za-z_.])", rest):
            left, right = rest[:m.start()], rest[m.end():]
            if _is_expression(left):
                return left, right
        raise self.error("times needs a count and a statement", stmt.line, stmt.source)


def _is_expression(text: str) -> bool:
    """True if `text` tokenizes as a complete expression (ends on an operand)."""
    try:
        tokens = tokenize(text)
    except ExprError:
        return False
    if not tokens or tokens[-1][0] == "op" and tokens[-1][1] != ")":
        return False
    depth = sum(1 if t == "(" else -1 if t == ")" else 0 for _, t in tokens)
    return depth == 0

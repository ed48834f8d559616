"""Reading preprocessed lines into statements.

One line holds at most one statement:

    [label[:]] [times COUNT] [prefix...] mnemonic-or-directive [operand, ...]
    NAME [:] equ EXPR
    [directive ...]                     ([section .text], [bits 64], [org x])

A label needs no colon, as in NASM (`msg db "hi"`, `buf resb 64`): the first
word of a line is a label when it is not an instruction, a prefix or a
directive; a label alone on a line without a colon is accepted with NASM's
warning, because it is more often a misspelt instruction.

Local labels (".loop") belong to the last label without a dot and are stored
under the full name ("os_mem_allocate.loop"); labels made by macros
(`..@12.top`, from %%top) do not start a new scope, as in NASM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import AssemblyError
from .expr import ExprError, tokenize
from .mnemonics import PREFIXES, UNSUPPORTED_PREFIXES, is_instruction
from .operands import REGISTERS
from .preprocess import Line
from .text import split_operands

IDENT = r"[A-Za-z_.?@][\w.?@$#~]*"
_LABEL = re.compile(rf"^(\$?{IDENT})\s*:(?!:)")
_EQU = re.compile(rf"^(\$?{IDENT})\s*:?\s+equ\b\s*(.*)$", re.IGNORECASE)
_WORD = re.compile(rf"\$?{IDENT}")

DATA_SIZES = {"db": 1, "dw": 2, "dd": 4, "dq": 8, "dt": 10, "do": 16, "dy": 32, "dz": 64}
RESERVE_SIZES = {"resb": 1, "resw": 2, "resd": 4, "resq": 8, "rest": 10, "reso": 16,
                 "resy": 32, "resz": 64}
IGNORED = {"cpu", "use64", "map", "sectalign"}
KINDS = {"section": "section", "segment": "section", "global": "global",
         "static": "global", "common": "global", "extern": "extern", "bits": "bits",
         "default": "default", "align": "align", "alignb": "align", "org": "org"}
DIRECTIVES = set(KINDS) | set(DATA_SIZES) | set(RESERVE_SIZES) | IGNORED


@dataclass
class Statement:
    """One statement. `kind` is one of: insn, data, reserve, align, section,
    equ, global, extern, bits, default, org, empty."""
    file: str
    line: int
    source: str
    label: str | None = None
    kind: str = "empty"
    name: str = ""                   # mnemonic or directive, lower case
    prefixes: list[str] = field(default_factory=list)
    operands: list[str] = field(default_factory=list)
    times: str | None = None         # repeat-count expression
    scope: str = ""                  # the label ".local" names belong to here


def is_statement_word(word: str) -> bool:
    w = word.lower()
    return w in DIRECTIVES or w == "times" or w in PREFIXES or w in UNSUPPORTED_PREFIXES \
        or is_instruction(w)


class Reader:
    """Turns preprocessed Lines into Statements, tracking label scope."""

    def __init__(self):
        self.scope = ""
        self.warnings: list[str] = []

    def read(self, lines: list[Line]) -> list[Statement]:
        return [self.statement(line) for line in lines]

    def error(self, message: str, stmt: Statement) -> AssemblyError:
        return AssemblyError(message, stmt.file, stmt.line, stmt.source)

    def statement(self, line: Line) -> Statement:
        stmt = Statement(line.file, line.number, line.source)
        text = line.text.strip()
        if text.startswith("[") and text.endswith("]") and \
                (text[1:].split() or [""])[0].lower() in DIRECTIVES:
            text = text[1:-1].strip()                       # [section .text], [bits 64]
        if not text:
            stmt.scope = self.scope
            return stmt
        equ = _EQU.match(text)
        if equ and not is_statement_word(equ.group(1)):
            stmt.label = self._full_name(equ.group(1), stmt, scoping=False)
            stmt.kind, stmt.operands, stmt.scope = "equ", [equ.group(2).strip()], self.scope
            if not stmt.operands[0]:
                raise self.error("equ needs a value", stmt)
            return stmt
        text = self._label(text, stmt)
        stmt.scope = self.scope
        if text:
            self._body(text, stmt)
        return stmt

    def _label(self, text: str, stmt: Statement) -> str:
        """Take a leading label off `text`; return what follows it."""
        m = _LABEL.match(text)
        if m:
            stmt.label = self._full_name(m.group(1), stmt)
            return text[m.end():].strip()
        word = _WORD.match(text)
        if word is None or word.end() < len(text) and not text[word.end()].isspace():
            if text[0] in ",:":
                raise self.error("label or instruction expected at the start of the line",
                                 stmt)
            return text
        if is_statement_word(word.group()):
            return text
        rest = text[word.end():].strip()
        if rest and not is_statement_word(rest.split()[0]):
            raise self.error(f"'{word.group()}' is not an instruction", stmt)
        stmt.label = self._full_name(word.group(), stmt)
        if not rest:
            self.warnings.append(f"{stmt.file}:{stmt.line}: warning: label '{word.group()}' "
                                 f"alone on a line without a colon might be in error")
        return rest

    def _full_name(self, name: str, stmt: Statement, scoping: bool = True) -> str:
        if not name.startswith("$") and name.lower() in REGISTERS:
            raise self.error(f"'{name}' is a register, not a label (write ${name} for a "
                             f"label of that name)", stmt)
        name = name.lstrip("$")
        if name.startswith("..@"):
            return name                                     # a macro's %%label
        if name.startswith(".") and not name.startswith(".."):
            return self.scope + name                        # no label before: just .name
        if scoping:
            self.scope = name
        return name

    def _body(self, text: str, stmt: Statement) -> None:
        name, rest = _split_word(text)
        if name == "times":
            stmt.times, rest = self._split_times(rest, stmt)
            name, rest = _split_word(rest)
        while name in PREFIXES | UNSUPPORTED_PREFIXES and rest:
            if name in UNSUPPORTED_PREFIXES:
                raise self.error(f"the {name} prefix is not supported", stmt)
            stmt.prefixes.append(name)
            name, rest = _split_word(rest)
        stmt.name = name
        try:
            stmt.operands = split_operands(rest, trailing_comma=name in DATA_SIZES)
        except ValueError as exc:
            raise self.error(str(exc), stmt) from None
        stmt.kind = self._kind(name, stmt)

    def _kind(self, name: str, stmt: Statement) -> str:
        if name in DATA_SIZES:
            return "data"
        if name in RESERVE_SIZES:
            return "reserve"
        if name in IGNORED:
            return "empty"
        if name in KINDS:
            if stmt.prefixes:
                raise self.error(f"a prefix cannot go before '{name}'", stmt)
            return KINDS[name]
        if name in PREFIXES or is_instruction(name):
            return "insn"
        if name == "equ":
            raise self.error("equ needs a name before it", stmt)
        raise self.error(f"'{name}' is not an instruction", stmt)

    def _split_times(self, rest: str, stmt: Statement) -> tuple[str, str]:
        """Split 'COUNT statement' after `times` where COUNT is a whole expression."""
        for m in re.finditer(r"\s+(?=[A-Za-z_.])", rest):
            left, right = rest[:m.start()], rest[m.end():]
            if _is_expression(left) and is_statement_word(right.split()[0]):
                return left, right
        raise self.error("times needs a count and then an instruction or data", stmt)


def _split_word(text: str) -> tuple[str, str]:
    words = text.split(None, 1)
    return words[0].lower(), (words[1].strip() if len(words) > 1 else "")


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

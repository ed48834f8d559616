"""NASM expressions: numbers, characters, symbols, `$`, `$$` and operators.

Keystone cannot be trusted with these (it has no `%`, misreads `1_000` and
`17q`, and mis-resolves symbols), so the front end evaluates every expression
itself and hands keystone plain decimal numbers.

Precedence, lowest first (as in NASM):  |   ^   &   << >>   + -   * / // % %%
then the unary operators - + ~ !. Arithmetic is NASM's, on 64-bit values:
`/`, `%` and `>>` treat their operands as unsigned 64-bit numbers; `//` and
`%%` are signed (truncating toward zero); `<<` keeps 64 bits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import EmuError

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>
        0[xX][0-9a-fA-F_]+ | 0[bByY][01_]+ | 0[oOqQ][0-7_]+ | 0[dDtT][0-9_]+
      | [0-9][0-9a-fA-F_]*[hH]\b | [01][01_]*[bByY]\b | [0-7][0-7_]*[oOqQ]\b
      | [0-9][0-9_]*[dDtT]?\b )
  | (?P<string> '[^']*' | "[^"]*" | `[^`]*` )
  | (?P<here>\$\$|\$(?![\w.?@]))
  | (?P<ident> \$?[A-Za-z_.?@][\w.?@$#~]* )
  | (?P<op> <<|>>|//|%%|[-+*/%&|^~!()] )
""", re.VERBOSE)


class ExprError(EmuError):
    """An expression that cannot be read or evaluated."""


def parse_number(text: str) -> int:
    """The value of one NASM number literal (0x1f, 1fh, 0b101, 101b, 17q, 1_000)."""
    t = text.replace("_", "").lower()
    if t[:2] == "0x":
        return int(t[2:], 16)
    if t[:2] in ("0b", "0y"):
        return int(t[2:], 2)
    if t[:2] in ("0o", "0q"):
        return int(t[2:], 8)
    if t[:2] in ("0d", "0t"):
        return int(t[2:], 10)
    suffix = t[-1]
    if suffix == "h":
        return int(t[:-1], 16)
    if suffix in "by" and re.fullmatch(r"[01]+[by]", t):
        return int(t[:-1], 2)
    if suffix in "oq":
        return int(t[:-1], 8)
    if suffix in "dt":
        return int(t[:-1], 10)
    return int(t, 10)


def char_constant(body: str) -> int:
    """NASM character constant: 'ab' is 0x6261 (first character lowest)."""
    data = body.encode("latin-1", errors="replace")
    if len(data) > 8:
        raise ExprError(f"character constant '{body}' is longer than 8 bytes")
    return int.from_bytes(data, "little")


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens of an expression; raises ExprError on a stray character."""
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"unexpected character {text[pos]!r} in expression '{text.strip()}'")
        if m.lastgroup != "space":
            tokens.append((m.lastgroup, m.group()))
        pos = m.end()
    return tokens


@dataclass
class Context:
    """What an expression may refer to.

    lookup(name) returns a symbol's value or None if it is not (yet) known;
    `here` is the address of the current statement ($), `section_start` its
    section's ($$). Names that were not known are collected in `missing`; they
    evaluate to `here`, a guess that keeps jumps short until the next pass.
    """
    lookup: callable
    here: int = 0
    section_start: int = 0
    missing: set[str] = field(default_factory=set)


U64 = (1 << 64) - 1


def _signed(value: int) -> int:
    value &= U64
    return value - (1 << 64) if value >> 63 else value


_BINARY = [  # lowest precedence first
    {"|": lambda a, b: a | b},
    {"^": lambda a, b: a ^ b},
    {"&": lambda a, b: a & b},
    {"<<": lambda a, b: _signed(a << (b & 63)), ">>": lambda a, b: (a & U64) >> (b & 63)},
    {"+": lambda a, b: a + b, "-": lambda a, b: a - b},
    {"*": lambda a, b: a * b, "/": None, "//": None, "%": None, "%%": None},
]


def evaluate(text: str, ctx: Context) -> int:
    """Evaluate NASM expression `text`; raises ExprError when it is malformed."""
    parser = _Parser(tokenize(text), ctx, text)
    if not parser.tokens:
        raise ExprError("missing expression")
    value = parser.binary(0)
    if parser.pos != len(parser.tokens):
        raise ExprError(f"unexpected '{parser.tokens[parser.pos][1]}' in expression "
                        f"'{text.strip()}'")
    return value


class _Parser:
    def __init__(self, tokens, ctx: Context, text: str):
        self.tokens, self.ctx, self.text, self.pos = tokens, ctx, text.strip(), 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def binary(self, level: int) -> int:
        if level == len(_BINARY):
            return self.unary()
        value = self.binary(level + 1)
        ops = _BINARY[level]
        while self.peek() in ops and self.tokens[self.pos][0] == "op":
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self.binary(level + 1)
            value = self.apply(op, value, right) if ops[op] is None else ops[op](value, right)
        return value

    def apply(self, op: str, a: int, b: int) -> int:
        if b & U64 == 0:
            raise ExprError(f"division by zero in '{self.text}'")
        if op in ("/", "%"):                       # unsigned 64-bit
            ua, ub = a & U64, b & U64
            return ua // ub if op == "/" else ua % ub
        a, b = _signed(a), _signed(b)              # signed, truncating like C
        quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
        return quotient if op == "//" else a - b * quotient

    def unary(self) -> int:
        tok = self.peek()
        if tok in ("-", "+", "~", "!") and self.tokens[self.pos][0] == "op":
            self.pos += 1
            value = self.unary()
            return {"-": -value, "+": value, "~": ~value, "!": int(value == 0)}[tok]
        return self.atom()

    def atom(self) -> int:
        if self.pos >= len(self.tokens):
            raise ExprError(f"expression '{self.text}' ends too soon")
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if kind == "number":
            return parse_number(text)
        if kind == "string":
            return char_constant(text[1:-1])
        if kind == "here":
            return self.ctx.section_start if text == "$$" else self.ctx.here
        if kind == "ident":
            name = text[1:] if text.startswith("$") else text
            value = self.ctx.lookup(name)
            if value is None:
                self.ctx.missing.add(name)
                return self.ctx.here
            return value
        if text == "(":
            value = self.binary(0)
            if self.peek() != ")":
                raise ExprError(f"missing ')' in '{self.text}'")
            self.pos += 1
            return value
        raise ExprError(f"unexpected '{text}' in expression '{self.text}'")

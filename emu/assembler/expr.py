"""NASM expressions: numbers, characters, symbols, `$`, `$$`, registers, operators.

Keystone cannot be trusted with these (it has no `%`, misreads `1_000` and
`17q`, and mis-resolves symbols), so the front end evaluates every expression
itself and hands keystone plain numbers.

Precedence, lowest first (as in NASM):

    ? :     ||     ^^     &&     = == != <> < <= > >= <=>     |     ^     &
    << >> <<< >>>     + -     * / // % %%     unary - + ~ !

Arithmetic is NASM's, on 64-bit values: `/`, `%` and `>>` treat their
operands as unsigned 64-bit numbers; `//`, `%%` and `>>>` are signed.

A value is NASM's "vector" (see Value): a number, plus how many section
addresses it counts (a label counts one, `label - label` none), plus
registers with their multipliers, which only a memory operand may hold
(`[rax + rbx*4 + 8]`). Only + and - and multiplication by a plain number
work on addresses and registers, as in NASM.

The parser is a loop over an operator stack, not a recursion, so an
expression nested 10,000 parentheses deep is merely long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import EmuError
from .floats import FloatError, float_bits, is_float_literal
from .strings import string_bytes

U64 = (1 << 64) - 1
MAX_EXPRESSION = 10_000                # characters: longer is a mistake, not a program

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<float_fn>__\??float(?:8|16|32|64|80m|80e|128l|128h)\??__\s*\(\s*[-+]?\s*
        [^()\s]+\s*\))
  | (?P<number>(?:\$[0-9]|[0-9])[\w.]*(?:(?<=[eEpP])[-+][0-9][\w.]*)?)
  | (?P<string>'[^']*'|"[^"]*"|`(?:\\.|[^`\\])*`)
  | (?P<here>\$\$|\$(?![\w.?@$#~]))
  | (?P<ident>\$?[A-Za-z_.?@][\w.?@$#~]*)
  | (?P<op><=>|<<<|>>>|<<|>>|//|%%|==|!=|<>|<=|>=|&&|\|\||\^\^|[-+*/%&|^~!()<>=?:])
""", re.VERBOSE)


class ExprError(EmuError):
    """An expression that cannot be read or evaluated."""


@dataclass(frozen=True)
class Value:
    """number + reloc section addresses + sum of register*multiplier terms.

    regs holds (name, multiplier, scaled) in the order written; `scaled` is
    True when the source multiplied the register itself (`rbx*1`), which
    makes it the index rather than the base, as NASM decides.
    `unknown` marks a value that used a symbol not defined yet (a guess).
    """
    number: int
    reloc: int = 0
    regs: tuple = ()
    unknown: bool = False

    @property
    def scalar(self) -> bool:
        return self.reloc == 0 and not self.regs


@dataclass
class Context:
    """What an expression may refer to.

    lookup(name) returns a symbol's Value (or int) or None if it is not
    (yet) known; `here` is the address of the current statement ($),
    `section_start` its section's ($$). Names that were not known are
    collected in `missing`; they evaluate to `here`, a guess that keeps
    jumps short until the next pass. `registers` is the set of register
    names a memory operand may use (empty elsewhere).
    """
    lookup: callable
    here: int = 0
    section_start: int = 0
    missing: set[str] = field(default_factory=set)
    registers: frozenset = frozenset()
    warnings: list[str] = field(default_factory=list)
    uses: set[str] = field(default_factory=set)     # symbols and $ / $$ it looked at


def wrap(value: int) -> int:
    """`value` as NASM holds it: 64 bits, signed."""
    value &= U64
    return value - (1 << 64) if value >> 63 else value


def parse_number(text: str) -> int:
    """The value of one NASM integer literal (0x1f, 1fh, $1f, 0b101, 101b, 17q,
    1_000, 0d99, 99d); raises ExprError if it is not one."""
    t = text.replace("_", "").lower()
    bases = {"x": 16, "h": 16, "b": 2, "y": 2, "o": 8, "q": 8, "d": 10, "t": 10}
    readings = []
    if t[:1] == "$":
        readings.append((t[1:], 16))
    if t[:1] == "0" and t[1:2] in bases and len(t) > 2:
        readings.append((t[2:], bases[t[1]]))          # 0x1f, 0b101 ...
    if t[-1:] in bases and len(t) > 1 and t[-1] != "x":
        readings.append((t[:-1], bases[t[-1]]))         # 1fh, 101b, 0b9h ...
    readings.append((t, 10))
    for digits, base in readings:
        try:
            return int(digits, base)
        except ValueError:
            continue
    raise ExprError(f"invalid number '{text}'")


def char_constant(quoted: str, warnings: list[str] | None = None) -> int:
    """NASM character constant: 'ab' is 0x6261 (first character lowest).
    Longer than 8 bytes: NASM keeps the first 8 and warns."""
    try:
        data = string_bytes(quoted)
    except ValueError as exc:
        raise ExprError(str(exc)) from None
    if len(data) > 8 and warnings is not None:
        warnings.append(f"character constant {quoted} is longer than 8 bytes: "
                        f"only the first 8 are used")
    return int.from_bytes(data[:8], "little")


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens of an expression; raises ExprError on a stray character."""
    if len(text) > MAX_EXPRESSION:
        raise ExprError(f"expression longer than {MAX_EXPRESSION} characters")
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"unexpected character {text[pos]!r} in expression '{text.strip()}'")
        if m.lastgroup == "ident" and m.group() == "?":
            tokens.append(("op", "?"))                  # the ternary operator
        elif m.lastgroup != "space":
            tokens.append((m.lastgroup, m.group()))
        pos = m.end()
    return tokens


def evaluate(text: str, ctx: Context) -> int:
    """Evaluate NASM expression `text` to a number; raises ExprError when it
    is malformed or uses a register."""
    value = evaluate_value(text, ctx)
    if value.regs:
        raise ExprError(f"register '{value.regs[0][0]}' cannot be used in '{text.strip()}'")
    return value.number


def evaluate_value(text: str, ctx: Context) -> Value:
    """Evaluate `text` to a Value (number, addresses counted, registers)."""
    tokens = tokenize(text)
    if not tokens:
        raise ExprError("missing expression")
    return _Evaluator(ctx, text.strip()).run(tokens)


# -- operators -----------------------------------------------------------------------

def _signed(v: int) -> int:
    return wrap(v)


def _divide(op: str, a: int, b: int, text: str) -> int:
    if b & U64 == 0:
        raise ExprError(f"division by zero in '{text}'")
    if op in ("/", "%"):                                  # unsigned 64-bit
        ua, ub = a & U64, b & U64
        return ua // ub if op == "/" else ua % ub
    a, b = _signed(a), _signed(b)                        # signed, truncating like C
    quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
    return quotient if op == "//" else a - b * quotient


_SCALAR_OPS = {
    "||": lambda a, b: int(bool(a) or bool(b)),
    "^^": lambda a, b: int(bool(a) != bool(b)),
    "&&": lambda a, b: int(bool(a) and bool(b)),
    "=": lambda a, b: int(a == b), "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b), "<>": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b), "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b),
    "<=>": lambda a, b: (a > b) - (a < b),
    "|": lambda a, b: a | b, "^": lambda a, b: a ^ b, "&": lambda a, b: a & b,
    "<<": lambda a, b: a << (b & 63), "<<<": lambda a, b: a << (b & 63),
    ">>": lambda a, b: (a & U64) >> (b & 63), ">>>": lambda a, b: _signed(a) >> (b & 63),
}
_PRECEDENCE = {"?": 1, "||": 2, "^^": 3, "&&": 4,
               "=": 5, "==": 5, "!=": 5, "<>": 5, "<": 5, "<=": 5, ">": 5, ">=": 5, "<=>": 5,
               "|": 6, "^": 7, "&": 8, "<<": 9, ">>": 9, "<<<": 9, ">>>": 9,
               "+": 10, "-": 10, "*": 11, "/": 11, "//": 11, "%": 11, "%%": 11}
_UNARY = 12


class _Evaluator:
    """Operator-precedence evaluation with explicit stacks (no recursion)."""

    def __init__(self, ctx: Context, text: str):
        self.ctx, self.text = ctx, text
        self.values: list[Value] = []
        self.ops: list[str] = []          # binary ops, "u-" style unary ops, "(", "?"

    def run(self, tokens) -> Value:
        expect_operand = True
        for kind, tok in tokens:
            if expect_operand:
                if kind == "op" and tok in "-+~!" and len(tok) == 1:
                    self.ops.append("u" + tok)
                elif tok == "(":
                    self.ops.append("(")
                else:
                    self.values.append(self.operand(kind, tok))
                    expect_operand = False
                continue
            if tok == ")":
                self.reduce_until("(")
            elif tok == ":":
                self.reduce_until("?")
                self.ops.append(":")
                expect_operand = True
            elif kind == "op" and tok in _PRECEDENCE:
                self.push_binary(tok)
                expect_operand = True
            elif kind in ("number", "ident", "string", "here", "float_fn"):
                raise ExprError(f"an operator or a comma is missing before '{tok}' in "
                                f"'{self.text}'")
            else:
                raise ExprError(f"unexpected '{tok}' in expression '{self.text}'")
        if expect_operand:
            raise ExprError(f"expression '{self.text}' ends too soon")
        while self.ops:
            if self.ops[-1] == "(":
                raise ExprError(f"missing ')' in '{self.text}'")
            self.reduce()
        return self.values[-1]

    def push_binary(self, op: str) -> None:
        level = _PRECEDENCE[op]
        while self.ops and self.ops[-1] not in ("(", "?", ":"):
            top = self.ops[-1]
            top_level = _UNARY if top.startswith("u") else _PRECEDENCE[top]
            if top_level < level or (op == "?" and top_level == level):
                break
            self.reduce()
        self.ops.append(op)

    def reduce_until(self, opener: str) -> None:
        while self.ops and self.ops[-1] != opener:
            if self.ops[-1] == "(":
                break
            self.reduce()
        if not self.ops or self.ops[-1] != opener:
            what = "'('" if opener == "(" else "'?'"
            raise ExprError(f"missing {what} in '{self.text}'")
        if opener == "(":
            self.ops.pop()

    def reduce(self) -> None:
        op = self.ops.pop()
        if op.startswith("u"):
            self.values.append(self.unary(op[1], self.values.pop()))
            return
        if op == ":":
            if not self.ops or self.ops.pop() != "?":
                raise ExprError(f"':' without '?' in '{self.text}'")
            no, yes, cond = self.values.pop(), self.values.pop(), self.values.pop()
            self.values.append(yes if self.number(cond, "?") else no)
            return
        if op == "?":
            raise ExprError(f"'?' without ':' in '{self.text}'")
        right, left = self.values.pop(), self.values.pop()
        self.values.append(self.binary(op, left, right))

    # -- values ---------------------------------------------------------------------

    def operand(self, kind: str, tok: str) -> Value:
        if kind == "number":
            try:
                value = parse_number(tok)
            except ExprError:
                if is_float_literal(tok):
                    raise ExprError(f"floating-point constant {tok} in an integer "
                                    f"expression") from None
                raise
            if value > U64:
                self.ctx.warnings.append(f"numeric constant {tok} does not fit in 64 bits: "
                                         f"its low 64 bits are used, as in NASM")
            return Value(wrap(value))
        if kind == "float_fn":
            name, _, arg = tok.partition("(")
            try:
                return Value(float_bits(arg.rstrip(") \t"), name.strip("_?").replace("float", "")))
            except FloatError as exc:
                raise ExprError(str(exc)) from None
        if kind == "string":
            return Value(char_constant(tok, self.ctx.warnings))
        if kind == "here":
            self.ctx.uses.add(tok)
            address = self.ctx.section_start if tok == "$$" else self.ctx.here
            return Value(address, reloc=1)
        if kind == "ident":
            return self.symbol(tok)
        raise ExprError(f"unexpected '{tok}' in expression '{self.text}'")

    def symbol(self, tok: str) -> Value:
        if tok.lower() in self.ctx.registers:
            return Value(0, regs=((tok.lower(), 1, False),))
        name = tok[1:] if tok.startswith("$") else tok
        self.ctx.uses.add(name)
        value = self.ctx.lookup(name)
        if value is None:
            self.ctx.missing.add(name)
            return Value(self.ctx.here, reloc=1, unknown=True)
        return value if isinstance(value, Value) else Value(wrap(value))

    def number(self, value: Value, op: str) -> int:
        if not value.scalar and not value.unknown:
            what = "a register" if value.regs else "an address"
            raise ExprError(f"'{op}' needs plain numbers, not {what}, in '{self.text}'")
        return value.number

    def unary(self, op: str, v: Value) -> Value:
        if op == "+":
            return v
        if op == "-":
            regs = tuple((r, -c, s) for r, c, s in v.regs)
            return Value(wrap(-v.number), -v.reloc, regs, v.unknown)
        n = self.number(v, op)
        return Value(wrap(~n) if op == "~" else int(n == 0), unknown=v.unknown)

    def binary(self, op: str, a: Value, b: Value) -> Value:
        unknown = a.unknown or b.unknown
        if op in ("+", "-"):
            sign = 1 if op == "+" else -1
            regs = _add_regs(a.regs, b.regs, sign)
            return Value(wrap(a.number + sign * b.number), a.reloc + sign * b.reloc, regs, unknown)
        if op == "*":
            return self.multiply(a, b, unknown)
        x, y = self.number(a, op), self.number(b, op)
        if op in ("/", "//", "%", "%%"):
            if unknown and y == 0:
                return Value(0, unknown=True)
            return Value(wrap(_divide(op, x, y, self.text)), unknown=unknown)
        return Value(wrap(_SCALAR_OPS[op](x, y)), unknown=unknown)

    def multiply(self, a: Value, b: Value, unknown: bool) -> Value:
        if not a.scalar and not b.scalar and not unknown:
            raise ExprError(f"cannot multiply two registers or addresses in '{self.text}'")
        if not a.scalar and not a.unknown:
            a, b = b, a
        k = a.number                                        # a is the plain number
        if b.reloc and not unknown:
            raise ExprError(f"an address can only be added or subtracted in '{self.text}'")
        regs = tuple((r, c * k, True) for r, c, _ in b.regs)
        return Value(wrap(k * b.number), 0, regs, unknown)


def _add_regs(left: tuple, right: tuple, sign: int) -> tuple:
    """Sum two register vectors, keeping the order registers were written in."""
    if not right:
        return left
    out = {r: [c, s] for r, c, s in left}
    for r, c, s in right:
        if r in out:
            out[r][0] += sign * c
            out[r][1] = out[r][1] or s
        else:
            out[r] = [sign * c, s]
    return tuple((r, c, s) for r, (c, s) in out.items() if c != 0)

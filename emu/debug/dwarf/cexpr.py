"""C expressions as gdb reads them: tokens, then a tree.

    parse("p->next->value + 1", is_type)
      -> ("binary", "+", ("arrow", ("arrow", ("name", "p"), "next"), "value"), ("num", 1, "int"))

Grammar, loosest first (C's precedence, plus gdb's `@` for artificial arrays):

    expr     := assign
    assign   := ternary [ '=' assign ]
    ternary  := logor [ '?' expr ':' ternary ]
    logor    := logand { '||' logand }            ... down through | ^ & == != < > <= >=
    shift    := add { ('<<'|'>>') add }               << >> + - * / % and @
    unary    := ('-'|'+'|'!'|'~'|'*'|'&') unary | '(' TYPE ')' unary | 'sizeof' ...
              | '{' TYPE '}' unary                  gdb: the TYPE at that address
    postfix  := primary { '[' expr ']' | '.' NAME | '->' NAME | '(' args ')' }
    primary  := NUMBER | CHAR | STRING | NAME | $REG | $N | $ | $$ | $$N | '(' expr ')'

A parenthesised list of words is a cast when is_type(first word) says the
word names a type (a keyword, `struct X`, or a typedef of the program).
Types are (base words, pointer depth, array bounds): ("struct node", 1, ()).
ParseError says what was expected and where.
"""

from __future__ import annotations

import re

TYPE_KEYWORDS = {"void", "char", "short", "int", "long", "float", "double", "signed",
                 "unsigned", "_Bool", "struct", "union", "enum", "const", "volatile"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<float>(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?|\d+[eE][-+]?\d+[fF]?)
  | (?P<num>0[xX][0-9a-fA-F]+[uUlL]*|0[bB][01]+[uUlL]*|\d+[uUlL]*)
  | (?P<char>'(?:\\.|[^'\\])+')
  | (?P<str>"(?:\\.|[^"\\])*")
  | (?P<reg>\$\$?[A-Za-z_0-9]*)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>->|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>=?:.,\[\](){}@])
""", re.VERBOSE)
BINARY_LEVELS = (("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="),
                 ("<", ">", "<=", ">="), ("<<", ">>"), ("+", "-"), ("*", "/", "%"), ("@",))
ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "a": 7, "b": 8, "f": 12, "v": 11, "e": 27,
           "\\": 92, "'": 39, '"': 34}


class ParseError(Exception):
    """An expression that does not parse; the message is what gdb would say."""


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, at = [], 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None:
            raise ParseError(f"Invalid character '{text[at]}' in expression.")
        if m.lastgroup != "space":
            tokens.append((m.lastgroup, m.group()))
        at = m.end()
    return tokens


def parse(text: str, is_type=lambda word: False):
    """The tree of `text`; ParseError for anything else."""
    parser = _Parser(tokenize(text), is_type)
    if not parser.tokens:
        raise ParseError("expected an expression")
    tree = parser.expr()
    if parser.at < len(parser.tokens):
        raise ParseError(f"A syntax error in expression, near `{parser.rest()}'.")
    return tree


def parse_type(text: str, is_type=lambda word: False):
    """A type name alone ('struct node *', 'long'), as ptype/whatis and casts take it."""
    parser = _Parser(tokenize(text), is_type)
    spec = parser.type_name()
    if spec is None or parser.at < len(parser.tokens):
        raise ParseError(f"A syntax error in expression, near `{parser.rest()}'.")
    return spec


class _Parser:
    def __init__(self, tokens, is_type):
        self.tokens = tokens
        self.at = 0
        self.is_type = is_type

    # -- tokens --------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> tuple[str, str]:
        i = self.at + offset
        return self.tokens[i] if i < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def accept(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.at += 1
            return True
        return False

    def expect(self, op: str) -> None:
        if not self.accept(op):
            raise ParseError(f"A syntax error in expression, near `{self.rest()}'.")

    def rest(self) -> str:
        return " ".join(t for _, t in self.tokens[self.at:])

    # -- the grammar --------------------------------------------------------------------------

    def expr(self):
        left = self.assign()
        while self.accept(","):
            left = ("comma", left, self.assign())
        return left

    def assign(self):
        left = self.ternary()
        if self.accept("="):
            return ("assign", left, self.assign())
        return left

    def ternary(self):
        condition = self.binary(0)
        if self.accept("?"):
            yes = self.expr()
            self.expect(":")
            return ("ternary", condition, yes, self.ternary())
        return condition

    def binary(self, level: int):
        if level == len(BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in BINARY_LEVELS[level]:
            op = self.take()[1]
            left = ("binary", op, left, self.binary(level + 1))
        return left

    def unary(self):
        kind, text = self.peek()
        if kind == "op" and text in ("-", "+", "!", "~", "*", "&"):
            self.take()
            return ("unary", text, self.unary())
        if kind == "name" and text == "sizeof":
            self.take()
            if self.peek() == ("op", "(") and self._type_ahead(1):
                self.take()
                spec = self.type_name()
                self.expect(")")
                return ("sizeof_type", spec)
            return ("sizeof", self.unary())
        if kind == "op" and text == "(" and self._type_ahead(1):
            self.take()
            spec = self.type_name()
            self.expect(")")
            return ("cast", spec, self.unary())
        if kind == "op" and text == "{":
            self.take()
            spec = self.type_name()
            if spec is None:
                raise ParseError(f"A syntax error in expression, near `{self.rest()}'.")
            self.expect("}")
            return ("at_type", spec, self.unary())
        return self.postfix()

    def _type_ahead(self, offset: int) -> bool:
        kind, text = self.peek(offset)
        return kind == "name" and (text in TYPE_KEYWORDS or self.is_type(text))

    def postfix(self):
        node = self.primary()
        while True:
            if self.accept("["):
                node = ("index", node, self.expr())
                self.expect("]")
            elif self.accept("."):
                node = ("member", node, self._name())
            elif self.accept("->"):
                node = ("arrow", node, self._name())
            elif self.accept("("):
                args = []
                if not self.accept(")"):
                    args.append(self.assign())
                    while self.accept(","):
                        args.append(self.assign())
                    self.expect(")")
                node = ("call", node, args)
            else:
                return node

    def _name(self) -> str:
        kind, text = self.take()
        if kind != "name":
            raise ParseError(f"A syntax error in expression, near `{text}'.")
        return text

    def primary(self):
        kind, text = self.take()
        if kind == "num":
            return _number(text)
        if kind == "float":
            return ("float", float(text.rstrip("fF")), "float" if text[-1] in "fF" else "double")
        if kind == "char":
            return ("char", _char(text[1:-1]))
        if kind == "str":
            return ("str", _string(text[1:-1]))
        if kind == "reg":
            return _dollar(text)
        if kind == "name":
            return ("name", text)
        if (kind, text) == ("op", "("):
            inner = self.expr()
            self.expect(")")
            return inner
        if kind == "end":
            raise ParseError("A syntax error in expression, near `'.")
        raise ParseError(f"A syntax error in expression, near `{text} {self.rest()}'.".replace(
            " '", "'"))

    # -- type names -------------------------------------------------------------------------

    def type_name(self):
        """(base words, pointer depth, array bounds), or None when no type starts here."""
        words = []
        while self.peek()[0] == "name":
            text = self.peek()[1]
            if text in ("const", "volatile"):
                self.take()
                continue
            if text in ("struct", "union", "enum"):
                self.take()
                words.append(f"{text} {self._name()}")
                break
            if text in TYPE_KEYWORDS or (not words and self.is_type(text)):
                words.append(self.take()[1])
                if text not in TYPE_KEYWORDS:
                    break
                continue
            break
        if not words:
            return None
        depth = 0
        while True:
            if self.accept("*"):
                depth += 1
            elif self.peek() == ("name", "const"):
                self.take()
            else:
                break
        bounds = []
        while self.accept("["):
            kind, text = self.take()
            if kind != "num":
                raise ParseError(f"A syntax error in expression, near `{text}'.")
            bounds.append(_number(text)[1])
            self.expect("]")
        return (" ".join(words), depth, tuple(bounds))


def _number(text: str):
    digits = text.rstrip("uUlL")
    suffix = text[len(digits):].lower()
    if digits.lower().startswith("0b"):
        value = int(digits[2:], 2)
    elif len(digits) > 1 and digits.startswith("0") and digits.isdigit():
        value = int(digits, 8)
    else:
        value = int(digits, 0)
    unsigned = "u" in suffix
    wide = "l" in suffix or value > (0xFFFF_FFFF if unsigned else 0x7FFF_FFFF)
    kind = ("unsigned " if unsigned else "") + ("long" if wide else "int")
    if not unsigned and value >= 1 << 63:
        kind = "unsigned long"
    return ("num", value, kind)


def _char(body: str) -> int:
    if body.startswith("\\"):
        rest = body[1:]
        if rest[:1] in "01234567" and rest:
            return int(rest, 8) & 0xFF
        if rest.startswith("x"):
            return int(rest[1:], 16) & 0xFF
        return ESCAPES.get(rest, ord(rest[:1]))
    return ord(body[0]) & 0xFF


def _string(body: str) -> bytes:
    out, i = bytearray(), 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(ESCAPES.get(body[i + 1], ord(body[i + 1])))
            i += 2
        else:
            out += body[i].encode()
            i += 1
    return bytes(out)


def _dollar(text: str):
    """$rax, $pc; $3 (history); $ (last), $$ (one before), $$3 (three before)."""
    if text == "$":
        return ("history", 0, True)
    if text == "$$":
        return ("history", 1, True)
    if text.startswith("$$") and text[2:].isdigit():
        return ("history", int(text[2:]), True)
    if text[1:].isdigit():
        return ("history", int(text[1:]), False)
    return ("reg", text[1:])

"""NASM macros: single-line (%define) and multi-line (%macro), as data.

    %define SQ(x) ((x) * (x))        Define("SQ", ("x",), "((x) * (x))")
    %macro save 1-* ... %endmacro    Macro("save", 1, None, ...)

expand_defines() replaces every defined name outside strings, again and
again until nothing changes, never expanding a name inside its own
expansion (as NASM). MacroCall holds one invocation of a multi-line macro:
its arguments (rotated by %rotate), its number (for %%local labels) and
substitutes %1 ... %N, %{N}, %0 and %%name in each body line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

IDENT = r"[A-Za-z_.?@$][\w.?@$#~]*"
_IDENT = re.compile(IDENT)
_QUOTED = re.compile(r"""('[^']*'|"[^"]*"|`(?:\\.|[^`\\])*`)""")
MAX_EXPANSION = 100_000            # characters a line may grow to
MAX_DEPTH = 64                     # nested single-line expansions


class MacroError(Exception):
    """A macro that cannot be defined or expanded (the caller adds the line)."""


@dataclass
class Define:
    name: str
    params: tuple | None           # None: an object-like macro
    body: str
    nocase: bool = False


@dataclass
class Macro:
    name: str
    minimum: int
    maximum: int | None            # None: any number (N-*)
    greedy: bool                   # N+: the last parameter takes the rest of the line
    defaults: list[str]
    body: list                     # raw lines
    nocase: bool = False

    def takes(self, count: int) -> bool:
        return count >= self.minimum and (self.maximum is None or count <= self.maximum
                                          or self.greedy)


@dataclass
class MacroCall:
    """One expansion of a multi-line macro."""
    macro: Macro
    args: list[str]
    serial: int
    given: int = 0
    exited: bool = field(default=False)

    def rotate(self, n: int) -> None:
        if self.args:
            n %= len(self.args)
            self.args = self.args[n:] + self.args[:n]

    def substitute(self, line: str) -> str:
        """%N, %{N}, %0 and %%name in one line of the body (not inside strings)."""
        def one(m):
            text = m.group()
            if text.startswith("%%"):
                return f"..@{self.serial}.{text[2:]}"
            number = int(text.strip("%{}"))
            if number == 0:
                return str(self.given)
            if number - 1 < len(self.args):
                return self.args[number - 1]
            return ""
        pattern = re.compile(r"%%[A-Za-z_.?@$][\w.?@$#~]*|%\{-?\d+\}|%\d+")
        return _outside_strings(line, lambda part: pattern.sub(one, part))


def parse_macro_header(text: str, nocase: bool) -> Macro:
    """`name 1-3+ .nolist default, default` -> a Macro with an empty body."""
    m = re.fullmatch(rf"({IDENT})\s+(\d+)(?:\s*-\s*(\d+|\*))?(\+)?(\s*\.nolist)?\s*(.*)",
                     text.strip())
    if not m:
        m0 = re.fullmatch(rf"({IDENT})\s*", text.strip())
        if not m0:
            raise MacroError("%macro needs a name and a parameter count (%macro name 2)")
        return Macro(m0.group(1), 0, 0, False, [], [], nocase)
    name, low = m.group(1), int(m.group(2))
    high = None if m.group(3) == "*" else int(m.group(3)) if m.group(3) else low
    if high is not None and high < low:
        raise MacroError(f"%macro {name}: parameter range {low}-{high} is backwards")
    defaults = split_arguments(m.group(6)) if m.group(6).strip() else []
    return Macro(name, low, high, bool(m.group(4)), defaults, [], nocase)


def split_arguments(text: str) -> list[str]:
    """Macro arguments: split on commas outside quotes and braces; {a, b} is one
    argument (the braces removed)."""
    args, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:i])
            start = i + 1
    args.append(text[start:])
    out = []
    for arg in args:
        arg = arg.strip()
        if arg.startswith("{") and arg.endswith("}"):
            arg = arg[1:-1]
        out.append(arg)
    return out


def bind_arguments(macro: Macro, text: str) -> tuple[list[str], int]:
    """(arguments with defaults filled in, number given) for a call's text."""
    args = split_arguments(text) if text.strip() else []
    if macro.greedy and macro.maximum is not None and len(args) > macro.maximum:
        head = split_arguments(text)[:macro.maximum - 1]
        rest = _after_commas(text, macro.maximum - 1)
        args = head + [rest.strip()]
    given = len(args)
    if macro.maximum is not None:
        missing = macro.maximum - len(args)
        defaults = macro.defaults[len(args) - macro.minimum:] if missing > 0 else []
        args = args + defaults[:missing]
    return args, given


def _after_commas(text: str, count: int) -> str:
    """What follows the first `count` top-level commas of `text`."""
    if count == 0:
        return text
    depth, quote, seen = 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch in "{}":
            depth += 1 if ch == "{" else -1
        elif ch == "," and depth == 0:
            seen += 1
            if seen == count:
                return text[i + 1:]
    return ""


def expand_defines(line: str, defines: dict[str, Define]) -> str:
    """`line` with every single-line macro expanded (outside strings)."""
    if not defines:
        return line
    return _expand(line, defines, frozenset(), 0)


def lookup_define(defines: dict[str, Define], name: str) -> Define | None:
    found = defines.get(name)
    if found is None:
        found = defines.get(name.lower())
        if found is not None and not found.nocase:
            found = None
    return found


def _expand(text: str, defines, active: frozenset, depth: int) -> str:
    if depth > MAX_DEPTH:
        raise MacroError(f"single-line macros nest more than {MAX_DEPTH} deep")
    out = []
    for quoted in _split_strings(text):
        if quoted[:1] in ("'", '"', "`"):
            out.append(quoted)
            continue
        out.append(_expand_plain(quoted, defines, active, depth))
    result = "".join(out)
    if len(result) > MAX_EXPANSION:
        raise MacroError(f"a line grew beyond {MAX_EXPANSION} characters in macro expansion")
    return result


def _expand_plain(text: str, defines, active, depth) -> str:
    out, pos = [], 0
    while True:
        m = _IDENT.search(text, pos)
        if not m:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:m.start()])
        name, pos = m.group(), m.end()
        define = lookup_define(defines, name)
        if define is None or define.name in active or (m.start() and text[m.start() - 1] == "%"):
            out.append(name)
            continue
        if define.params is None:
            out.append(_expand(define.body, defines, active | {define.name}, depth + 1))
            continue
        call = re.match(r"\s*\(", text[pos:])
        if not call:
            out.append(name)                       # a function-like name without (...)
            continue
        args_text, end = _balanced(text, pos + call.end())
        args = split_arguments(args_text) if args_text.strip() else []
        if len(args) != len(define.params):
            raise MacroError(f"{name} takes {len(define.params)} argument(s), "
                             f"got {len(args)}")
        args = [_expand(a, defines, active, depth + 1) for a in args]
        body = define.body
        for param, arg in zip(define.params, args):
            body = re.sub(rf"(?<![\w.?@$#~]){re.escape(param)}(?![\w.?@$#~])",
                          lambda _m, a=arg: a, body)
        out.append(_expand(body, defines, active | {define.name}, depth + 1))
        pos = end


def _balanced(text: str, start: int) -> tuple[str, int]:
    """The text up to the ')' that closes a '(' just before `start`."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start:i], i + 1
    raise MacroError("missing ')' in a macro call")


def _split_strings(text: str) -> list[str]:
    return [p for p in _QUOTED.split(text) if p]


def _outside_strings(text: str, change) -> str:
    return "".join(p if p[:1] in ("'", '"', "`") else change(p) for p in _split_strings(text))

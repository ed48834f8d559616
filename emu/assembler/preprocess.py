"""NASM's preprocessor: the text the assembler proper sees.

    lines = Preprocessor("boot.asm").run(text)     # [Line(file, number, text, source)]

Handles, as NASM does:
    %define %xdefine %idefine %undef %assign %defstr   single-line macros (macros.py)
    %if %elif %else %endif, with the def/idn/idni/macro/empty/num/id/str tests
                                      and their %ifn/%elifn negations
    %macro/%imacro ... %endmacro      with %1..%N, %0, %%local labels, %rotate,
                                      ranges (1-3, 1-*), greedy (1+) and defaults
    %rep N ... %endrep, %exitrep      (%exitmacro leaves a macro)
    %include "file"                   relative to the including file, then the
                                      current directory
    %error %fatal %warning            and `;` comments, `\\` line continuation

Every Line remembers where it came from: a line made by a macro carries the
file, number and text of the line that called the macro, so an error there
points at something the user wrote. Work is bounded (MAX_LINES made,
MAX_WORK lines processed, MAX_INCLUDE_DEPTH, MAX_MACRO_DEPTH): a runaway
%rep or a macro that calls itself is one AssemblyError, never a hang.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import AssemblyError
from .expr import Context, ExprError, evaluate
from .conditions import Conditionals, condition, is_conditional
from .macros import (IDENT, Define, Macro, MacroCall, MacroError, bind_arguments,
                     expand_defines, parse_macro_header, split_arguments)
from .text import join_continuations, strip_comment

MAX_LINES = 100_000
MAX_WORK = 250_000
MAX_REP = 1_000_000
MAX_INCLUDE_DEPTH = 32
MAX_INCLUDE = 16 << 20                 # bytes in one included file
MAX_MACRO_DEPTH = 256

_DIRECTIVE = re.compile(r"%([A-Za-z]+)\b\s*(.*)$", re.DOTALL)
_EQU = re.compile(rf"({IDENT})\s*:?\s+equ\s+(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Line:
    """One line for the assembler: its text after preprocessing, and where it
    came from (file, 1-based number, and the text written there)."""
    file: str
    number: int
    text: str
    source: str


@dataclass
class _Frame:
    kind: str             # "file" | "macro" | "rep"
    lines: list           # (file, number, raw text, source)
    call: MacroCall | None = None
    repeat: int = 1       # a %rep body runs this many times
    conds: int = 0        # %if depth when the frame started (restored on %exitrep)
    pos: int = 0


@dataclass
class _Collecting:
    kind: str             # "macro" | "rep"
    start: tuple          # the origin of the %macro / %rep line
    lines: list
    depth: int = 1
    macro: Macro | None = None
    count: int = 0


class Preprocessor:
    """One preprocessing run over one source file and what it includes."""

    def __init__(self, file: str = "<asm>", read=None):
        self.file = file
        self.read = read or _read_include
        self.defines: dict[str, Define] = {}
        self.macros: dict[str, list[Macro]] = {}
        self.conditionals = Conditionals(self._condition)
        self.stack: list[_Frame] = []
        self.collecting: _Collecting | None = None
        self.out: list[Line] = []
        self.warnings: list[str] = []
        self.constants: dict[str, int] = {}     # `NAME equ number` lines seen so far
        self.serial = 0
        self.work = 0

    def run(self, text: str) -> list[Line]:
        """The lines of `text` after preprocessing; raises AssemblyError."""
        self._push(_Frame("file", _origins(self.file, text)))
        while self.stack:
            frame = self.stack[-1]
            if frame.pos == len(frame.lines):
                frame.repeat -= 1
                if frame.repeat > 0:
                    frame.pos = 0
                else:
                    self.stack.pop()
                continue
            origin = frame.lines[frame.pos]
            frame.pos += 1
            self.work += 1
            if self.work > MAX_WORK:
                raise self.error(origin, f"preprocessing took more than {MAX_WORK:,} lines "
                                         f"(a %rep or macro that never ends?)")
            self._line(origin, frame)
        self._finish()
        return self.out

    def _push(self, frame: _Frame) -> None:
        frame.conds = len(self.conditionals.stack)
        self.stack.append(frame)

    def error(self, origin, message: str) -> AssemblyError:
        file, number, _raw, source = origin
        return AssemblyError(message, file, number, source)

    def _finish(self) -> None:
        if self.collecting:
            start = self.collecting.start
            what = "%endmacro" if self.collecting.kind == "macro" else "%endrep"
            raise self.error(start, f"end of file before the {what} this needs")
        if self.conditionals.stack:
            raise AssemblyError("end of file before an %endif", self.file, 0, "")

    # -- one line -------------------------------------------------------------------

    def _line(self, origin, frame: _Frame) -> None:
        text = strip_comment(origin[2]).strip()
        if self.collecting:
            self._collect(origin, text)
            return
        if frame.call is not None and "%" in text:
            text = frame.call.substitute(text)
        directive = _DIRECTIVE.match(text)
        if not self.conditionals.active():
            if directive and is_conditional(directive.group(1).lower()):
                self._directive(directive.group(1).lower(), directive.group(2), origin)
            return
        if directive:
            self._directive(directive.group(1).lower(), directive.group(2).strip(), origin)
            return
        try:
            text = expand_defines(text, self.defines)
        except MacroError as exc:
            raise self.error(origin, str(exc)) from None
        if not self._call_macro(text, origin):
            self._emit(origin, text)

    def _emit(self, origin, text: str) -> None:
        if len(self.out) >= MAX_LINES:
            raise self.error(origin, f"the source grew beyond {MAX_LINES:,} lines "
                                     f"after macros and %rep")
        self.out.append(Line(origin[0], origin[1], text, origin[3]))
        constant = _EQU.match(text)
        if constant:                      # NASM's %if sees constants defined above it
            ctx = Context(self.constants.get)
            try:
                value = evaluate(constant.group(2), ctx)
            except ExprError:
                return
            if not ctx.missing:
                self.constants[constant.group(1)] = value

    # -- directives -----------------------------------------------------------------

    def _directive(self, name: str, rest: str, origin) -> None:
        try:
            if is_conditional(name):
                self.conditionals.handle(name, rest)
            elif name in ("define", "xdefine", "idefine", "ixdefine"):
                self._define(name, rest)
            elif name in ("assign", "iassign"):
                self._assign(name, rest)
            elif name == "undef":
                self.defines.pop(rest.split()[0] if rest.split() else "", None)
            elif name == "defstr":
                key, _, body = rest.partition(" ")
                self.defines[key] = Define(key, None, _quote(body.strip()))
            elif name in ("macro", "imacro"):
                macro = parse_macro_header(rest, nocase=name == "imacro")
                self.collecting = _Collecting("macro", origin, [], macro=macro)
            elif name == "rep":
                count = self._evaluate(rest, "%rep")
                if count > MAX_REP:
                    raise MacroError(f"%rep {count:,} is more than {MAX_REP:,} repetitions")
                self.collecting = _Collecting("rep", origin, [], count=max(count, 0))
            else:
                self._control(name, rest, origin)
        except MacroError as exc:
            raise self.error(origin, str(exc)) from None

    def _control(self, name: str, rest: str, origin) -> None:
        if name in ("endmacro", "endm"):
            raise MacroError("%endmacro without a %macro")
        if name == "endrep":
            raise MacroError("%endrep without a %rep")
        if name == "exitrep":
            self._leave("rep", "%exitrep outside a %rep")
        elif name == "exitmacro":
            self._leave("macro", "%exitmacro outside a macro")
        elif name == "rotate":
            call = next((f.call for f in reversed(self.stack) if f.call), None)
            if call is None:
                raise MacroError("%rotate outside a macro")
            call.rotate(self._evaluate(rest, "%rotate"))
        elif name == "include":
            self._include(rest, origin)
        elif name in ("error", "fatal"):
            raise MacroError(_unquote(expand_defines(rest, self.defines)) or f"%{name}")
        elif name == "warning":
            self.warnings.append(f"{origin[0]}:{origin[1]}: warning: "
                                 f"{_unquote(expand_defines(rest, self.defines))}")
        elif name in ("line", "pragma"):
            pass                                   # bookkeeping NASM also may ignore
        else:
            raise MacroError(f"unknown preprocessor directive %{name}")

    def _define(self, name: str, rest: str) -> None:
        m = re.match(rf"({IDENT})(\(([^)]*)\))?\s*(.*)$", rest, re.DOTALL)
        if not m:
            raise MacroError(f"%{name} needs a name")
        params = None
        if m.group(2) is not None:
            params = tuple(p.strip() for p in m.group(3).split(",")) if m.group(3).strip() else ()
        body = m.group(4).strip()
        if name.endswith("xdefine"):
            body = expand_defines(body, self.defines)
        nocase = name.startswith("i")
        key = m.group(1).lower() if nocase else m.group(1)
        self.defines[key] = Define(key, params, body, nocase)

    def _assign(self, name: str, rest: str) -> None:
        m = re.match(rf"({IDENT})\s+(.+)$", rest, re.DOTALL)
        if not m:
            raise MacroError(f"%{name} needs a name and a value")
        value = self._evaluate(m.group(2), f"%{name}")
        nocase = name == "iassign"
        key = m.group(1).lower() if nocase else m.group(1)
        self.defines[key] = Define(key, None, str(value), nocase)

    def _evaluate(self, text: str, what: str) -> int:
        """A preprocessor expression: only numbers and macros, never labels."""
        text = expand_defines(text, self.defines)
        ctx = Context(self.constants.get)
        try:
            value = evaluate(text, ctx)
        except ExprError as exc:
            raise MacroError(f"{what}: {exc}") from None
        if ctx.missing:
            raise MacroError(f"{what}: '{sorted(ctx.missing)[0]}' is not defined before "
                             f"this line (labels are not known to the preprocessor)")
        return value

    def _condition(self, kind: str, rest: str) -> bool:
        return condition(kind, rest, self.defines, self.macros,
                         lambda text: self._evaluate(text, "%if"))

    def _leave(self, kind: str, message: str) -> None:
        while self.stack and self.stack[-1].kind != kind:
            if self.stack[-1].kind == "file":
                raise MacroError(message)
            del self.conditionals.stack[self.stack.pop().conds:]
        if not self.stack:
            raise MacroError(message)
        del self.conditionals.stack[self.stack.pop().conds:]

    # -- collecting %macro and %rep bodies ---------------------------------------------

    def _collect(self, origin, text: str) -> None:
        c = self.collecting
        m = _DIRECTIVE.match(text)
        word = m.group(1).lower() if m else ""
        opens = ("macro", "imacro") if c.kind == "macro" else ("rep",)
        closes = ("endmacro", "endm") if c.kind == "macro" else ("endrep",)
        if word in opens:
            c.depth += 1
        elif word in closes:
            c.depth -= 1
            if c.depth == 0:
                self.collecting = None
                self._finish_collecting(c)
                return
        c.lines.append(origin)

    def _finish_collecting(self, c: _Collecting) -> None:
        if c.kind == "macro":
            c.macro.body = [line[2] for line in c.lines]
            key = c.macro.name.lower() if c.macro.nocase else c.macro.name
            self.macros.setdefault(key, []).insert(0, c.macro)
            return
        call = self.stack[-1].call if self.stack else None
        if c.count and c.lines:
            self._push(_Frame("rep", c.lines, call, repeat=c.count))

    # -- multi-line macro calls and includes --------------------------------------------

    def _call_macro(self, text: str, origin) -> bool:
        m = re.match(rf"(?:({IDENT})\s*:\s*)?({IDENT})(?:\s+(.*))?$", text, re.DOTALL)
        if not m or not self.macros:
            return False
        name = m.group(2)
        candidates = self.macros.get(name) or [x for x in self.macros.get(name.lower(), [])
                                                if x.nocase]
        if not candidates:
            return False
        args_text = m.group(3) or ""
        count = len(split_arguments(args_text)) if args_text.strip() else 0
        macro = next((x for x in candidates if x.takes(count)), None)
        if macro is None:
            self.warnings.append(f"{origin[0]}:{origin[1]}: warning: macro '{name}' exists, "
                                 f"but not with {count} parameter(s)")
            return False
        if sum(f.kind == "macro" for f in self.stack) >= MAX_MACRO_DEPTH:
            raise self.error(origin, f"macros nest more than {MAX_MACRO_DEPTH} deep "
                                     f"(a macro that calls itself?)")
        if m.group(1):
            self._emit(origin, m.group(1) + ":")
        args, given = bind_arguments(macro, args_text)
        self.serial += 1
        call = MacroCall(macro, args, self.serial, given)
        body = [(origin[0], origin[1], line, origin[3]) for line in macro.body]
        self._push(_Frame("macro", body, call))
        return True

    def _include(self, rest: str, origin) -> None:
        name = _unquote(rest.strip())
        if not name or name == rest.strip() and not re.fullmatch(r"<[^>]*>", rest.strip()):
            raise MacroError("%include needs a file name in quotes")
        if sum(f.kind == "file" for f in self.stack) > MAX_INCLUDE_DEPTH:
            raise MacroError(f"%include nests more than {MAX_INCLUDE_DEPTH} deep "
                             f"(a file that includes itself?)")
        path = _resolve(name.strip("<>"), origin[0])
        text = self.read(path)
        self._push(_Frame("file", _origins(str(path), text)))


def _origins(file: str, text: str) -> list[tuple]:
    return [(file, number, raw, raw) for number, raw in join_continuations(text)]


def _resolve(name: str, including: str) -> Path:
    """An %include name: next to the including file, else in the current directory."""
    here = Path(including).parent / name
    try:
        if here.exists() or not Path(name).exists():
            return here
    except (OSError, ValueError):              # a name too long, or with a NUL
        return here
    return Path(name)


def _read_include(path: Path) -> str:
    """The text of an included file: a regular file of at most MAX_INCLUDE bytes."""
    try:
        if not path.is_file():
            raise MacroError(f"cannot read %include file {path}: "
                             f"{'not a regular file' if path.exists() else 'no such file'}")
        if path.stat().st_size > MAX_INCLUDE:
            raise MacroError(f"%include file {path} is larger than {MAX_INCLUDE >> 20} MiB")
        text = path.read_text()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MacroError(f"cannot read %include file {path}: {exc}") from None
    if "\0" in text:
        raise MacroError(f"%include file {path} contains a NUL character (a binary file?)")
    return text


def _quote(text: str) -> str:
    """`text` as a NASM string, quoted as NASM's %defstr quotes it: '...'
    when it holds no ', else "..." when it holds no ", else `...` with
    backslash escapes."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "`" + text.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] in "'\"`" and text[-1] == text[0]:
        return text[1:-1]
    return text

"""list: source lines around the stop, around a function, or around FILE:LINE.

As gdb: ten lines centred on the line (list 14 shows 9..18); another `list`
goes on with the next ten; `list FUNC` centres on the function's line."""

from ...errors import UsageError
from ..locations import resolve
from ..report import source_lines
from .base import Command, CommandError

LIST_SIZE = 10


def _list(repl, args: str):
    text = args.strip()
    dbg = repl.dbg
    if not text:
        if repl.list_last is not None:
            path, last = repl.list_last
            return _show(repl, path, last + 1)
        line = repl.list_center
        if line is None:
            main = dbg.info.function_named("main")
            line = dbg.info.line_at(main.start) if main is not None else None
        if line is None:
            raise CommandError("list: no source line here (list FUNCTION or list FILE:LINE)")
        return _show(repl, line.path, _first(line.line))
    path, center = _target(dbg, text)
    return _show(repl, path, _first(center))


def _first(center: int) -> int:
    return max(1, center - LIST_SIZE // 2)


def _target(dbg, text: str) -> tuple[str, int]:
    if ":" in text:
        file, _, line = text.rpartition(":")
        path = dbg.info.path_of(file)
        if path is None:
            raise CommandError(f'No source file named {file}.')
        try:
            return path, int(line)
        except ValueError:
            raise CommandError(f"list: '{line}' is not a line number") from None
    if text.isdigit():
        line = dbg.info.line_at(dbg.target.rip)
        if line is None:
            raise CommandError("list: no current source file (list FILE:LINE)")
        return line.path, int(text)
    scope = dbg.dwarf.function(text) if dbg.dwarf is not None else None
    if scope is not None and scope.decl_file and scope.decl_line:
        return scope.decl_file, scope.decl_line
    try:
        place = resolve(dbg, text)[0]
    except UsageError as exc:
        raise CommandError(f"list: {exc}") from None
    line = dbg.info.line_at(place.address)
    if line is None:
        raise CommandError(f"list: no source lines for '{text}'")
    return line.path, line.line


def _show(repl, path: str, first: int):
    lines = source_lines(path)
    if lines is None:
        raise CommandError(f"list: cannot read {path}")
    if first > len(lines):
        raise CommandError(f'Line number {first} out of range; "{path}" has '
                           f"{len(lines)} lines.")
    last = min(len(lines), first + LIST_SIZE - 1)
    repl.list_last = (path, last)
    return [f"{n}\t{lines[n - 1]}" for n in range(first, last + 1)]


LIST = Command("list", _list, "show source lines (around the stop, a function, FILE:LINE)",
               "list [FUNCTION | FILE:LINE | LINE]\nExamples:\n  list\n  list mm_malloc\n"
               "  list implicit.c:120\n  list firstfit.asm:40", aliases=("l",))

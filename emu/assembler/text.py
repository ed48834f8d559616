"""Source text helpers shared by the preprocessor and the statement reader."""

from __future__ import annotations


def source_lines(text: str) -> list[str]:
    """The lines of `text` as NASM numbers them: split on \\n, a trailing \\r dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def join_continuations(text: str) -> list[tuple[int, str]]:
    """(first line number, text) with lines ending in a backslash joined to the next."""
    out, pending, start = [], None, 0
    for number, raw in enumerate(source_lines(text), 1):
        if pending is None:
            start, pending = number, ""
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1]
            continue
        out.append((start, pending + raw))
        pending = None
    if pending is not None:
        out.append((start, pending))
    return out


def strip_comment(line: str) -> str:
    """`line` without its `;` comment (a `;` inside quotes is kept)."""
    if "'" not in line and '"' not in line and "`" not in line:
        return line.split(";", 1)[0]
    quote = None
    escaped = False
    for i, ch in enumerate(line):
        if quote:
            if quote == "`" and ch == "\\" and not escaped:
                escaped = True
                continue
            if ch == quote and not escaped:
                quote = None
            escaped = False
        elif ch in "'\"`":
            quote = ch
        elif ch == ";":
            return line[:i]
    return line


def split_operands(text: str, trailing_comma: bool = False) -> list[str]:
    """Split on commas that are outside quotes, brackets and parentheses;
    raises ValueError on an unterminated string or an empty operand (a comma
    at the end is allowed with `trailing_comma`, as NASM allows it after data)."""
    parts, depth, quote, start, escaped = [], 0, None, 0, False
    for i, ch in enumerate(text):
        if quote:
            if quote == "`" and ch == "\\" and not escaped:
                escaped = True
                continue
            if ch == quote and not escaped:
                quote = None
            escaped = False
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
    if last or parts and not trailing_comma:
        parts.append(last)
    if any(not p for p in parts):
        raise ValueError("empty operand (two commas in a row, or one at the end?)")
    return parts

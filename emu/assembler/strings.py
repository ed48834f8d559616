"""NASM string constants: '...' and "..." as written, `...` with C escapes."""

from __future__ import annotations

import re

_ESCAPES = {"n": 10, "t": 9, "r": 13, "\\": 92, "'": 39, '"': 34, "`": 96, "?": 63,
            "a": 7, "b": 8, "f": 12, "v": 11, "e": 27}
_OCTAL = re.compile(r"[0-7]{1,3}")
_HEX = re.compile(r"x([0-9a-fA-F]{1,2})")
_UNICODE = re.compile(r"u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}")


def is_string(text: str) -> bool:
    """True if `text` is one whole quoted string."""
    if len(text) < 2 or text[0] not in "'\"`" or text[-1] != text[0]:
        return False
    if text[0] != "`":
        return text[0] not in text[1:-1]
    body, i = text[1:-1], 0
    while i < len(body):                       # an unescaped ` would end it early
        if body[i] == "\\":
            i += 2
            continue
        if body[i] == "`":
            return False
        i += 1
    return not body.endswith("\\") or body.endswith("\\\\")


def string_bytes(text: str) -> bytes:
    r"""Bytes of a quoted NASM string. '...' and "..." are taken as written
    (as UTF-8, as NASM reads its source); `...` has C escapes: \n \t and
    friends, octal \0..\377, hex \xHH, \uHHHH / \UHHHHHHHH as UTF-8.
    Raises ValueError on a bad escape or a character that cannot be UTF-8."""
    body = text[1:-1]
    try:
        if text[0] != "`":
            return body.encode("utf-8")
        return _backquoted(body, text)
    except UnicodeEncodeError:
        raise ValueError(f"string {text} holds a character that is not valid "
                         f"Unicode") from None


def _backquoted(body: str, text: str) -> bytes:
    out, i = bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 == len(body):
            out += ch.encode("utf-8")
            i += 1
            continue
        rest = body[i + 1:]
        octal, hexa, uni = _OCTAL.match(rest), _HEX.match(rest), _UNICODE.match(rest)
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        elif hexa:
            out.append(int(hexa.group(1), 16))
            i += 1 + len(hexa.group())
        elif uni:
            code = int(uni.group()[1:], 16)
            if code > 0x10FFFF:
                raise ValueError(f"\\{uni.group()} is beyond Unicode in {text}")
            out += chr(code).encode("utf-8", errors="surrogatepass")
            i += 1 + len(uni.group())
        elif rest[0] in _ESCAPES:
            out.append(_ESCAPES[rest[0]])
            i += 2
        else:
            raise ValueError(f"unknown escape \\{rest[0]} in {text}")
    return bytes(out)

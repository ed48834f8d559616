"""strace-style lines: `mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000`."""

from __future__ import annotations

from ..errno import NAMES as ERRNO_NAMES

SHOWN_BYTES = 32
_PROT = ((1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"))
_MAP = ((0x01, "MAP_SHARED"), (0x02, "MAP_PRIVATE"), (0x10, "MAP_FIXED"),
        (0x20, "MAP_ANONYMOUS"), (0x100, "MAP_GROWSDOWN"), (0x4000, "MAP_NORESERVE"),
        (0x8000, "MAP_POPULATE"), (0x20000, "MAP_STACK"), (0x100000, "MAP_FIXED_NOREPLACE"))
_POINTER_RESULTS = {"mmap", "brk", "mremap"}


def _signed(value: int, bits: int = 64) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _quote(data: bytes, more: bool) -> str:
    text = "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else
                   {10: "\\n", 9: "\\t", 34: '\\"', 92: "\\\\"}.get(b, f"\\x{b:02x}")
                   for b in data)
    return f'"{text}"' + ("..." if more else "")


def _flags(value: int, names) -> str:
    parts = [name for bit, name in names if value & bit]
    rest = value & ~sum(bit for bit, _ in names)
    if rest:
        parts.append(hex(rest))
    return "|".join(parts)


def _argument(proc, kind: str, value: int, following: int | None) -> str:
    if kind == "fd":
        return str(_signed(value, 32))
    if kind == "int":
        return str(_signed(value))
    if kind == "size":
        return str(value)
    if kind == "oct":
        return oct(value)
    if kind == "ptr":
        return "NULL" if value == 0 else hex(value)
    if kind == "prot":
        return _flags(value, _PROT) or "PROT_NONE"
    if kind == "mapflags":
        return _flags(value, _MAP) or "0"
    if kind == "path":
        text = proc.read_cstring(value, 256)
        return hex(value) if text is None else _quote(text, False)
    if kind == "buf":
        length = following or 0
        data = proc.read(value, min(length, SHOWN_BYTES))
        return hex(value) if data is None else _quote(data, length > SHOWN_BYTES)
    return hex(value)


def _result(name: str, result: int) -> str:
    if -4096 < _signed(result) < 0:
        errno = -_signed(result)
        return f"-1 {ERRNO_NAMES.get(errno, errno)}"
    return hex(result) if name in _POINTER_RESULTS else str(_signed(result))


def format_call(proc, name: str, kinds, args, result: int) -> str:
    parts = [_argument(proc, kind, value, args[i + 1] if i + 1 < len(args) else None)
             for i, (kind, value) in enumerate(zip(kinds, args))]
    return f"{name}({', '.join(parts)}) = {_result(name, result)}"

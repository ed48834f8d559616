"""Values of C types, and printing them the way gdb does.

A Value is a type and where its bytes are: an address in the process
(an lvalue in memory), a register of frame 0, or bytes with no home
(a computed result, a register of an outer frame, an optimized constant).
Its bytes are read when needed; an optimized-out value has none.

    format_value(v)        top level:  (struct node *) 0x4052a0
                                       {value = 10, next = 0x0}
                                       0x402010 "hello"
                                       65 'A'
                                       {1, 2, 3}
                                       <optimized out>

Inside a struct or an array, pointers are printed without their type, as
gdb does. Runs of more than REPEAT_THRESHOLD equal elements collapse to
`0 <repeats 16 times>`; at most PRINT_ELEMENTS elements or string bytes are
shown, then "...".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .types import CType, spell

REPEAT_THRESHOLD = 10            # gdb's `set print repeats`: longer runs are folded
PRINT_ELEMENTS = 200             # gdb's `set print elements`
STRING_LIMIT = 200


class ValueError_(Exception):
    """A value that cannot be read or made (gdb's message in the text)."""


@dataclass
class Value:
    """type, and one of: address (memory), register (a frame-0 register name),
    data (bytes). optimized: no value at all."""
    type: CType
    address: int | None = None
    register: str | None = None
    data: bytes | None = None
    optimized: bool = False
    bit_size: int = 0
    bit_offset: int = 0

    @property
    def lvalue(self) -> bool:
        return self.address is not None or self.register is not None


class Reader:
    """Memory and symbol names for values (the debugger supplies them)."""

    def __init__(self, read, describe, read_register=None):
        self.read = read                     # read(address, size) -> bytes (UnmappedAccess)
        self.describe = describe             # describe(address) -> "sym+off" or ""
        self.read_register = read_register   # read_register(name) -> int


def value_bytes(value: Value, reader: Reader) -> bytes:
    """The value's bytes; ValueError_ for optimized-out or unreadable memory."""
    if value.optimized:
        raise ValueError_("value has been optimized out")
    size = value.type.byte_size
    if value.data is not None:
        return value.data[:size].ljust(size, b"\0")
    if value.register is not None:
        raw = reader.read_register(value.register)
        width = 16 if value.register.startswith("xmm") else 8
        return raw.to_bytes(width, "little")[:size].ljust(size, b"\0")
    try:
        return reader.read(value.address, size)
    except Exception:
        raise ValueError_(f"Cannot access memory at address {value.address:#x}") from None


def as_int(value: Value, reader: Reader) -> int:
    """The value as a Python int (signed when its type is); pointers unsigned."""
    t = value.type.strip()
    data = value_bytes(value, reader)
    if t.kind == "base" and t.encoding == "float":
        return int(as_float(value, reader))
    raw = int.from_bytes(data, "little")
    if value.bit_size:
        raw = (raw >> value.bit_offset) & ((1 << value.bit_size) - 1)
        bits = value.bit_size
    else:
        bits = 8 * len(data)
    if value.type.is_signed() and bits and raw >> (bits - 1):
        raw -= 1 << bits
    return raw


def as_float(value: Value, reader: Reader) -> float:
    data = value_bytes(value, reader)
    if len(data) == 4:
        return struct.unpack("<f", data)[0]
    if len(data) == 8:
        return struct.unpack("<d", data)[0]
    return _x87(data[:10])


def _x87(data: bytes) -> float:
    mantissa = int.from_bytes(data[:8], "little")
    exponent = int.from_bytes(data[8:10], "little")
    sign = -1.0 if exponent & 0x8000 else 1.0
    exponent &= 0x7FFF
    if exponent == 0 and mantissa == 0:
        return 0.0 * sign
    return sign * mantissa / (1 << 63) * 2.0 ** (exponent - 16383)


# -- printing ------------------------------------------------------------------------------

def format_value(value: Value, reader: Reader, top: bool = True, fmt: str = "") -> str:
    """gdb's text for a value (`print` shows `$N = ` before it). `fmt` is a
    print format letter (x d u o t c a z) applied to every scalar inside."""
    if value.optimized:
        return "<optimized out>"
    try:
        return _format(value, reader, top, fmt)
    except ValueError_ as exc:
        return f"<error: {exc}>"


def _format(value: Value, reader: Reader, top: bool, fmt: str = "") -> str:
    t = value.type.strip()
    if t.kind in ("struct", "union"):
        return _record(value, t, reader, fmt)
    if t.kind == "array":
        return _array(value, t, reader, fmt)
    if fmt and t.kind in ("base", "enum", "pointer"):
        return format_integer(_raw_int(value, reader), value.type, fmt, reader)
    if t.kind == "pointer":
        return _pointer(value, t, reader, top)
    if t.kind == "enum":
        return _enum(as_int(value, reader), t)
    if t.kind == "function":
        address = value.address or 0
        name = reader.describe(address)
        return f"{{{spell(value.type)}}} {address:#x}" + (f" <{name}>" if name else "")
    if t.kind == "void":
        return "void"
    if t.name == "i386_eflags":
        return eflags_text(as_int(value, reader))
    return scalar_text(value, t, reader)


def _raw_int(value: Value, reader: Reader) -> int:
    """The value's bits as an unsigned int (a float's raw bytes, as gdb's /x shows)."""
    if value.type.is_float():
        return int.from_bytes(value_bytes(value, reader), "little")
    return as_int(value, reader)


def format_integer(number: int, t: CType, fmt: str, reader: Reader) -> str:
    """number as print/FMT shows it: x hex, d signed, u unsigned, o octal,
    t binary, c character, a address <symbol>, z zero-padded hex."""
    bits = 8 * max(t.byte_size, 1)
    unsigned = number & ((1 << bits) - 1)
    if fmt == "x":
        return hex(unsigned)
    if fmt == "z":
        return f"0x{unsigned:0{bits // 4}x}"
    if fmt == "o":
        return "0" + format(unsigned, "o") if unsigned else "0"
    if fmt == "t":
        return format(unsigned, "b")
    if fmt == "d":
        return str(unsigned - (1 << bits) if unsigned >> (bits - 1) else unsigned)
    if fmt == "u":
        return str(unsigned)
    if fmt == "c":
        signed = unsigned & 0xFF
        return f"{signed - 256 if signed > 127 and t.is_signed() else signed} " \
               f"{char_literal(signed)}"
    if fmt == "a":
        name = reader.describe(unsigned)
        return f"{unsigned:#x}" + (f" <{name}>" if name else "")
    raise ValueError_(f"Undefined output format \"{fmt}\".")


def eflags_text(value: int) -> str:
    """[ ZF PF ] as gdb shows eflags."""
    names = [name for name, bit in EFLAGS_BITS if name and value >> bit & 1]
    return "[ " + " ".join(names) + " ]" if names else "[ ]"


EFLAGS_BITS = (("CF", 0), ("", 1), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8),
               ("IF", 9), ("DF", 10), ("OF", 11), ("NT", 14), ("RF", 16), ("VM", 17),
               ("AC", 18), ("VIF", 19), ("VIP", 20), ("ID", 21))


def scalar_text(value: Value, t: CType, reader: Reader) -> str:
    if t.encoding == "float":
        number = as_float(value, reader)
        return _float_text(number, t.size)
    number = as_int(value, reader)
    if t.encoding == "bool":
        return "true" if number == 1 else "false" if number == 0 else str(number)
    if t.encoding in ("char", "uchar") and t.size == 1:
        return f"{number} {char_literal(number & 0xFF)}"
    return str(number)


def _float_text(number: float, size: int) -> str:
    if number != number:
        return "nan(0x8000000000000)" if size == 8 else "nan(0x400000)"
    if number in (float("inf"), float("-inf")):
        return "inf" if number > 0 else "-inf"
    text = format(number, ".17g" if size != 4 else ".9g")
    return text


def char_literal(byte: int) -> str:
    """gdb's 'A', '\\n', '\\000', '\\377'."""
    return "'" + _escape(byte, "'") + "'"


_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r",
            27: "\\033", 92: "\\\\"}


def _escape(byte: int, quote: str) -> str:
    if byte in _ESCAPES:
        return _ESCAPES[byte]
    if chr(byte) == quote:
        return "\\" + quote
    if 32 <= byte < 127:
        return chr(byte)
    return f"\\{byte:03o}"


def _enum(number: int, t: CType) -> str:
    """The enumerator's name; for a flag enum (disjoint bits), the flags set:
    (GREEN | BLUE), (GREEN | unknown: 0x1); otherwise the number."""
    if number in t.enumerators:
        return t.enumerators[number]
    flags = [v for v in t.enumerators if v > 0]
    disjoint = all(a & b == 0 for i, a in enumerate(flags) for b in flags[i + 1:])
    if not disjoint or number < 0:
        return str(number)
    names = [t.enumerators[v] for v in sorted(flags) if number & v == v]
    rest = number
    for v in flags:
        if number & v == v:
            rest &= ~v
    parts = names + ([f"unknown: {rest:#x}"] if rest else [])
    return "(" + " | ".join(parts) + ")"


def _pointer(value: Value, t: CType, reader: Reader, top: bool) -> str:
    address = as_int(value, reader) & ((1 << 64) - 1)
    target = (t.target or t).strip()
    text = f"{address:#x}"
    if target.kind == "function":
        name = reader.describe(address)
        text += f" <{name}>" if name else ""
        return f"({spell(value.type)}) {text}" if top else text
    if t.target is not None and t.target.is_char() and address:
        return f"{text} {read_string(reader, address)}"
    name = reader.describe(address) if address else ""
    if name:
        text += f" <{name}>"
    return f"({spell(value.type)}) {text}" if top else text


def read_string(reader: Reader, address: int, limit: int = STRING_LIMIT) -> str:
    """A C string at address as gdb quotes it: "text", "long..."..., or
    <error: Cannot access memory at address 0x...>."""
    data = bytearray()
    try:
        while len(data) < limit:
            byte = reader.read(address + len(data), 1)
            if byte == b"\0":
                return quote(bytes(data))
            data += byte
    except Exception:
        if not data:
            return f"<error: Cannot access memory at address {address:#x}>"
        return quote(bytes(data))
    return quote(bytes(data)) + "..."


def quote(data: bytes) -> str:
    return '"' + "".join(_escape(b, '"') for b in data) + '"'


def element(value: Value, element_type: CType, index: int) -> Value:
    """Element `index` of an array value (any storage)."""
    size = element_type.byte_size
    if value.address is not None:
        return Value(element_type, address=value.address + index * size)
    data = value.data or b""
    return Value(element_type, data=data[index * size:(index + 1) * size],
                 optimized=value.optimized)


def member_value(value: Value, member) -> Value:
    if value.address is not None:
        return Value(member.type, address=value.address + member.offset,
                     bit_size=member.bits, bit_offset=member.bit_offset)
    size = member.type.byte_size
    data = (value.data or b"")[member.offset:member.offset + size]
    return Value(member.type, data=data, optimized=value.optimized,
                 bit_size=member.bits, bit_offset=member.bit_offset)


def _record(value: Value, t: CType, reader: Reader, fmt: str = "") -> str:
    parts = []
    for member in t.members:
        inner = format_value(member_value(value, member), reader, top=False, fmt=fmt)
        parts.append(f"{member.name} = {inner}" if member.name else inner)
    return "{" + ", ".join(parts) + "}"


def _array(value: Value, t: CType, reader: Reader, fmt: str = "") -> str:
    count = t.count or 0
    element_type = t.target
    if element_type.is_char() and not fmt:
        return _char_array(value_bytes(value, reader), count)
    items = [format_value(element(value, element_type, i), reader, top=False, fmt=fmt)
             for i in range(min(count, PRINT_ELEMENTS))]
    text = "{" + ", ".join(_collapse(items)) + ("..." if count > PRINT_ELEMENTS else "") + "}"
    return text


def _collapse(items: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(items):
        j = i
        while j < len(items) and items[j] == items[i]:
            j += 1
        run = j - i
        if run > REPEAT_THRESHOLD:
            out.append(f"{items[i]} <repeats {run} times>")
        else:
            out.extend(items[i:j])
        i = j
    return out


def _char_array(data: bytes, count: int) -> str:
    """gdb's text for a char array: the bytes as a string without the last NUL,
    runs of more than REPEAT_THRESHOLD equal bytes folded: "ab\\000\\000",
    "x", '\\000' <repeats 30 times>."""
    shown = data[:min(count, PRINT_ELEMENTS)]
    body = shown[:-1] if shown.endswith(b"\0") else shown
    segments = _char_segments(body)
    text = ", ".join(segments) if segments else '""'
    return text + ("..." if count > PRINT_ELEMENTS else "")


def _char_segments(data: bytes) -> list[str]:
    segments, literal, i = [], bytearray(), 0
    while i < len(data):
        j = i
        while j < len(data) and data[j] == data[i]:
            j += 1
        if j - i > REPEAT_THRESHOLD:
            if literal:
                segments.append(quote(bytes(literal)))
                literal = bytearray()
            segments.append(f"{char_literal(data[i])} <repeats {j - i} times>")
        else:
            literal += data[i:j]
        i = j
    if literal:
        segments.append(quote(bytes(literal)))
    return segments

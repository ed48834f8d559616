"""Data directives: db, dw, dd, dq, dt, do (and dy, dz) as NASM makes them.

    db "hi", 10, 0      strings as bytes; numbers in the unit's width
    dw 'ab', 'c'        a string is padded with zeros to a whole number of units
    dd 3.14, -1.5e3     floating point in the unit's format (floats.py)
    dq label            a label's address

An integer too large for its unit is cut to the unit's width with NASM's
warning ("word data exceeds bounds"); dt and do take only floating point, as
in NASM. `db` with nothing after it makes nothing, with NASM's warning.
"""

from __future__ import annotations

import re

from .expr import Context, ExprError, evaluate_value
from .floats import FloatError, float_bits, is_float_literal
from .strings import is_string, string_bytes

FLOAT_FORMATS = {1: "8", 2: "16", 4: "32", 8: "64", 10: "80", 16: "128"}
UNIT_NAMES = {1: "byte", 2: "word", 4: "dword", 8: "qword", 10: "tword", 16: "oword",
              32: "yword", 64: "zword"}
_FLOAT_ITEM = re.compile(r"[-+]?\s*(\S+)$")


class DataError(Exception):
    """A data item that cannot be made (the caller adds file and line)."""


def data_bytes(unit: int, items: list[str], ctx: Context, warnings: list[str]) -> bytes:
    """The bytes of `d<unit> items...`."""
    if not items:
        warnings.append("no operand for data declaration: nothing is emitted")
        return b""
    out = bytearray()
    for item in items:
        text = item.strip()
        if is_string(text):
            try:
                raw = string_bytes(text)
            except ValueError as exc:
                raise DataError(str(exc)) from None
            out += raw + bytes(-len(raw) % unit)
        elif _is_float(text):
            out += _float(unit, text, warnings)
        else:
            out += _integer(unit, text, ctx, warnings)
    return bytes(out)


def _is_float(text: str) -> bool:
    m = _FLOAT_ITEM.match(text)
    if not m:
        return False
    word = m.group(1)
    if word.strip("_?").lower() in ("infinity", "qnan", "nan", "snan") and word.startswith("__"):
        return True
    return word[:1].isdigit() and is_float_literal(word)


def _float(unit: int, text: str, warnings: list[str]) -> bytes:
    if unit not in FLOAT_FORMATS:
        raise DataError(f"no {8 * unit}-bit floating-point format")
    overflow: list[str] = []
    try:
        bits = float_bits(text, FLOAT_FORMATS[unit], overflow)
    except FloatError as exc:
        raise DataError(str(exc)) from None
    warnings += overflow
    return bits.to_bytes(unit, "little")


def _integer(unit: int, text: str, ctx: Context, warnings: list[str]) -> bytes:
    if unit > 8:
        raise DataError(f"integer supplied as {8 * unit}-bit data (d{UNIT_NAMES[unit][0]} "
                        f"takes floating point)")
    try:
        value = evaluate_value(text, ctx)
    except ExprError as exc:
        raise DataError(str(exc)) from None
    if value.regs:
        raise DataError(f"a register cannot be data: '{text}'")
    number, bits = value.number, 8 * unit
    if not -(1 << (bits - 1)) <= number < (1 << bits) and not value.unknown:
        cut = number & ((1 << bits) - 1)
        warnings.append(f"{UNIT_NAMES[unit]} data exceeds bounds: {number} "
                        f"becomes {cut:#x}, as in NASM")
    return (number & ((1 << bits) - 1)).to_bytes(unit, "little")

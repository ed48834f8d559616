"""Floating-point constants, rounded exactly as NASM rounds them.

    float_bits("1.5", "32")  -> 0x3FC00000       (dd 1.5)
    float_bits("-0.0", "64") -> 0x8000000000000000

A constant is read into an exact fraction and rounded once, to nearest with
ties to even, into the format; numbers too large become infinity (and the
caller warns, as NASM does), numbers too small become denormals or zero.

The formats, by the name NASM gives them (`__float32__` ... and dw/dd/dq/dt/do):

    name  sign exponent fraction  note
    8     1    4        3         db
    16    1    5        10        dw   (IEEE half)
    32    1    8        23        dd
    64    1    11       52        dq
    80    1    15       64        dt   the integer bit is stored (x87)
    128   1    15       112       do
    80m / 80e      the low 64 / high 16 bits of the 80-bit form
    128l / 128h    the low / high 64 bits of the 128-bit form
"""

from __future__ import annotations

import re
from fractions import Fraction

from ..errors import EmuError

FORMATS = {"8": (4, 3, False), "16": (5, 10, False), "32": (8, 23, False),
           "64": (11, 52, False), "80": (15, 63, True), "128": (15, 112, False)}
MAX_EXPONENT = 100_000          # beyond this every format is 0 or infinity anyway
MAX_DIGITS = 4_000              # Python refuses to read longer numbers (and so do we)

_DECIMAL = re.compile(r"(\d*)(?:\.(\d*))?(?:e([-+]?\d+))?", re.IGNORECASE)
_RADIX = re.compile(r"0([xhboqy])([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([-+]?\d+))?", re.IGNORECASE)
_SPECIAL = {"infinity": "inf", "qnan": "qnan", "nan": "qnan", "snan": "snan"}


class FloatError(EmuError):
    """A floating-point constant that cannot be read."""


def parse_float(text: str):
    """(sign, Fraction | "inf" | "qnan" | "snan" | "huge") for a float literal
    ("huge": too large for any format, written with an exponent beyond MAX_EXPONENT)."""
    t = text.replace(" ", "").lower()
    sign = 0
    if t[:1] in "+-" and t:
        sign, t = int(t[0] == "-"), t[1:]
    special = t.strip("_?")
    if t.startswith("__") and special in _SPECIAL:
        return sign, _SPECIAL[special]
    t = t.replace("_", "")
    m = _RADIX.fullmatch(t)
    if m and ("." in t or "p" in t):
        return sign, _radix_value(m)
    m = _DECIMAL.fullmatch(t)
    if m and (m.group(1) or m.group(2)) and ("." in t or "e" in t):
        whole, frac, exp = m.group(1), m.group(2) or "", int(m.group(3) or 0)
        if abs(exp) > MAX_EXPONENT:
            return sign, Fraction(0) if exp < 0 else "huge"
        return sign, Fraction(_digits(whole + frac, 10), 10 ** len(frac)) * Fraction(10) ** exp
    raise FloatError(f"'{text}' is not a floating-point constant")


def _digits(text: str, base: int) -> int:
    if len(text) > MAX_DIGITS:
        raise FloatError(f"a floating-point constant of more than {MAX_DIGITS} digits")
    return int(text or "0", base)


def _radix_value(m) -> Fraction:
    base = {"x": 16, "h": 16, "b": 2, "y": 2, "o": 8, "q": 8}[m.group(1)]
    whole, frac, exp = m.group(2), m.group(3) or "", int(m.group(4) or 0)
    if abs(exp) > 4 * MAX_EXPONENT:
        return Fraction(0) if exp < 0 else Fraction(2) ** (4 * MAX_EXPONENT)
    digits = _digits(whole + frac, base)
    return Fraction(digits, base ** len(frac)) * Fraction(2) ** exp


def is_float_literal(token: str) -> bool:
    """True if a number token is a float (1.5, 1e10, 0x1.8p3), not an integer."""
    try:
        parse_float(token)
    except FloatError:
        return False
    return True


def float_bits(text: str, fmt: str, overflow: list | None = None) -> int:
    """The bits of float constant `text` in format `fmt` (see FORMATS).
    Appends a message to `overflow` when the value became infinity."""
    part = fmt[-1] if fmt[-1] in "mehl" else ""
    base = fmt[:-1] if part else fmt
    if base not in FORMATS:
        raise FloatError(f"no {fmt}-bit floating-point format")
    sign, value = parse_float(text)
    bits = encode(sign, value, *FORMATS[base], overflow=overflow)
    if part in ("m", "l"):
        return bits & ((1 << 64) - 1)
    if part in ("e", "h"):
        return bits >> 64
    return bits


def width(fmt: str) -> int:
    """Total bits of a format."""
    ebits, fbits, explicit = FORMATS[fmt]
    return 1 + ebits + fbits + int(explicit)


def encode(sign: int, value, ebits: int, fbits: int, explicit: bool,
           overflow: list | None = None) -> int:
    """Round `value` into sign | exponent | [integer bit] | fraction."""
    top = ebits + fbits + int(explicit)            # position of the sign bit
    max_exp = (1 << ebits) - 1
    one = (1 << fbits) if explicit else 0          # the stored integer bit
    if value == "huge":                            # beyond every format: infinity
        if overflow is not None:
            overflow.append("overflow in floating-point constant")
        value = "inf"
    if value == "inf" or value == "qnan" or value == "snan":
        fraction = {"inf": 0, "qnan": 1 << (fbits - 1), "snan": 1}[value]
        return (sign << top) | (max_exp << (fbits + int(explicit))) | one | fraction
    if value == 0:
        return sign << top
    bias = (1 << (ebits - 1)) - 1
    exp = value.numerator.bit_length() - value.denominator.bit_length()
    if Fraction(2) ** exp > value:
        exp -= 1                                   # now 2**exp <= value < 2**(exp+1)
    biased = exp + bias
    if biased >= 1:
        mantissa = round(value / Fraction(2) ** exp * (1 << fbits))
        if mantissa == 2 << fbits:
            if biased + 1 == max_exp:              # NASM: a carry into infinity stays
                mantissa -= 1                      # the largest finite number
            else:
                mantissa, biased = mantissa >> 1, biased + 1
        if biased >= max_exp:
            if overflow is not None:
                overflow.append("overflow in floating-point constant")
            return (sign << top) | (max_exp << (fbits + int(explicit))) | one
        fraction = mantissa - (1 << fbits)
        return (sign << top) | (biased << (fbits + int(explicit))) | one | fraction
    mantissa = round(value * Fraction(2) ** (bias - 1 + fbits))   # a denormal
    if mantissa >> fbits:                          # rounded up to the smallest normal
        return (sign << top) | (1 << (fbits + int(explicit))) | one
    return (sign << top) | mantissa

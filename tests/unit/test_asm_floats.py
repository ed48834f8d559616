"""Floating-point constants (emu/assembler/floats.py), rounded once as NASM rounds."""

import struct

import pytest

from emu.assembler.floats import FloatError, float_bits


@pytest.mark.parametrize("text", ["0.1", "3.14159265358979", "-2.5e-3", "6.02214076e23",
                                  "1e-310", "4.9406564584124654e-324", "1.7976931348623157e308"])
def test_doubles_match_the_host_correctly_rounded_conversion(text):
    assert float_bits(text, "64") == struct.unpack("<Q", struct.pack("<d", float(text)))[0]


@pytest.mark.parametrize("text,bits", [
    ("0.1", 0x3DCCCCCD),                   # rounded up
    ("1.000000059604644775390625", 0x3F800000),   # 1 + 2**-24: a tie, to even (down)
    ("1.000000178813934326171875", 0x3F800002),   # 1 + 3 * 2**-24: a tie, to even (up)
    ("1.000000059604644775390626", 0x3F800001),   # just above the tie: up
    ("1e-50", 0), ("-0.0", 0x80000000), ("0x1.8p3", 0x41400000),
    ("3.4028235e38", 0x7F7FFFFF), ("1e40", 0x7F800000),
])
def test_single_precision_rounding(text, bits):
    assert float_bits(text, "32") == bits


def test_other_widths_and_the_specials():
    assert float_bits("1.5", "8") == 0x3C                       # db 1.5
    assert float_bits("65504.0", "16") == 0x7BFF
    assert float_bits("65520.0", "16") == 0x7BFF                # NASM keeps the largest
    assert float_bits("1.0", "80") == 0x3FFF_8000000000000000    # the integer bit is stored
    assert float_bits("__Infinity__", "80") == 0x7FFF_8000000000000000
    assert float_bits("__QNaN__", "32") == 0x7FC00000
    assert float_bits("__SNaN__", "64") == 0x7FF0000000000001
    assert float_bits("-__Infinity__", "16") == 0xFC00


def test_overflow_is_reported_and_absurd_exponents_are_cheap():
    overflow = []
    assert float_bits("1e999999999", "64", overflow) == 0x7FF0000000000000
    assert overflow
    assert float_bits("1e-999999999", "64") == 0
    with pytest.raises(FloatError):
        float_bits("1." + "0" * 5000 + "1", "64")

"""The capstone round trip: every encoding is decoded and compared with the source.

keystone 0.9.2 gets some instructions silently wrong (rsp dropped from an
address, a 16-bit pushf, an immediate of a different value, RIP-relative
where absolute was meant). So after encoding, the bytes are decoded again
and everything the source said is compared with what the bytes say:

    the mnemonic (condition aliases allowed: jz is je), the prefix (rep/lock),
    every register, and for a memory operand its size, segment, base, index,
    scale and displacement (or the RIP-relative target), and every immediate
    in the width the instruction gives it (a branch: its target address).

A mismatch raises EncodeError naming both, so no instruction that means
something other than its line is ever assembled.
"""

from __future__ import annotations

from dataclasses import dataclass

from capstone.x86 import X86_OP_IMM, X86_OP_MEM, X86_OP_REG, X86_REG_INVALID, X86_REG_RIP

from .operands import Immediate, Memory, Register

U64 = (1 << 64) - 1
PREFIX_BYTES = {"rep": 0xF3, "repne": 0xF2, "lock": 0xF0}   # capstone's prefix[0] values
COMMUTATIVE = {"xchg", "test"}
# what capstone calls an instruction the source names otherwise, in one case
SAME_INSTRUCTION = {("xchg", "nop"), ("nop", "pause")}


class EncodeError(Exception):
    """Why one statement could not be encoded (the caller adds file and line)."""


@dataclass
class Expected:
    """What the bytes must say."""
    name: str                        # capstone's name for the instruction
    prefix: str | None               # rep / repne / lock
    operands: list                   # Register | Memory | Immediate, values final
    rip_target: int | None = None    # for a RIP-relative memory operand


def check(cs, data: bytes, address: int, expected: Expected):
    """Decode `data` at `address` and compare it with `expected`; return the
    capstone instruction. Raises EncodeError on any difference."""
    insn = decode_one(cs, data, address)
    problem = _difference(insn, expected)
    if problem:
        raise EncodeError(f"the encoder produced '{insn.mnemonic} {insn.op_str}'".rstrip()
                          + f" ({data.hex()}): {problem}; refusing it rather than "
                            f"assembling something else")
    return insn


def decode_one(cs, data: bytes, address: int):
    insns = list(cs.disasm(data, address))
    if len(insns) != 1 or insns[0].size != len(data):
        raise EncodeError(f"the encoding {data.hex()} does not decode as one instruction")
    return insns[0]


def _difference(insn, expected: Expected) -> str | None:
    name = insn.insn_name()
    if name != expected.name and (expected.name, name) not in SAME_INSTRUCTION:
        return f"it is '{name}', not '{expected.name}'"
    if expected.prefix and PREFIX_BYTES[expected.prefix] not in _legacy_prefixes(insn):
        return f"the {expected.prefix} prefix is missing"
    if (expected.name, name) in SAME_INSTRUCTION or not expected.operands:
        return None
    found = list(insn.operands)
    wanted = list(expected.operands)
    found = _explicit(found, wanted, name, insn)
    if len(found) != len(wanted):
        return f"it has {len(found)} operand(s), the line {len(wanted)}"
    problem = _compare_all(insn, found, wanted, expected)
    if problem and name in COMMUTATIVE and len(wanted) == 2:
        if _compare_all(insn, found[::-1], wanted, expected) is None:
            return None
    return problem


def _legacy_prefixes(insn) -> bytes:
    """The prefix bytes before the opcode (capstone drops some: f2 on movsd)."""
    raw = bytes(insn.bytes)
    count = 0
    while count < len(raw) and raw[count] in (0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26,
                                             0x64, 0x65, 0x66, 0x67):
        count += 1
    return raw[:count]


def _explicit(found: list, wanted: list, name: str, insn) -> list:
    """capstone's operands as the source would write them."""
    if wanted and isinstance(wanted[0], Register) and wanted[0].name == "st(0)" \
            and len(found) == len(wanted) - 1:
        return [None] + found                        # fadd st0, st1 = fadd st(1)
    if name == "imul" and len(found) == 3 and len(wanted) == 2 \
            and found[0].type == found[1].type == X86_OP_REG and found[0].reg == found[1].reg:
        return [found[0], found[2]]                  # imul rax, 5 = imul rax, rax, 5
    if len(found) == len(wanted) - 1 and isinstance(wanted[-1], Immediate) \
            and wanted[-1].value == 1:
        return found + [None]                        # shl rax, 1: the 1 is implied
    return found


def _compare_all(insn, found, wanted, expected: Expected) -> str | None:
    for position, (op, want) in enumerate(zip(found, wanted), 1):
        problem = _compare(insn, op, want, expected)
        if problem:
            return f"operand {position}: {problem}"
    return None


def _compare(insn, op, want, expected: Expected) -> str | None:
    if op is None:                                   # implied: a shift count of 1, st0
        return None
    if isinstance(want, Register):
        if op.type != X86_OP_REG:
            return f"expected register {want.name}"
        got = insn.reg_name(op.reg)
        return None if got == want.name else f"register {got} instead of {want.name}"
    if isinstance(want, Immediate):
        if op.type != X86_OP_IMM:
            return f"expected the value {want.value:#x}"
        if op.size == 0:                             # capstone's implied 1
            return None if want.value == 1 else f"value 1 instead of {want.value:#x}"
        mask = (1 << (8 * op.size)) - 1
        if op.imm & mask != want.value & mask:
            return f"value {op.imm & mask:#x} instead of {want.value & mask:#x}"
        return None
    if op.type != X86_OP_MEM:
        return "expected a memory operand"
    return _compare_memory(insn, op, want, expected)


def _compare_memory(insn, op, want: Memory, expected: Expected) -> str | None:
    m = op.mem
    if want.size and op.size != want.size:
        return f"a {op.size}-byte memory operand instead of {want.size} bytes"
    segment = insn.reg_name(m.segment) if m.segment != X86_REG_INVALID else None
    if segment != want.segment and not (want.segment is None and segment == "ds"):
        return f"segment {segment} instead of {want.segment}"
    if expected.rip_target is not None:
        if m.base != X86_REG_RIP or m.index != X86_REG_INVALID:
            return "not relative to rip"
        target = (insn.address + insn.size + m.disp) & U64
        return None if target == expected.rip_target & U64 else \
            f"rip-relative target {target:#x} instead of {expected.rip_target & U64:#x}"
    base = insn.reg_name(m.base) if m.base != X86_REG_INVALID else None
    index = insn.reg_name(m.index) if m.index != X86_REG_INVALID else None
    if base != want.base:
        return f"base {base} instead of {want.base}"
    if index != want.index or (index and m.scale != want.scale):
        return f"index {index}*{m.scale} instead of {want.index}*{want.scale}"
    if m.disp & U64 != want.disp & U64:
        return f"displacement {m.disp & U64:#x} instead of {want.disp & U64:#x}"
    return None

"""Operands as NASM reads them: registers, memory references, immediates.

    parse_operand("dword [rbx + rcx*4 + 8]", ctx) -> Memory(size=4, base="rbx",
                                                         index="rcx", scale=4, disp=8)

A memory operand is evaluated as one expression over registers (expr.Value)
and then laid out as NASM lays it out:

  * the register written with a multiplier (`rbx*1`) is the index; otherwise
    the first register written is the base: [rbx + rcx] = base rbx, index rcx;
  * rsp cannot be an index: [rax + rsp] becomes [rsp + rax] (NASM swaps;
    keystone silently dropped the rsp), and rsp*2 is refused;
  * a lone register times 2, 3, 5 or 9 is split: [rbx*3] = [rbx + rbx*2]
    (shorter: no 32-bit displacement), unless written [nosplit rbx*2];
  * [rel X] and `default rel` make X relative to the next instruction when X
    is a label's address; NASM keeps a plain number absolute (and warns).
NASM has no [rip + x]: that is refused with a message pointing at [rel x].
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .expr import Context, ExprError, Value, evaluate_value

SIZES = {"byte": 1, "word": 2, "dword": 4, "qword": 8, "tword": 10, "oword": 16,
         "yword": 32, "zword": 64}
KEYSTONE_SIZE = {1: "byte", 2: "word", 4: "dword", 8: "qword", 10: "tbyte", 16: "xmmword",
                 32: "ymmword", 64: "zmmword"}
SEGMENTS = ("es", "cs", "ss", "ds", "fs", "gs")


@dataclass(frozen=True)
class Register:
    name: str          # as keystone and capstone spell it
    size: int          # bytes (0 where a size does not apply: cr0, st0 ...)
    kind: str          # gpr, high8, seg, xmm, ymm, zmm, mmx, st, cr, dr, k
    rex: bool = False  # only reachable with a REX prefix


def _register_table() -> dict[str, Register]:
    table = {}
    legacy = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"]
    for i, r in enumerate(legacy):
        table["r" + r] = Register("r" + r, 8, "gpr")
        table["e" + r] = Register("e" + r, 4, "gpr")
        table[r] = Register(r, 2, "gpr")
        low = r[0] + "l" if i < 4 else r + "l"
        table[low] = Register(low, 1, "gpr", rex=i >= 4)
        if i < 4:
            table[r[0] + "h"] = Register(r[0] + "h", 1, "high8")
    for n in range(8, 16):
        for suffix, size in (("", 8), ("d", 4), ("w", 2), ("b", 1)):
            table[f"r{n}{suffix}"] = Register(f"r{n}{suffix}", size, "gpr", rex=True)
        table[f"r{n}l"] = table[f"r{n}b"]
    for n in range(32):
        for kind, size in (("xmm", 16), ("ymm", 32), ("zmm", 64)):
            table[f"{kind}{n}"] = Register(f"{kind}{n}", size, kind, rex=n >= 8)
    for n in range(8):
        table[f"mm{n}"] = Register(f"mm{n}", 8, "mmx")
        table[f"st{n}"] = Register(f"st({n})", 10, "st")
        table[f"k{n}"] = Register(f"k{n}", 8, "k")
    for n in range(16):
        table[f"cr{n}"] = Register(f"cr{n}", 8, "cr", rex=n >= 8)
        table[f"dr{n}"] = Register(f"dr{n}", 8, "dr", rex=n >= 8)
    for seg in SEGMENTS:
        table[seg] = Register(seg, 2, "seg")
    return table


REGISTERS = _register_table()
ADDRESS_REGISTERS = frozenset(n for n, r in REGISTERS.items() if r.kind == "gpr" and r.size >= 4)


class OperandError(Exception):
    """An operand that cannot be read (the caller adds file and line)."""


@dataclass
class Immediate:
    value: int
    reloc: bool = False       # a label's address: NASM never shortens its encoding
    unknown: bool = False     # uses a symbol not defined yet (an early pass)
    size: int | None = None   # byte/word/dword/qword written before it
    strict: bool = False
    jump: str | None = None   # short / near / far


@dataclass
class Memory:
    size: int | None
    segment: str | None
    base: str | None
    index: str | None
    scale: int
    disp: int
    reloc: bool = False       # the displacement is (or contains) a label's address
    unknown: bool = False
    rip: bool = False         # encode relative to the next instruction
    disp_size: int | None = None   # [byte ...], [dword ...], [qword ...]
    address_size: int = 8     # 4 for [ebx]: a 0x67 prefix

    @property
    def absolute(self) -> bool:
        return self.base is None and self.index is None and not self.rip


def parse_operand(text: str, ctx: Context, default_rel: bool = False):
    """A Register, Memory or Immediate for one operand; raises OperandError."""
    words = re.sub(r"(?i)\b(byte|dword|qword|tword|oword|yword|zword|word)\[", r"\1 [",
                   text.strip()).split()
    size = jump = None
    strict = False
    while words and words[0].lower() in (*SIZES, "strict", "short", "near", "far", "ptr"):
        word = words.pop(0).lower()
        if word == "ptr":
            raise OperandError(f"NASM has no 'ptr' in '{text}': write 'dword [x]'")
        if word in SIZES:
            size = SIZES[word]
        elif word == "strict":
            strict = True
        else:
            jump = word
    rest = " ".join(words)
    if not rest:
        raise OperandError(f"operand '{text}' has nothing after its size")
    if "[" in rest or "]" in rest:
        if jump == "far":
            raise OperandError(f"far jumps and calls ('{text}') are not supported")
        return _memory(rest, size, ctx, default_rel)
    first = rest.split()[0].lower()
    if first in REGISTERS and len(rest.split()) > 1 and "[" not in rest:
        raise OperandError(f"comma expected after '{rest.split()[0]}' in '{text}'")
    register = REGISTERS.get(rest.lower())
    if register is not None:
        if size is not None and register.size and size != register.size:
            raise OperandError(f"'{text}': {rest} is not a {_size_name(size)} register")
        return register
    try:
        value = evaluate_value(rest, ctx)
    except ExprError as exc:
        raise OperandError(str(exc)) from None
    if value.regs:
        raise OperandError(f"'{text}': a register in an expression needs brackets "
                           f"(a memory operand)")
    return Immediate(value.number, value.reloc != 0, value.unknown, size, strict, jump)


def _size_name(size: int) -> str:
    return next(name for name, n in SIZES.items() if n == size)


def _memory(text: str, size, ctx: Context, default_rel: bool) -> Memory:
    segment = None
    outer = re.fullmatch(r"(?i)(es|cs|ss|ds|fs|gs)\s*:\s*(\[.*\])", text)
    if outer:
        segment, text = outer.group(1).lower(), outer.group(2)
    if not (text.startswith("[") and text.endswith("]")) or text.count("[") != 1 \
            or text.count("]") != 1:
        raise OperandError(f"malformed memory operand '{text}' (expected one [ ... ])")
    inner = text[1:-1].strip()
    rel = abs_ = nosplit = False
    disp_size = None
    while True:
        m = re.match(r"(?i)(rel|abs|nosplit|byte|dword|qword|word)\s+|"
                     r"(es|cs|ss|ds|fs|gs)\s*:\s*", inner)
        if not m:
            break
        word = (m.group(1) or "").lower()
        if m.group(2):
            segment = m.group(2).lower()
        elif word == "rel":
            rel = True
        elif word == "abs":
            abs_ = True
        elif word == "nosplit":
            nosplit = True
        else:
            disp_size = SIZES[word]
        inner = inner[m.end():]
    if re.search(r"(?i)(?<![\w.?@$#~])rip(?![\w.?@$#~])", inner):
        raise OperandError(f"NASM has no [rip + x] ('{text}'): write [rel x] for an "
                           f"address relative to the next instruction")
    try:
        value = evaluate_value(inner, replace(ctx, registers=ADDRESS_REGISTERS))
    except ExprError as exc:
        raise OperandError(str(exc)) from None
    base, index, scale, address_size = _layout(value, nosplit, text)
    mem = Memory(size, segment, base, index, scale, value.number, value.reloc != 0,
                 value.unknown, disp_size=disp_size, address_size=address_size)
    wants_rel = rel or (default_rel and not abs_ and segment not in ("fs", "gs"))
    if rel and not mem.absolute:
        raise OperandError(f"'rel' cannot be combined with registers in '{text}'")
    if wants_rel and mem.absolute and disp_size != 8:
        if mem.reloc or mem.unknown:
            mem.rip = True
        else:
            ctx.warnings.append("absolute address can not be RIP-relative: encoded absolute")
    return mem


def _layout(value: Value, nosplit: bool, text: str):
    """(base, index, scale, address size) for the registers of an address."""
    regs = list(value.regs)
    if any(c < 0 for _, c, _ in regs):
        raise OperandError(f"invalid effective address '{text}': a register cannot "
                           f"be subtracted")
    if len(regs) > 2:
        raise OperandError(f"invalid effective address '{text}': too many registers")
    sizes = {REGISTERS[r].size for r, _, _ in regs}
    if len(sizes) > 1:
        raise OperandError(f"invalid effective address '{text}': 32- and 64-bit "
                           f"registers mixed")
    address_size = sizes.pop() if sizes else 8
    if not regs:
        return None, None, 1, address_size
    if len(regs) == 1:
        (reg, coef, _), = regs
        if coef == 1:
            return reg, None, 1, address_size
        if coef in (2, 3, 5, 9) and not nosplit:
            return _checked(reg, reg, coef - 1, text) + (address_size,)
        return _checked(None, reg, coef, text) + (address_size,)
    (first, c1, s1), (second, c2, s2) = regs
    if c1 != 1 and c2 != 1:
        raise OperandError(f"invalid effective address '{text}': two scaled registers")
    if c1 != 1 or (s1 and not s2 and c2 == 1):
        first, second, c1, c2 = second, first, c2, c1       # the scaled one is the index
    base, index, scale = first, second, c2
    if _is_sp(index) and scale == 1:
        base, index = index, base
    return _checked(base, index, scale, text) + (address_size,)


def _is_sp(reg: str | None) -> bool:
    return reg in ("rsp", "esp")


def _checked(base, index, scale, text):
    if _is_sp(index):
        raise OperandError(f"invalid effective address '{text}': rsp cannot be an index")
    if scale not in (1, 2, 4, 8):
        raise OperandError(f"invalid effective address '{text}': scale must be 1, 2, 4 or 8")
    return base, index, scale


def keystone_number(value: int) -> str:
    """`value` as keystone must read it: in hex with its 0x, so that keystone's
    radix (decimal by default, hex once anything sets its NASM syntax option:
    keystone #436) never changes what it means."""
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def memory_text(mem: Memory, disp: int | None = None, size: int | None = None,
                rip: bool = False) -> str:
    """The keystone spelling of a memory operand (`disp`/`size` override)."""
    value = mem.disp if disp is None else disp
    size = mem.size if size is None else size
    parts = ["rip"] if rip else []
    if mem.base:
        parts.append(mem.base)
    if mem.index:
        parts.append(f"{mem.index}*{mem.scale}")
    if not parts and mem.disp_size != 8:           # [qword x] is movabs's moffs64
        parts.append("riz*1" if mem.address_size == 8 else "eiz*1")
    body = " + ".join(parts)
    if not parts:
        body = keystone_number(value)
    elif value or rip:
        body += f" - {-value:#x}" if value < 0 else f" + {value:#x}"
    prefix = f"{KEYSTONE_SIZE[size]} ptr " if size else ""
    segment = f"{mem.segment}:" if mem.segment else ""
    return f"{prefix}{segment}[{body}]"

"""Encoding one instruction with keystone, and proving the bytes right.

The front end rewrites each NASM operand into keystone's default (Intel)
syntax with every expression already evaluated, so keystone sees only
registers and decimal numbers:

    mov byte [os_MemoryMap + rsi], CHUNK_USED  ->  mov byte ptr [rsi + 65536], 2

Then every encoding is decoded again with capstone and checked, because
keystone 0.9.2 gets some of them silently wrong:

  * a base-less memory operand ([0x900000]) may come out RIP-relative with the
    absolute value as displacement, so `mov rbx, [0x900000]` at 0x100000 loads
    from 0x1000007 (keystone #552/#490). NASM's default is absolute addressing,
    so such operands are encoded at a far-away scratch address, where keystone
    can only pick the absolute [disp32] form, and the result is checked at the
    real address. An address that needs more than 32 bits is refused.
  * `[rel X]` (or `default rel`) is encoded as [rip + (X - next_rip)] and checked.
  * symbols resolved through keystone's own resolver give branch targets 4 bytes
    off and drop `+ 1` from `sym + 1` (measured here), so symbols never reach
    keystone; branch targets are checked after decoding too.
  * `push 0xffff` comes out as `push -1` (6a ff), and `push 0x80000000` as a
    16-bit push: every immediate is compared with the decoded one.
  * `jmp near X` and `call`-size jumps: NASM's `near` forces a 32-bit
    displacement; keystone picks the short form when it can, so a near jump is
    encoded against a far target and its displacement set afterwards.
Anything that does not decode back to exactly what was meant raises an
AssemblyError that says so: never a silently wrong instruction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from capstone import CS_ARCH_X86, CS_MODE_64, Cs
from capstone.x86 import X86_OP_IMM, X86_OP_MEM, X86_REG_INVALID, X86_REG_RIP
from keystone import KS_ARCH_X86, KS_MODE_64, Ks, KsError

from .expr import Context, ExprError, evaluate

SCRATCH_ADDRESS = 0x4000_0000_0000   # far from every 32-bit address

_SIZES = ("byte", "word", "dword", "qword", "tword", "oword", "xmmword", "yword",
          "ymmword", "zword", "zmmword", "fword")
_SIZE_ALIASES = {"oword": "xmmword", "yword": "ymmword", "zword": "zmmword"}
_BRANCHES = re.compile(r"^(j[a-z]+|call|loop[a-z]*|xbegin)$")


def _register_names() -> frozenset[str]:
    names = set()
    for r in ("ax", "bx", "cx", "dx"):
        names |= {"r" + r, "e" + r, r, r[0] + "l", r[0] + "h"}
    for r in ("si", "di", "bp", "sp"):
        names |= {"r" + r, "e" + r, r, r + "l"}
    for n in range(8, 16):
        names |= {f"r{n}", f"r{n}d", f"r{n}w", f"r{n}b", f"r{n}l"}
    for n in range(32):
        names |= {f"xmm{n}", f"ymm{n}", f"zmm{n}"}
    for n in range(16):
        names |= {f"cr{n}", f"dr{n}"}
    for n in range(8):
        names |= {f"mm{n}", f"st{n}", f"k{n}", f"st({n})"}
    return frozenset(names | {"rip", "eip", "ip", "cs", "ds", "es", "fs", "gs", "ss", "st"})


REGISTERS = _register_names()
_SEGMENTS = {"cs", "ds", "es", "fs", "gs", "ss"}


class EncodeError(Exception):
    """Why one statement could not be encoded (the caller adds file and line)."""


@dataclass
class Encoded:
    data: bytes
    missing: set[str]      # symbols not known yet (a later pass will know them)


@dataclass
class _Memory:
    """A parsed memory operand. target is the evaluated displacement."""
    size: str
    segment: str
    registers: list[str]   # "rsi", "rcx*4"
    disp: int
    rel: bool
    has_rip: bool

    def text(self, disp: int | None = None, rip: bool = False) -> str:
        parts = (["rip"] if rip else []) + self.registers
        value = self.disp if disp is None else disp
        body = " + ".join(parts)
        if value or not parts:
            if body:
                body += f" - {-value}" if value < 0 else f" + {value}"
            else:
                body = str(value)
        prefix = f"{self.size} ptr " if self.size else ""
        segment = f"{self.segment}:" if self.segment else ""
        return f"{prefix}{segment}[{body}]"


class Encoder:
    """Encodes instructions for one assembly; holds the keystone/capstone handles."""

    def __init__(self):
        self._ks = Ks(KS_ARCH_X86, KS_MODE_64)
        self._cs = Cs(CS_ARCH_X86, CS_MODE_64)
        self._cs.detail = True
        self.default_rel = False
        self._near = False          # the current instruction said `near`

    def encode(self, mnemonic: str, operands: list[str], ctx: Context) -> Encoded:
        """Bytes for `mnemonic operands` at address ctx.here."""
        missing_before = set(ctx.missing)
        memory, texts, target, immediates = None, [], None, []
        branch = _BRANCHES.match(mnemonic.split()[-1]) is not None
        self._near = False
        for op in operands:
            kind, value = self._operand(op, ctx)
            if kind == "mem":
                if memory is not None:
                    raise EncodeError("more than one memory operand")
                memory = value
                texts.append(None)
            elif kind == "imm":
                texts.append(str(value))
                if branch:
                    target = value
                else:
                    immediates.append(value)
            else:
                texts.append(value)
        missing = ctx.missing - missing_before
        address = ctx.here
        if memory is None and target is not None and self._near:
            data = self._near_branch(mnemonic, address, target)
        elif memory is None:
            data = self._keystone(mnemonic, texts, address)
            if target is not None and not missing:
                self._check_branch(data, address, target)
            else:
                self._check_decodes(data, address)
        elif memory.has_rip or memory.registers:
            data = self._keystone(mnemonic, self._fill(texts, memory.text()), address)
            self._check_decodes(data, address)
        elif memory.rel or self.default_rel and not memory.segment:
            data = self._rip_relative(mnemonic, texts, memory, address)
        else:
            data = self._absolute(mnemonic, texts, memory, address, bool(missing))
        if immediates and not missing:
            self._check_immediates(data, address, immediates)
        return Encoded(data, missing)

    # -- operands ---------------------------------------------------------------------

    def _operand(self, op: str, ctx: Context):
        """('reg', text) | ('mem', _Memory) | ('imm', int) | ('raw', text)."""
        words = op.split()
        size = ""
        while words and words[0].lower() in _SIZES + ("strict", "short", "near"):
            word = words.pop(0).lower()
            if word in _SIZES:
                size = _SIZE_ALIASES.get(word, word)
            elif word == "near":
                self._near = True
        if words and words[0].lower() == "ptr":
            words.pop(0)
        rest = " ".join(words)
        if not rest:
            raise EncodeError(f"operand '{op}' has nothing after its size")
        lowered = rest.lower()
        if "[" in rest or "]" in rest:
            return "mem", self._memory(rest, size, ctx)
        if lowered in REGISTERS:
            return "reg", lowered
        if re.fullmatch(r"(cs|ds|es|fs|gs|ss)\s*:.*", lowered):
            raise EncodeError(f"segment override needs a memory operand: '{op}'")
        if size == "word":
            raise EncodeError(f"16-bit immediates ('{op}') are not supported: drop 'word'")
        try:
            return "imm", evaluate(rest, ctx)
        except ExprError as exc:
            raise EncodeError(str(exc)) from None

    def _memory(self, text: str, size: str, ctx: Context) -> _Memory:
        segment = ""
        outer = re.fullmatch(r"(?i)(cs|ds|es|fs|gs|ss)\s*:\s*(\[.*\])", text.strip())
        if outer:
            segment, text = outer.group(1).lower(), outer.group(2)
        if not (text.startswith("[") and text.endswith("]")) or text.count("[") != 1 \
                or text.count("]") != 1:
            raise EncodeError(f"malformed memory operand '{text}' (unbalanced brackets?)")
        inner = text[1:-1].strip()
        inner_seg = re.match(r"(?i)(cs|ds|es|fs|gs|ss)\s*:", inner)
        if inner_seg:
            segment, inner = inner_seg.group(1).lower(), inner[inner_seg.end():].strip()
        rel = False
        keyword = re.match(r"(?i)(rel|abs)\s+", inner)
        if keyword:
            rel, inner = keyword.group(1).lower() == "rel", inner[keyword.end():]
        registers, disp_terms, has_rip = [], [], False
        for sign, term in _terms(inner):
            reg = _register_term(term)
            if reg is None:
                disp_terms.append(f"{sign}({term})")
                continue
            if sign == "-":
                raise EncodeError(f"a register cannot be subtracted in '[{inner}]'")
            if reg == "rip":
                has_rip = True
            else:
                registers.append(reg)
        try:
            disp = evaluate(" ".join(disp_terms), ctx) if disp_terms else 0
        except ExprError as exc:
            raise EncodeError(str(exc)) from None
        if rel and (registers or has_rip):
            raise EncodeError(f"'rel' cannot be combined with registers in '[{inner}]'")
        return _Memory(size, segment, registers, disp, rel, has_rip)

    # -- the three memory encodings ---------------------------------------------------------

    def _rip_relative(self, mnemonic, texts, memory: _Memory, address: int) -> bytes:
        probe = self._keystone(mnemonic, self._fill(texts, memory.text(0, rip=True)), address)
        delta = memory.disp - (address + len(probe))
        if not -(1 << 31) <= delta < (1 << 31):
            raise EncodeError(f"rel target {memory.disp:#x} is more than 2 GiB away")
        data = self._keystone(mnemonic, self._fill(texts, memory.text(delta, rip=True)), address)
        insn = self._decode_one(data, address)
        if len(data) != len(probe) or self._rip_target(insn) != memory.disp:
            raise EncodeError(f"keystone did not encode [rel {memory.disp:#x}] correctly "
                              f"({data.hex()}: {insn.mnemonic} {insn.op_str})")
        return data

    def _absolute(self, mnemonic, texts, memory: _Memory, address: int, provisional: bool) -> bytes:
        value = memory.disp & ((1 << 64) - 1)
        data = self._keystone(mnemonic, self._fill(texts, memory.text()), SCRATCH_ADDRESS)
        insn = self._decode_one(data, address)
        ops = [o for o in insn.operands if o.type == X86_OP_MEM]
        good = len(ops) == 1 and ops[0].mem.base == X86_REG_INVALID \
            and ops[0].mem.index == X86_REG_INVALID and ops[0].mem.disp & ((1 << 64) - 1) == value
        if good or provisional:
            return data
        if not -(1 << 31) <= memory.disp < (1 << 31) and value < (1 << 64) - (1 << 31):
            raise EncodeError(f"absolute address {value:#x} does not fit in a 32-bit "
                              f"displacement; put it in a register first")
        raise EncodeError(f"keystone cannot encode absolute address {value:#x} here "
                          f"(got {data.hex()}: {insn.mnemonic} {insn.op_str})")

    # -- keystone and capstone ----------------------------------------------------------------

    @staticmethod
    def _fill(texts: list[str | None], memory_text: str) -> list[str]:
        return [memory_text if t is None else t for t in texts]

    def _keystone(self, mnemonic: str, operands: list[str], address: int) -> bytes:
        text = mnemonic + (" " + ", ".join(operands) if operands else "")
        try:
            encoding, _ = self._ks.asm(text, address)
        except KsError as exc:
            raise EncodeError(_keystone_message(exc, text)) from None
        if not encoding:
            raise EncodeError(f"keystone could not encode '{text}'")
        return bytes(encoding)

    def _decode_one(self, data: bytes, address: int):
        insns = list(self._cs.disasm(data, address))
        if len(insns) != 1 or insns[0].size != len(data):
            raise EncodeError(f"encoding {data.hex()} does not decode as one instruction")
        return insns[0]

    def _check_decodes(self, data: bytes, address: int) -> None:
        insn = self._decode_one(data, address)
        for op in insn.operands:
            if op.type == X86_OP_MEM and op.mem.base == X86_REG_RIP:
                raise EncodeError(f"keystone produced an unexpected RIP-relative operand "
                                  f"({insn.mnemonic} {insn.op_str})")

    def _check_branch(self, data: bytes, address: int, target: int) -> None:
        insn = self._decode_one(data, address)
        imms = [o.imm for o in insn.operands if o.type == X86_OP_IMM]
        if imms and imms[0] & ((1 << 64) - 1) != target & ((1 << 64) - 1):
            raise EncodeError(f"branch to {target:#x} encoded as {insn.mnemonic} {insn.op_str}")

    def _check_immediates(self, data: bytes, address: int, wanted: list[int]) -> None:
        """Every immediate decodes to the value written, in the operand's width."""
        insn = self._decode_one(data, address)
        found = [o for o in insn.operands if o.type == X86_OP_IMM]
        for op, value in zip(found, wanted):
            bits = 8 * op.size
            mask = (1 << bits) - 1
            if not -(1 << (bits - 1)) <= value <= mask:
                raise EncodeError(f"value {value:#x} does not fit in {op.size} byte(s) "
                                  f"({insn.mnemonic} {insn.op_str})")
            if op.imm & mask != value & mask:
                raise EncodeError(f"keystone encodes this as '{insn.mnemonic} {insn.op_str}' "
                                  f"({data.hex()}), not with {value:#x}: put the value in a "
                                  f"register first")

    def _near_branch(self, mnemonic: str, address: int, target: int) -> bytes:
        """A jump or call with a 32-bit displacement (NASM's `near`)."""
        far = address + 0x4000_0000
        data = bytearray(self._keystone(mnemonic, [str(far)], address))
        delta = target - (address + len(data))
        if len(data) < 5 or not -(1 << 31) <= delta < (1 << 31):
            raise EncodeError(f"cannot encode a near {mnemonic} to {target:#x}")
        data[-4:] = delta.to_bytes(4, "little", signed=True)
        self._check_branch(bytes(data), address, target)
        return bytes(data)

    @staticmethod
    def _rip_target(insn) -> int | None:
        for op in insn.operands:
            if op.type == X86_OP_MEM and op.mem.base == X86_REG_RIP:
                return (insn.address + insn.size + op.mem.disp) & ((1 << 64) - 1)
        return None


def _terms(inner: str):
    """Split a memory expression into (sign, term) on top-level + and -."""
    terms, depth, start, sign = [], 0, 0, "+"
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch in "+-" and depth == 0 and i > start and inner[start:i].strip() \
                and inner[i - 1] not in "*/<>&|^~(":
            terms.append((sign, inner[start:i].strip()))
            sign, start = ch, i + 1
    last = inner[start:].strip()
    if not last:
        raise EncodeError(f"memory operand '[{inner}]' ends with an operator")
    terms.append((sign, last))
    return terms


def _register_term(term: str) -> str | None:
    """'rsi' -> 'rsi'; 'rcx*4' or '4*rcx' -> 'rcx*4'; None if not a register term."""
    parts = [p.strip().lower() for p in term.split("*")]
    if len(parts) == 1:
        return parts[0] if parts[0] in REGISTERS else None
    if len(parts) == 2:
        reg, scale = (parts[0], parts[1]) if parts[0] in REGISTERS else (parts[1], parts[0])
        if reg in REGISTERS:
            if scale not in ("1", "2", "4", "8"):
                raise EncodeError(f"scale in '{term}' must be 1, 2, 4 or 8")
            return f"{reg}*{scale}"
    return None


def _keystone_message(exc: KsError, text: str) -> str:
    reason = str(exc).split(" (KS_ERR")[0]
    return f"{reason.lower()} in '{text}'"

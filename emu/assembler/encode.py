"""Encoding one instruction: NASM's choices, keystone's bytes, capstone's check.

    Encoder().encode(Instruction("mov", [], [Register rax, Immediate 5]), address)
        -> Encoded(b"\\xb8\\x05\\x00\\x00\\x00", warnings=[])      mov eax, 5 (as NASM)

The front end has already evaluated every expression, so keystone sees only
registers and numbers in its default Intel syntax; numbers are written in hex
with their 0x, because keystone's radix can turn to hex (setting any keystone
option does: keystone #436/#571), and a full test run once saw `-22` read as
-0x22 in a lab's routine (the capstone check refused it). Where NASM picks another
encoding than keystone would, the request is rewritten first (choices.py):
`mov r64, imm` that fits 32 bits unsigned becomes `mov r32, imm`, an absolute
address is written [riz*1 + disp] so it gets NASM's [disp32] form and never
keystone's RIP-relative or movabs ones (keystone #552/#490), an immediate too
big for its operand is cut as NASM cuts it (with NASM's warning).

Some encodings keystone cannot be asked for in words: a near jump to a target
that a short one reaches, `strict dword 1`, a RIP-relative displacement, a
[byte rbx + 0] displacement. For those the encoder asks keystone for the same
instruction with a stand-in value that forces the field's size, then writes
the real value into the field, at the offset capstone reports for it.

Every result then goes through verify.check(): decoded again and compared
with the source, operand by operand. Nothing keystone raises (KsError,
ValueError, anything) escapes as anything but EncodeError; the instructions
that make keystone's LLVM abort the whole process (a high-byte register in
an instruction that needs REX) are refused before keystone sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from capstone import CS_ARCH_X86, CS_MODE_64, Cs
from keystone import KS_ARCH_X86, KS_MODE_64, Ks

from . import choices
from .mnemonics import JUMPS, PREFIX_GROUPS, SHORT_ONLY, capstone_name
from .operands import Immediate, Memory, Register, keystone_number, memory_text
from .verify import EncodeError, Expected, check

# pairs of values that need a field of 1, 2 or 4 bytes and differ in every byte
# of it: encoding the instruction with each shows where the field is
STAND_INS = {1: (2, 3), 2: (0x1234, 0x2345), 4: (0x12345678, 0x23456789)}
REX_W = 0x48                      # the REX prefix with only W set
_SIZE_WORDS = {1: "byte", 2: "word", 4: "dword", 8: "qword", 10: "tword", 16: "oword"}


@dataclass
class Instruction:
    """What one source line asks for."""
    mnemonic: str                 # NASM's name, lower case
    prefixes: list[str]
    operands: list                # Register | Memory | Immediate


@dataclass
class Encoded:
    data: bytes
    warnings: list[str] = field(default_factory=list)


class Encoder:
    """Encodes instructions for one assembly; holds the keystone/capstone handles
    and a cache of keystone's answers."""

    def __init__(self):
        self._ks = Ks(KS_ARCH_X86, KS_MODE_64)
        self._cs = Cs(CS_ARCH_X86, CS_MODE_64)
        self._cs.detail = True
        self._cache: dict = {}            # keystone text (and address) -> bytes or error
        self._results: dict = {}          # instruction (and address) -> Encoded or error

    def encode(self, insn: Instruction, address: int) -> Encoded:
        """Bytes for `insn` at `address`; raises EncodeError. An instruction that
        does not depend on its address is encoded once per assembly."""
        key = _key(insn, address)
        if key not in self._results:
            try:
                self._results[key] = self._encode(insn, address)
            except EncodeError as exc:
                self._results[key] = str(exc)
        result = self._results[key]
        if isinstance(result, str):
            raise EncodeError(result)
        return Encoded(result.data, list(result.warnings))

    def _encode(self, insn: Instruction, address: int) -> Encoded:
        warnings: list[str] = []
        choices.refuse_impossible(insn)
        request = choices.nasm_request(insn, warnings)
        expected = self._expected(insn, request)
        if insn.mnemonic in JUMPS and request.operands and \
                isinstance(request.operands[0], Immediate):
            data = self._branch(request, address)
            check(self._cs, data, address, expected)
        else:
            data = self._checked(request, address, expected)
        return Encoded(data, warnings)

    def _checked(self, request, address: int, expected: Expected) -> bytes:
        """keystone's encoding, checked; if keystone refuses the immediate or
        encodes it as another value (push 0xffff as push -1), the immediate
        field is forced to each size in turn and the value written into it."""
        try:
            data = self._plain(request, address, request.strict_bytes)
            check(self._cs, data, address, expected)
            return data
        except SizeNotSpecified:
            raise
        except (EncodeError, _KeystoneRefused) as first:
            failure = first
        if request.strict_bytes is None and \
                any(isinstance(op, Immediate) for op in request.operands):
            for size in (1, 4, 2):
                try:
                    data = self._plain(request, address, size)
                    check(self._cs, data, address, expected)
                    return data
                except (EncodeError, _KeystoneRefused):
                    continue
        if isinstance(failure, _KeystoneRefused):
            raise EncodeError(choices.explain(request, failure.error,
                                              self._sizes_that_work(request))) from None
        raise failure

    # -- building the keystone text ------------------------------------------------------

    def _text(self, request, operands: list | None = None) -> str:
        ops = request.operands if operands is None else operands
        texts = [self._operand_text(op) for op in ops]
        head = " ".join(request.prefixes + [request.keystone])
        if request.bare_operands:
            texts = [request.bare_operands]
        return head + (" " + ", ".join(texts) if texts else "")

    @staticmethod
    def _operand_text(op) -> str:
        if isinstance(op, Register):
            return op.name
        if isinstance(op, Memory):
            return memory_text(op)
        if isinstance(op, str):
            return op
        return keystone_number(op.value)

    def _keystone(self, text: str, address: int, branch: bool = False) -> bytes:
        key = (text, address) if branch else text
        if key in self._cache:
            result = self._cache[key]
        else:
            try:
                encoding, _ = self._ks.asm(text, address)
                result = bytes(encoding or b"")
            except Exception as exc:               # KsError, and the binding's own
                result = exc
            self._cache[key] = result
        if isinstance(result, Exception):
            raise _KeystoneRefused(text, result)
        if not result:
            raise _KeystoneRefused(text, None)
        return result

    # -- plain instructions -----------------------------------------------------------------

    def _plain(self, request, address: int, imm_bytes: int | None) -> bytes:
        """keystone's bytes, with the fields keystone cannot be asked for written
        in: a forced immediate size, a RIP-relative or forced displacement."""
        ops = list(request.operands)
        imm_at = next((i for i, op in enumerate(ops) if isinstance(op, Immediate)), None)
        mem_at = next((i for i, op in enumerate(ops) if isinstance(op, Memory)), None)
        memory = ops[mem_at] if mem_at is not None else None
        fields = []                      # (operand index, stand-in texts, value or None)
        if imm_bytes is not None and imm_at is not None:
            a, b = STAND_INS[imm_bytes]
            fields.append((imm_at, (Immediate(a), Immediate(b)), ops[imm_at].value))
        if memory is not None and memory.rip:
            a, b = STAND_INS[4]
            fields.append((mem_at, (memory_text(memory, disp=a, rip=True),
                                    memory_text(memory, disp=b, rip=True)), None))
        elif memory is not None and memory.disp_size in (1, 4):
            if memory.disp_size == 1 and not -128 <= memory.disp < 128:
                raise EncodeError(f"displacement {memory.disp} does not fit in a byte")
            a, b = STAND_INS[memory.disp_size]
            fields.append((mem_at, (memory_text(memory, disp=a), memory_text(memory, disp=b)),
                           memory.disp))
        for index, (first, _), _ in fields:
            ops[index] = first
        data = bytearray(self._keystone(self._text(request, ops), address))
        for index, (first, second), value in fields:
            other = list(ops)
            other[index] = second
            offset, size = self._field(data, self._keystone(self._text(request, other), address))
            if value is None:                           # rel: from the next instruction
                value = memory.disp - (address + len(data))
                if not -(1 << 31) <= value < (1 << 31):
                    raise EncodeError(f"rel target {memory.disp & (2**64 - 1):#x} is more "
                                      f"than 2 GiB away from this instruction")
            _patch(data, offset, size, value)
        if imm_bytes is None and memory is not None and memory.size is None:
            self._check_size_given(request)
        if request.drop_rex_w and data[:1] == bytes([REX_W]):
            del data[0]
        return bytes(data)

    @staticmethod
    def _field(first: bytes, second: bytes) -> tuple[int, int]:
        """(offset, size) of the one field in which two encodings that differ
        only there disagree: where the stand-in value sits."""
        differ = [i for i, (a, b) in enumerate(zip(first, second)) if a != b]
        if len(first) != len(second) or not differ:
            raise EncodeError("there is no form of this instruction with a field of "
                              "the size needed")
        return differ[0], differ[-1] - differ[0] + 1

    def _check_size_given(self, request) -> None:
        """A memory operand with no size, in an instruction whose encoding depends
        on it (push [rax]: word or qword), is NASM's 'operation size not specified'."""
        if any(isinstance(op, Register) for op in request.operands):
            return
        encodings = set()
        for size in self._sizes_that_work(request):
            sized = [_with_size(op, size) if isinstance(op, Memory) else op
                     for op in request.operands]
            encodings.add(self._keystone(self._text(request, sized), 0))
        if len(encodings) > 1:
            raise SizeNotSpecified(choices.size_not_specified(request))

    def _sizes_that_work(self, request) -> list[int]:
        memory = next((op for op in request.operands if isinstance(op, Memory)), None)
        if memory is None or memory.size is not None:
            return []
        works = []
        for size in (1, 2, 4, 8, 10, 16):
            sized = [_with_size(op, size) if op is memory else op for op in request.operands]
            try:
                self._keystone(self._text(request, sized), 0)
                works.append(size)
            except _KeystoneRefused:
                pass
        return works

    # -- branches -------------------------------------------------------------------------

    def _branch(self, request, address: int) -> bytes:
        """A jump, call or loop to a target address: rel8 when NASM would pick it,
        else rel32. The displacement is the last field of every such instruction,
        so each form's opcode bytes are asked of keystone once (template)."""
        target = request.operands[0]
        mnemonic = request.keystone
        short = self._template(request, "short") if mnemonic != "call" else None
        delta = target.value - (address + len(short) + 1) if short is not None else 0
        fits = short is not None and -128 <= delta < 128
        kind = target.jump or ("short" if mnemonic in SHORT_ONLY else
                               "near" if mnemonic == "call" or not target.reloc else "auto")
        if kind == "far":
            raise EncodeError("far jumps and calls are not supported in 64-bit code here")
        if kind == "short" and short is None:
            raise EncodeError(f"{mnemonic} has no short form")
        if kind == "short" and not fits and not target.unknown:
            raise EncodeError(f"short jump is out of range: the target is {delta} bytes "
                              f"away, a short jump reaches -128..127")
        if kind == "short" or (kind == "auto" and fits) or target.unknown and kind != "near":
            return short + ((delta if fits else -2) & 0xFF).to_bytes(1, "little")
        near = self._template(request, "near")
        rel = target.value - (address + len(near) + 4)
        if not -(1 << 31) <= rel < (1 << 31):
            raise EncodeError(f"branch target {target.value & (2**64 - 1):#x} is more than "
                              f"2 GiB away")
        return near + (rel & 0xFFFF_FFFF).to_bytes(4, "little")

    def _template(self, request, kind: str) -> bytes | None:
        """The bytes of a `kind` (short/near) branch before its displacement, or
        None if the instruction has no such form."""
        key = ("template", request.keystone, kind)
        if key not in self._cache:
            a, b = (0x10, 0x11) if kind == "short" else STAND_INS[4]
            try:
                first = self._keystone(f"{request.keystone} {keystone_number(a)}", 0,
                                       branch=True)
                second = self._keystone(f"{request.keystone} {keystone_number(b)}", 0,
                                        branch=True)
                offset, size = self._field(first, second)
                ok = offset + size == len(first) and size == (1 if kind == "short" else 4)
                self._cache[key] = first[:offset] if ok else None
            except _KeystoneRefused as refused:
                raise EncodeError(choices.explain(request, refused.error, [])) from None
            except EncodeError:
                self._cache[key] = None
        return self._cache[key]

    # -- what the bytes must say ---------------------------------------------------------------

    def _expected(self, insn: Instruction, request) -> Expected:
        prefix = next((PREFIX_GROUPS[p] for p in insn.prefixes if p in PREFIX_GROUPS), None)
        memory = next((op for op in request.operands if isinstance(op, Memory)), None)
        rip_target = memory.disp if memory is not None and memory.rip else None
        operands = [] if request.bare_operands else request.operands
        return Expected(request.capstone or capstone_name(insn.mnemonic), prefix,
                        operands, rip_target)


def _key(insn: Instruction, address: int) -> tuple:
    """What an encoding depends on: the instruction, and its address if it is
    relative to it (a branch to a target, a [rel x] operand)."""
    ops, relative = [], False
    for op in insn.operands:
        if isinstance(op, Register):
            ops.append(op)
        else:
            ops.append((type(op).__name__,) + tuple(op.__dict__.values()))
            relative |= isinstance(op, Memory) and op.rip
    relative |= insn.mnemonic in JUMPS
    return (insn.mnemonic, tuple(insn.prefixes), tuple(ops), address if relative else None)


class SizeNotSpecified(EncodeError):
    """A memory operand needs a size keyword."""


class _KeystoneRefused(Exception):
    def __init__(self, text: str, error):
        super().__init__(text)
        self.text, self.error = text, error


def _patch(data: bytearray, offset: int, size: int, value: int) -> None:
    """Write `value` (two's complement) into the field at data[offset:offset+size]."""
    if not size or offset + size > len(data):
        raise EncodeError("the encoding has no field to write this value into")
    data[offset:offset + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def _with_size(memory: Memory, size: int) -> Memory:
    copy = Memory(**memory.__dict__)
    copy.size = size
    return copy


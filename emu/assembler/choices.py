"""NASM's decisions, made before keystone sees an instruction, and NASM's words
when it cannot be encoded.

    nasm_request(Instruction("mov", [], [rax, Immediate(5)]), warnings)
        -> Request(keystone="mov", operands=[eax, Immediate(5)])

What NASM does and keystone would not do by itself:

  * `mov r64, imm`: mov r32, imm32 when the value fits 32 bits unsigned (the
    upper half is zeroed anyway); the sign-extended imm32 form for small
    negative values; movabs otherwise, and always for a label's address
    (NASM never shortens an address) or `strict qword`;
  * an immediate too big for its operand is cut to the operand's width, as
    NASM cuts it, with NASM's warning: `mov byte [rdi], 300` stores 0x2c,
    and a 64-bit operation's immediate is a sign-extended 32-bit one;
  * a displacement is 32 bits, sign-extended: a larger one is cut the same way;
  * `[qword X]` asks for the 64-bit moffs form of mov (movabs);

Refused before keystone: a high-byte register (ah, bh, ch, dh) in an
instruction that needs a REX prefix (keystone's LLVM aborts the process on
it; NASM refuses it), two memory operands, `lock` on an instruction that
cannot be locked (NASM warns and emits an instruction that raises #UD).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .mnemonics import BARE_STRING, DROP_REX_W, JUMPS, OPERAND_SIZE, STRING, keystone_name
from .operands import REGISTERS, Immediate, Memory, Register
from .verify import EncodeError

SHIFTS = {"rol", "ror", "rcl", "rcr", "shl", "sal", "shr", "sar"}
IMM8 = SHIFTS | {"shld", "shrd", "bt", "bts", "btr", "btc", "int", "in", "out"}
IMM16 = {"ret", "retn", "retf"}
LOCKABLE = {"add", "adc", "and", "btc", "btr", "bts", "cmpxchg", "cmpxchg8b", "cmpxchg16b",
            "dec", "inc", "neg", "not", "or", "sbb", "sub", "xadd", "xchg", "xor"}
_WIDTH_NAMES = {8: "byte", 16: "word", 32: "dword", 64: "qword"}


@dataclass
class Request:
    """An instruction as keystone is asked for it."""
    mnemonic: str                    # NASM's name, for messages
    keystone: str
    capstone: str | None
    prefixes: list[str]
    operands: list
    bare_operands: str | None = None
    strict_bytes: int | None = None    # `strict`: the immediate field's size
    drop_rex_w: bool = False           # keystone adds a REX.W NASM does not emit
    warnings: list[str] = field(default_factory=list)


def refuse_impossible(insn) -> None:
    """Raise EncodeError for what must never reach keystone."""
    ops = insn.operands
    sse = any(isinstance(op, Register) and op.kind == "xmm" for op in ops)
    if insn.mnemonic in STRING and ops and not sse:
        raise EncodeError(f"{insn.mnemonic} takes no operands in NASM: it works on "
                          f"[rdi] and [rsi] (and al/ax/eax/rax)")
    if insn.mnemonic in SHIFTS and len(ops) == 1:
        raise EncodeError(f"{insn.mnemonic} needs a count: 1, cl or a number "
                          f"(NASM has no one-operand form)")
    memory = sum(isinstance(op, Memory) for op in ops)
    if memory > 1:
        raise EncodeError("an instruction takes at most one memory operand")
    high = [op.name for op in ops if isinstance(op, Register) and op.kind == "high8"]
    if high and _needs_rex(ops):
        raise EncodeError(f"cannot use high byte register {high[0]} in an instruction that "
                          f"needs a REX prefix (a 64-bit operand, r8-r15, or spl/bpl/sil/dil)")
    lockable = insn.mnemonic in LOCKABLE and ops and (isinstance(ops[0], Memory) or
                                                      insn.mnemonic == "xchg" and memory)
    if "lock" in insn.prefixes and not lockable:
        raise EncodeError(f"lock {insn.mnemonic}: only an instruction that writes memory "
                          f"({', '.join(sorted(LOCKABLE))}) can be locked; this one would "
                          f"raise #UD (invalid opcode) when run (NASM only warns)")
    if insn.mnemonic in ("pop", "push") and ops and isinstance(ops[0], Register) \
            and ops[0].name == "cs":
        raise EncodeError(f"{insn.mnemonic} cs is not an instruction in 64-bit mode")


def _needs_rex(ops) -> bool:
    for op in ops:
        if isinstance(op, Register) and (op.rex or (op.kind == "gpr" and op.size == 8)):
            return True
        if isinstance(op, Memory) and any(r and REGISTERS[r].rex for r in (op.base, op.index)):
            return True
    return False


def nasm_request(insn, warnings: list[str]) -> Request:
    """How keystone is to be asked for `insn`, with NASM's choices made."""
    name = insn.mnemonic
    ops = [_fit_memory(op, warnings) if isinstance(op, Memory) else op for op in insn.operands]
    request = Request(name, keystone_name(name), None, list(insn.prefixes), ops,
                      drop_rex_w=name in DROP_REX_W)
    _operand_size_prefix(request)
    if name in BARE_STRING and not ops:
        request.bare_operands = BARE_STRING[name]
    if name == "lea" and len(ops) == 2 and isinstance(ops[1], Immediate):
        ops[1] = _as_memory(ops[1])                   # NASM: lea rsi, label = [label]
    for i, op in enumerate(ops):
        if isinstance(op, Immediate) and name not in JUMPS:
            ops[i], forced = _fit_immediate(name, ops, i, warnings)
            request.strict_bytes = request.strict_bytes or forced
    if name == "mov":
        _mov_choices(request)
    _register_renames(request)
    if name == "movsx" and len(ops) == 2 and isinstance(ops[1], (Register, Memory)) and \
            getattr(ops[1], "size", None) == 4:
        request.capstone = "movsxd"
    return request


def _operand_size_prefix(request: Request) -> None:
    """o64 sysret (48 0f 07) / o32 sysret (0f 07), and the same for sysexit, iret."""
    for prefix, forms in OPERAND_SIZE.items():
        if prefix not in request.prefixes:
            continue
        if request.mnemonic not in forms or request.operands:
            raise EncodeError(f"{prefix} is supported only before "
                              f"{', '.join(sorted(forms))}")
        request.prefixes.remove(prefix)
        request.capstone = forms[request.mnemonic]
        request.keystone = "iretq" if request.capstone == "iretq" else request.keystone
        request.drop_rex_w = prefix == "o32" and request.mnemonic in DROP_REX_W


def _register_renames(request: Request) -> None:
    """Operands NASM encodes differently from what keystone makes of them."""
    name, ops = request.mnemonic, request.operands
    regs = [isinstance(op, Register) and op.kind in ("gpr", "high8") for op in ops]
    if name == "xchg" and len(ops) == 2 and all(regs):
        ops.reverse()                       # NASM puts the first operand in ModRM.reg
    elif name == "mov" and len(ops) == 2 and isinstance(ops[0], Register) and \
            ops[0].kind == "seg" and regs[1] and ops[1].size == 2:
        ops[1] = _register_32(ops[1])       # mov ds, ax: NASM drops the 0x66 prefix
    elif name in ("lar", "lsl") and len(ops) == 2 and regs[1] and ops[1].size == 2:
        ops[1] = _register_32(ops[1])


def _as_memory(imm: Immediate) -> Memory:
    return Memory(None, None, None, None, 1, imm.value, imm.reloc, imm.unknown)


# -- immediates ---------------------------------------------------------------------------

def _operation_bits(ops) -> int | None:
    for op in ops:
        if isinstance(op, Register) and op.kind in ("gpr", "high8"):
            return 8 * op.size
        if isinstance(op, Memory) and op.size in (1, 2, 4, 8):
            return 8 * op.size
    return None


def _field(name: str, ops, index: int, imm: Immediate) -> tuple | None:
    """(bits, lowest, highest, sign-extended) of the immediate's field: the
    values NASM takes without a warning. None: no limit known here."""
    if name in IMM8 or any(isinstance(op, Register) and op.kind in ("xmm", "ymm", "mmx")
                           for op in ops) or (name == "enter" and index == 1):
        return 8, 0, 255, False
    if name in IMM16 or name == "enter":
        return 16, 0, 0xFFFF, False
    if name == "push":
        if imm.size == 2:
            return 16, -0x8000, 0xFFFF, False
        return 32, -(1 << 31), (1 << 31) - 1, True
    bits = _operation_bits(ops[:index] or ops)
    if bits is None or (name == "mov" and isinstance(ops[0], Register) and bits == 64):
        return None                                   # mov r64, imm64 exists
    if bits == 64:
        return 32, -(1 << 31), (1 << 31) - 1, True
    return bits, -(1 << (bits - 1)), (1 << bits) - 1, False


def _fit_immediate(name: str, ops, index: int, warnings) -> tuple[Immediate, int | None]:
    """(the immediate as NASM encodes it, the field size `strict` forces)."""
    imm = ops[index]
    field_ = _field(name, ops, index, imm)
    bits = _operation_bits(ops)
    if imm.size and imm.size != 1 and bits and name not in ("push", "mov") \
            and 8 * imm.size != bits and field_ and field_[0] != 8:
        raise EncodeError(f"mismatch in operand sizes: a {_WIDTH_NAMES[8 * imm.size]} value "
                          f"for a {bits}-bit operation")
    if name == "mov" and imm.size == 1 and bits and bits != 8:
        raise EncodeError(f"mismatch in operand sizes: mov has no byte-sized value for a "
                          f"{bits}-bit operand")
    if name == "push" and imm.size == 2:
        raise EncodeError("a 16-bit push of a value (push word imm) is not supported: "
                          "push a 64-bit value")
    forced = None
    if imm.strict and imm.size:
        forced = 1 if imm.size == 1 else 2 if field_ and field_[0] == 16 else 4
        if imm.size == 1:
            field_ = (8, -128, 127, True)
    if field_ is None:
        return imm, forced
    width, low, high, signed = field_
    if low <= imm.value <= high:
        return imm, forced
    cut = imm.value & ((1 << width) - 1)
    if signed and cut >> (width - 1):
        cut -= 1 << width
    if not imm.unknown:
        sign = "signed " if signed else ""
        warnings.append(f"{sign}{_WIDTH_NAMES[width]} value exceeds bounds: "
                        f"{imm.value} becomes {cut:#x}, as in NASM")
    return Immediate(cut, imm.reloc, imm.unknown, imm.size, imm.strict, imm.jump), forced


def _mov_choices(request: Request) -> None:
    ops = request.operands
    if len(ops) != 2:
        return
    dest, src = ops
    if isinstance(dest, Register) and dest.kind == "gpr" and dest.size == 8 \
            and isinstance(src, Immediate):
        strict64 = src.strict and src.size == 8
        if strict64 or src.reloc:
            request.keystone = request.capstone = "movabs"
            request.strict_bytes = None
        elif 0 <= src.value < (1 << 32):
            ops[0] = _register_32(dest)
        elif not -(1 << 31) <= src.value < 0:
            request.keystone = request.capstone = "movabs"
        return
    memory = next((op for op in ops if isinstance(op, Memory)), None)
    if memory is not None and memory.disp_size == 8:
        other = ops[1] if ops[0] is memory else ops[0]
        if not (isinstance(other, Register) and other.name in ("rax", "eax", "ax", "al")
                and memory.base is None and memory.index is None):
            raise EncodeError("a 64-bit address ([qword x]) only works in mov to or from "
                              "al, ax, eax or rax")
        request.keystone = request.capstone = "movabs"
        if memory.size is None:
            sized = copy.copy(memory)
            sized.size = other.size
            ops[ops.index(memory)] = sized


def _register_32(reg: Register) -> Register:
    if reg.name[1:].rstrip("w").isdigit():               # r8w, r8 -> r8d
        return REGISTERS[reg.name.rstrip("w") + "d"]
    return REGISTERS["e" + reg.name[-2:]]                  # ax, rax -> eax


def _fit_memory(mem: Memory, warnings) -> Memory:
    """A displacement is a sign-extended 32-bit field (except movabs and rip)."""
    if mem.rip or mem.disp_size == 8 or -(1 << 31) <= mem.disp < (1 << 31):
        return mem
    cut = mem.disp & 0xFFFF_FFFF
    cut = cut - (1 << 32) if cut >> 31 else cut
    if not mem.unknown:
        warnings.append(f"dword data exceeds bounds: address {mem.disp & (2**64 - 1):#x} "
                        f"becomes {cut & (2**64 - 1):#x}, as in NASM (a 32-bit displacement "
                        f"is sign-extended; use a register for this address)")
    fitted = copy.copy(mem)
    fitted.disp = cut
    return fitted


# -- NASM's words when keystone refuses ---------------------------------------------------

def size_not_specified(request: Request) -> str:
    return ("operation size not specified: write byte, word, dword or qword before the "
            "memory operand")


def explain(request: Request, error, sizes_that_work: list[int]) -> str:
    """One line saying why `request` cannot be encoded, in the source's terms."""
    ops = request.operands
    if sizes_that_work:
        return size_not_specified(request)
    reason = str(error or "")
    if "MNEMONICFAIL" in reason:
        return f"'{request.mnemonic}' is not an instruction this assembler can encode"
    if request.mnemonic in ("push", "pop") and ops and isinstance(ops[0], Register) \
            and ops[0].size == 4:
        return (f"{request.mnemonic} {ops[0].name}: instruction not supported in 64-bit "
                f"mode (push and pop take 16- or 64-bit operands)")
    gprs = [op for op in ops if isinstance(op, Register) and op.kind in ("gpr", "high8")]
    if len(gprs) == 2 and gprs[0].size != gprs[1].size and len(ops) == 2:
        return (f"mismatch in operand sizes: {gprs[0].name} is {8 * gprs[0].size}-bit, "
                f"{gprs[1].name} is {8 * gprs[1].size}-bit")
    if error is not None and "KS_ERR" not in reason:
        return f"the encoder failed on this instruction ({type(error).__name__}: {reason})"
    kinds = ", ".join(_kind(op) for op in ops) or "no operands"
    return f"invalid combination of opcode and operands: {request.mnemonic} with {kinds}"


def _kind(op) -> str:
    if isinstance(op, Register):
        return f"{op.name}"
    if isinstance(op, Memory):
        return f"a {8 * op.size}-bit memory operand" if op.size else "a memory operand"
    return f"the value {op.value}"


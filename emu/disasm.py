"""Disassembly with capstone, for fault reports, the debugger and the CLI."""

from __future__ import annotations

from capstone import CS_ARCH_X86, CS_MODE_64, Cs, CsError

_CS = Cs(CS_ARCH_X86, CS_MODE_64)
_CS_DETAIL = Cs(CS_ARCH_X86, CS_MODE_64)
_CS_DETAIL.detail = True

MAX_INSN = 15   # the longest x86 instruction, in bytes


def text(insn) -> str:
    """'mov qword ptr [rax], 1' for a capstone instruction."""
    return f"{insn.mnemonic} {insn.op_str}".strip()


def decode(code: bytes, address: int, detail: bool = False):
    """The first instruction in `code` at `address`, or None if undecodable."""
    engine = _CS_DETAIL if detail else _CS
    try:
        return next(engine.disasm(code, address, 1), None)
    except CsError:
        return None


def decode_many(code: bytes, address: int, count: int | None = None):
    """Instructions in `code` from `address`, stopping at undecodable bytes."""
    out = []
    for insn in _CS.disasm(code, address):
        out.append(insn)
        if count is not None and len(out) >= count:
            break
    return out


def decode_many_detailed(code: bytes, address: int):
    """Every instruction in `code` from `address`, with operand details,
    stopping at undecodable bytes."""
    return list(_CS_DETAIL.disasm(code, address))

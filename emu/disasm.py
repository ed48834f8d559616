"""Disassembly with capstone, for fault reports, the debugger and the CLI.

capstone is imported on first use: a run that never faults and never
disassembles does not pay for it at start-up.
"""

from __future__ import annotations

from functools import cache

MAX_INSN = 15   # the longest x86 instruction, in bytes


def text(insn) -> str:
    """'mov qword ptr [rax], 1' for a capstone instruction."""
    return f"{insn.mnemonic} {insn.op_str}".strip()


@cache
def _engine(detail: bool):
    from capstone import CS_ARCH_X86, CS_MODE_64, Cs
    engine = Cs(CS_ARCH_X86, CS_MODE_64)
    engine.detail = detail
    return engine


def decode(code: bytes, address: int, detail: bool = False):
    """The first instruction in `code` at `address`, or None if undecodable."""
    from capstone import CsError
    try:
        return next(_engine(detail).disasm(code, address, 1), None)
    except CsError:
        return None


def decode_many(code: bytes, address: int, count: int | None = None):
    """Instructions in `code` from `address`, stopping at undecodable bytes."""
    out = []
    for insn in _engine(False).disasm(code, address):
        out.append(insn)
        if count is not None and len(out) >= count:
            break
    return out


def decode_many_detailed(code: bytes, address: int):
    """Every instruction in `code` from `address`, with operand details,
    stopping at undecodable bytes."""
    return list(_engine(True).disasm(code, address))

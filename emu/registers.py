"""Register names, the CPU's ids for them, and parsing NAME=VALUE from the user.

The register file a call returns and `--json` prints: the 16 general-purpose
registers, rip and rflags, as unsigned 64-bit integers. Tools name registers
by these names (Machine.reg / read_regs / set_reg); only the machine turns a
name into Unicorn's id.

    names                                    value
    rax..r15 rip rflags, eax.. r8d..         int
    cs ss ds es fs gs, fs_base gs_base, cr3  int
    fpcw fpsw fptag fcs fip fds fdp fop      int      x87 control and status
    fp0..fp7                                 (mantissa, exponent): physical x87
                                             registers, not the st(i) stack slots
    xmm0..xmm15                              int (128 bits)
    mxcsr                                    int
"""

from __future__ import annotations

from unicorn import x86_const as X

from .errors import UsageError
from .paging import U64

GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
REGISTER_FILE = GPRS + ("rip", "rflags")

UC_REGS = {name: getattr(X, f"UC_X86_REG_{name.upper()}") for name in REGISTER_FILE}
UC_REGS.update({
    "fs_base": X.UC_X86_REG_FS_BASE, "gs_base": X.UC_X86_REG_GS_BASE,
    "cs": X.UC_X86_REG_CS, "ss": X.UC_X86_REG_SS, "ds": X.UC_X86_REG_DS,
    "es": X.UC_X86_REG_ES, "fs": X.UC_X86_REG_FS, "gs": X.UC_X86_REG_GS,
    "cr3": X.UC_X86_REG_CR3,
})
for _n in ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp"):
    UC_REGS[_n] = getattr(X, f"UC_X86_REG_{_n.upper()}")
for _n in range(8, 16):
    UC_REGS[f"r{_n}d"] = getattr(X, f"UC_X86_REG_R{_n}D")
for _n in ("fpcw", "fpsw", "fptag", "fcs", "fip", "fds", "fdp", "fop", "mxcsr"):
    UC_REGS[_n] = getattr(X, f"UC_X86_REG_{_n.upper()}")
for _n in range(8):
    UC_REGS[f"fp{_n}"] = X.UC_X86_REG_FP0 + _n
for _n in range(16):
    UC_REGS[f"xmm{_n}"] = X.UC_X86_REG_XMM0 + _n

# The segment selectors a Linux x86-64 process sees (__USER_CS, __USER_DS).
# Unicorn runs flat 64-bit code without loading a GDT, so its own selectors are
# 0; tools show these instead, as gdb on Linux does.
LINUX_USER_SELECTORS = {"cs": 0x33, "ss": 0x2B, "ds": 0, "es": 0, "fs": 0, "gs": 0}

# RFLAGS bits worth naming.
FLAGS = (("CF", 0), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8), ("IF", 9),
         ("DF", 10), ("OF", 11))
RFLAGS_DF = 1 << 10
RFLAGS_RESERVED = 1 << 1         # always reads as 1


def flag_names(rflags: int) -> str:
    """'ZF PF' style list of the set flags."""
    return " ".join(name for name, bit in FLAGS if rflags >> bit & 1) or "-"


def parse_value(text: str, what: str) -> int:
    """An unsigned 64-bit value from '42', '0x2a', '0b101' or '-1' (two's complement)."""
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        raise UsageError(f"{what}: '{text}' is not a number") from None
    if not -(1 << 63) <= value <= U64:
        raise UsageError(f"{what}: {text} does not fit in 64 bits")
    return value & U64


def parse_assignment(text: str, allowed=REGISTER_FILE) -> tuple[str, int]:
    """('rcx', 3) from 'rcx=3'; UsageError naming the problem otherwise."""
    name, sep, value = text.partition("=")
    name = name.strip().lower()
    if not sep or not value.strip():
        raise UsageError(f"--reg {text}: expected NAME=VALUE, e.g. rcx=3")
    if name not in allowed:
        raise UsageError(f"--reg {text}: unknown register '{name}' "
                         f"(one of {', '.join(allowed)})")
    return name, parse_value(value.strip(), f"--reg {name}")

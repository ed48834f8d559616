"""Turning what stopped the CPU into a GuestFault that reads like a segfault report.

Unicorn tells the TLB-fill hook only the page-aligned address of a refused
access. The report wants the exact byte, so it is recomputed from the faulting
instruction: the effective address of its memory operand (base + index*scale +
disp, plus the FS/GS base), or the stack slot for push/pop/call/ret, or RIP
for a fetch. When that does not land in the refused page (an access that
straddles two pages), the page address is reported.
"""

from __future__ import annotations

import signal
from typing import NamedTuple

from kernel.process import SignalInfo

from . import disasm
from .errors import GuestFault, UnmappedAccess
from .mmu import RefusedAccess
from .paging import NOT_PRESENT, PAGE_4K, U64, page_align_down, page_offset
from .registers import UC_REGS

GENERAL_PROTECTION = "general protection fault"

# Exceptions Unicorn delivers to UC_HOOK_INTR: vector -> (reason, signal, trap).
# A trap (int3, int n) leaves RIP after the instruction; a fault leaves it on it.
VECTORS = {
    0: ("divide error", signal.SIGFPE, False),
    1: ("debug exception", signal.SIGTRAP, True),
    3: ("breakpoint (int3)", signal.SIGTRAP, True),
    4: ("overflow (into)", signal.SIGSEGV, True),
    5: ("bound range exceeded", signal.SIGSEGV, False),
    6: ("invalid instruction", signal.SIGILL, False),
    7: ("no FPU available", signal.SIGSEGV, False),
    8: ("double fault", signal.SIGSEGV, False),
    13: (GENERAL_PROTECTION, signal.SIGSEGV, False),
    16: ("x87 floating-point error", signal.SIGFPE, False),
    17: ("alignment check", signal.SIGBUS, False),
    19: ("SIMD floating-point error", signal.SIGFPE, False),
}

# si_code of a fault's signal, as Linux sets it: SEGV_MAPERR (no mapping) or
# SEGV_ACCERR (not allowed) for page faults, SI_KERNEL for a general protection
# fault (si_addr 0 then), else by signal: ILL_ILLOPN, FPE_INTDIV, BUS_ADRERR, TRAP_BRKPT.
SEGV_MAPERR, SEGV_ACCERR, SI_KERNEL = 1, 2, 0x80
FAULT_CODES = {signal.SIGILL: 2, signal.SIGFPE: 1, signal.SIGBUS: 2, signal.SIGTRAP: 1}


def signal_info(fault: GuestFault) -> SignalInfo:
    """What siginfo_t says about the signal a fault raises."""
    if fault.reason.startswith(GENERAL_PROTECTION):
        return SignalInfo(fault.signo, SI_KERNEL, 0)
    if fault.signo == signal.SIGSEGV:
        code = SEGV_MAPERR if fault.reason == NOT_PRESENT else SEGV_ACCERR
        return SignalInfo(fault.signo, code, fault.address & U64)
    return SignalInfo(fault.signo, FAULT_CODES.get(fault.signo, 0), fault.address & U64)


_STACK_PUSHES = {"push", "call", "pushfq", "pushf", "enter"}
_STACK_POPS = {"pop", "ret", "popfq", "popf", "leave", "iretq"}


class MemoryOperand(NamedTuple):
    """base + index*scale + disp (+ the FS or GS base): register names, or ""
    when absent; base "rip" means the address after the instruction."""
    base: str
    index: str
    scale: int
    disp: int
    segment: str


class Accesses(NamedTuple):
    """What a page-fault report needs of one decoded instruction: its text,
    its length, its memory operands, and how it uses the stack ("push",
    "pop" or ""). Decoding with capstone's details costs ~100 us, and a
    --on-fault handler sees the same instruction fault page after page, so
    these are kept per (address, bytes)."""
    text: str
    size: int
    memory: tuple[MemoryOperand, ...]
    stack: str


DECODED_KEPT = 1024            # instructions whose Accesses are kept


class FaultReporter:
    """Builds GuestFaults for one machine: `reg(name)` reads its registers,
    `describe(address)` names an address with the symbols in force."""

    def __init__(self, reg, mmu, describe):
        self._reg, self._mmu, self.describe = reg, mmu, describe
        self._decoded: dict[tuple[int, bytes], Accesses | None] = {}

    def _mode(self, user: bool | None = None) -> str:
        return "user" if (self._mmu.user if user is None else user) else "kernel"

    def _code_at(self, rip: int) -> bytes | None:
        try:
            return self._mmu.read_virtual(rip, disasm.MAX_INSN)
        except UnmappedAccess:
            try:   # the instruction may end on the page before an unmapped one
                return self._mmu.read_virtual(rip, PAGE_4K - page_offset(rip))
            except UnmappedAccess:
                return None

    def instruction_at(self, rip: int):
        """The decoded instruction at rip in the current address space, or None."""
        code = self._code_at(rip)
        return None if code is None else disasm.decode(code, rip, detail=True)

    def accesses_at(self, rip: int) -> Accesses | None:
        """The Accesses of the instruction at rip, or None when it cannot be
        read or decoded."""
        code = self._code_at(rip)
        if code is None:
            return None
        key = (rip, code)
        if key not in self._decoded:
            if len(self._decoded) >= DECODED_KEPT:
                self._decoded.clear()
            self._decoded[key] = _accesses(disasm.decode(code, rip, detail=True))
        return self._decoded[key]

    def page_fault(self, refused: RefusedAccess) -> GuestFault:
        rip = self._reg("rip")
        insn = self.accesses_at(rip)
        address = self._exact_address(refused, insn, rip)
        return GuestFault(address=address, access=refused.access, rip=rip,
                          reason=refused.reason, instruction=insn.text if insn else "",
                          mode=self._mode(refused.user), symbol=self.describe(rip))

    def exception(self, vector: int) -> GuestFault:
        """A CPU exception delivered to UC_HOOK_INTR (RIP as Unicorn left it)."""
        reason, signo, trap = VECTORS.get(vector, (f"interrupt {vector:#x}", signal.SIGSEGV, True))
        rip = self._reg("rip")
        if trap:
            rip = self._trap_origin(rip, vector)
        insn = self.instruction_at(rip)
        return GuestFault(address=rip, access=None, rip=rip, reason=reason,
                          instruction=disasm.text(insn) if insn else "", mode=self._mode(),
                          symbol=self.describe(rip), signo=signo)

    def other(self, reason: str, signo: int = signal.SIGSEGV, rip: int | None = None) -> GuestFault:
        """Any other stop the guest caused (invalid opcode, hlt, ...)."""
        rip = self._reg("rip") if rip is None else rip
        insn = self.instruction_at(rip)
        return GuestFault(address=rip, access=None, rip=rip, reason=reason,
                          instruction=disasm.text(insn) if insn else "", mode=self._mode(),
                          symbol=self.describe(rip), signo=signo)

    def _trap_origin(self, rip: int, vector: int) -> int:
        """RIP of the int3 / int n that trapped (RIP is already past it)."""
        for size in (1, 2):
            insn = self.instruction_at(rip - size)
            if insn is not None and insn.size == size and insn.mnemonic.startswith("int"):
                return rip - size
        return rip

    def _exact_address(self, refused: RefusedAccess, insn: Accesses | None, rip: int) -> int:
        page = refused.vaddr
        if refused.access == "fetch":
            return rip if page_align_down(rip) == page else page
        for candidate in self._candidates(insn, rip):
            if page_align_down(candidate) == page:
                return candidate
        return page

    def _candidates(self, insn: Accesses | None, rip: int) -> list[int]:
        if insn is None:
            return []
        found = [self._effective(op, rip + insn.size) for op in insn.memory]
        if insn.stack == "push":
            found.append((self._reg("rsp") - 8) & U64)
        elif insn.stack == "pop":
            found.append(self._reg("rsp"))
        return found

    def _effective(self, op: MemoryOperand, next_rip: int) -> int:
        address = op.disp
        if op.base == "rip":
            address += next_rip
        elif op.base:
            address += self._value(op.base)
        if op.index:
            address += self._value(op.index) * op.scale
        if op.segment:
            address += self._reg(f"{op.segment}_base")
        return address & U64

    def _value(self, name: str) -> int:
        return self._reg(name) if name in UC_REGS else 0


def _accesses(insn) -> Accesses | None:
    """The Accesses of a capstone instruction decoded with details (or None)."""
    from capstone.x86 import X86_OP_MEM, X86_REG_FS, X86_REG_GS, X86_REG_INVALID
    if insn is None:
        return None

    def name(reg_id: int) -> str:
        return "" if reg_id == X86_REG_INVALID else insn.reg_name(reg_id)
    memory = tuple(MemoryOperand(name(op.mem.base), name(op.mem.index), op.mem.scale,
                                 op.mem.disp, {X86_REG_FS: "fs", X86_REG_GS: "gs"}.get(
                                     op.mem.segment, ""))
                   for op in insn.operands if op.type == X86_OP_MEM)
    mnemonic = insn.mnemonic.split()[-1]
    stack = "push" if mnemonic in _STACK_PUSHES else "pop" if mnemonic in _STACK_POPS else ""
    return Accesses(disasm.text(insn), insn.size, memory, stack)

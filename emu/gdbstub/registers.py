"""The register file gdb sees: amd64 GNU/Linux numbering, read from the machine.

The `g` packet is every register below, in this order, each little-endian;
target.xml (tdesc.py) describes the same list, so the numbers must agree:

    number  registers                         bits  feature (org.gnu.gdb.i386.*)
    0..15   rax rbx rcx rdx rsi rdi rbp rsp    64   core
            r8 .. r15
    16      rip                                64   core
    17      eflags                             32   core
    18..23  cs ss ds es fs gs                  32   core
    24..31  st0 .. st7                         80   core     x87 stack, st0 = top
    32..39  fctrl fstat ftag fiseg fioff       32   core     x87 control
            foseg fooff fop
    40..55  xmm0 .. xmm15                     128   sse
    56      mxcsr                              32   sse
    57      orig_rax                           64   linux    no syscall restart here: -1
    58..59  fs_base gs_base                    64   segments

    g packet: 16*8 + 8 + 4 + 6*4 + 8*10 + 8*4 + 16*16 + 4 + 8 + 2*8 = 560 bytes

st(i) is the physical x87 register (top + i) mod 8, top being bits 13..11 of
fstat; the machine's fp0..fp7 are the physical registers, as (mantissa, exponent).
Segment selectors read as Linux's user-mode values (cs 0x33, ss 0x2b, the
others 0: registers.LINUX_USER_SELECTORS) and cannot be changed: a write must
leave them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..paging import U64
from ..registers import GPRS, LINUX_USER_SELECTORS
from .packets import E_REGISTER, PacketError

CORE = "org.gnu.gdb.i386.core"
SSE = "org.gnu.gdb.i386.sse"
LINUX = "org.gnu.gdb.i386.linux"
SEGMENTS = "org.gnu.gdb.i386.segments"

SELECTORS = ("cs", "ss", "ds", "es", "fs", "gs")
# gdb's name -> the machine's name (emu/registers.py)
X87_CONTROL = (("fctrl", "fpcw"), ("fstat", "fpsw"), ("ftag", "fptag"), ("fiseg", "fcs"),
               ("fioff", "fip"), ("foseg", "fds"), ("fooff", "fdp"), ("fop", "fop"))
PHYSICAL_FP = tuple(f"fp{i}" for i in range(8))
FSTAT_TOP_SHIFT, FSTAT_TOP_MASK = 11, 0x7
NO_SYSCALL = U64                    # orig_rax outside a system call (-1)


@dataclass(frozen=True)
class RegDef:
    """One register as target.xml names it and as the machine holds it.

    machine: the machine's register name, or None; st: the x87 stack slot
    for st0..st7."""
    name: str
    bits: int
    feature: str
    type: str
    group: str = ""
    machine: str | None = None
    st: int | None = None

    @property
    def size(self) -> int:
        return self.bits // 8


def _layout() -> tuple[RegDef, ...]:
    regs = [RegDef(n, 64, CORE, "data_ptr" if n in ("rbp", "rsp") else "int64", machine=n)
            for n in GPRS]
    regs.append(RegDef("rip", 64, CORE, "code_ptr", machine="rip"))
    regs.append(RegDef("eflags", 32, CORE, "i386_eflags", machine="rflags"))
    regs += [RegDef(n, 32, CORE, "int32") for n in SELECTORS]
    regs += [RegDef(f"st{i}", 80, CORE, "i387_ext", st=i) for i in range(8)]
    regs += [RegDef(n, 32, CORE, "int", "float", machine=m) for n, m in X87_CONTROL]
    regs += [RegDef(f"xmm{i}", 128, SSE, "vec128", machine=f"xmm{i}") for i in range(16)]
    regs.append(RegDef("mxcsr", 32, SSE, "i386_mxcsr", "vector", machine="mxcsr"))
    regs.append(RegDef("orig_rax", 64, LINUX, "int"))
    regs += [RegDef(n, 64, SEGMENTS, "int", machine=n) for n in ("fs_base", "gs_base")]
    return tuple(regs)


LAYOUT = _layout()
G_PACKET_SIZE = sum(r.size for r in LAYOUT)
NUMBERS = {r.name: i for i, r in enumerate(LAYOUT)}
RBP, RSP, RIP, FSTAT = NUMBERS["rbp"], NUMBERS["rsp"], NUMBERS["rip"], NUMBERS["fstat"]


def _fp80(mantissa_exponent) -> bytes:
    mantissa, exponent = mantissa_exponent
    return mantissa.to_bytes(8, "little") + exponent.to_bytes(2, "little")


class RegisterFile:
    """gdb's register numbers over one machine's CPU."""

    def __init__(self, machine):
        self._machine = machine
        self._orig_rax = NO_SYSCALL
        self._plain = [(i, r) for i, r in enumerate(LAYOUT) if r.machine is not None]

    # -- reading -----------------------------------------------------------------------------

    def read_all(self) -> bytes:
        """Every register in `g` order: G_PACKET_SIZE bytes."""
        names = [r.machine for _, r in self._plain] + list(PHYSICAL_FP)
        values = self._machine.read_regs(names)
        plain = dict(zip((i for i, _ in self._plain), values))
        physical = values[len(self._plain):]
        top = self._top(plain[FSTAT])
        out = bytearray()
        for number, reg in enumerate(LAYOUT):
            if reg.st is not None:
                out += _fp80(physical[(top + reg.st) % 8])
            elif reg.machine is not None:
                out += _int_bytes(plain[number], reg.size)
            else:
                out += _int_bytes(self._unstored(reg), reg.size)
        return bytes(out)

    def read(self, number: int) -> bytes:
        """One register's bytes; PacketError (E02) for an unknown number."""
        reg = self._reg(number)
        if reg.st is not None:
            return _fp80(self._machine.reg(self._physical(reg.st)))
        if reg.machine is not None:
            return _int_bytes(self._machine.reg(reg.machine), reg.size)
        return _int_bytes(self._unstored(reg), reg.size)

    def _unstored(self, reg: RegDef) -> int:
        """A register the CPU does not hold: a selector, or orig_rax."""
        return LINUX_USER_SELECTORS.get(reg.name, self._orig_rax)

    # -- writing -------------------------------------------------------------------------------

    def write(self, number: int, data: bytes) -> None:
        """Set one register from its `size` bytes. PacketError (E02) for an
        unknown number, a wrong size, or a change to a segment selector."""
        reg = self._reg(number)
        if len(data) != reg.size:
            raise PacketError(f"{reg.name} takes {reg.size} bytes, got {len(data)}", E_REGISTER)
        value = int.from_bytes(data, "little")
        if reg.st is not None:
            mantissa = int.from_bytes(data[:8], "little")
            exponent = int.from_bytes(data[8:], "little")
            self._machine.set_reg(self._physical(reg.st), (mantissa, exponent))
        elif reg.name in SELECTORS:
            if value != LINUX_USER_SELECTORS[reg.name]:
                raise PacketError(f"{reg.name}: segment selectors cannot be changed here",
                                  E_REGISTER)
        elif reg.machine is None:
            self._orig_rax = value
        else:
            self._machine.set_reg(reg.machine, value)

    def write_all(self, data: bytes) -> None:
        """Set every register from a `G` block (G_PACKET_SIZE bytes).

        The x87 stack slots are written after fstat, so st(i) means the new top."""
        if len(data) != G_PACKET_SIZE:
            raise PacketError(f"G: expected {G_PACKET_SIZE} bytes of registers, "
                              f"got {len(data)}")
        pieces, offset = [], 0
        for number, reg in enumerate(LAYOUT):
            pieces.append((number, data[offset:offset + reg.size]))
            offset += reg.size
        for number, piece in sorted(pieces, key=lambda p: LAYOUT[p[0]].st is not None):
            self.write(number, piece)

    # -- helpers -------------------------------------------------------------------------------

    def _reg(self, number: int) -> RegDef:
        if not 0 <= number < len(LAYOUT):
            raise PacketError(f"no register number {number:#x} (0..{len(LAYOUT) - 1:#x})",
                              E_REGISTER)
        return LAYOUT[number]

    def _top(self, fstat: int) -> int:
        return (fstat >> FSTAT_TOP_SHIFT) & FSTAT_TOP_MASK

    def _physical(self, slot: int) -> str:
        top = self._top(self._machine.reg("fpsw"))
        return PHYSICAL_FP[(top + slot) % 8]


def _int_bytes(value: int, size: int) -> bytes:
    return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

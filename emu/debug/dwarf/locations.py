"""Where a variable lives: DWARF location expressions and location lists, evaluated.

A location expression is a little stack machine (DWARF 5, section 2.5):

    DW_OP_fbreg -20                 memory at frame base - 20   (clang -O0: rbp - 20)
    DW_OP_reg3                      in register 3 (rbx)
    DW_OP_breg7 8; DW_OP_deref      memory at [rsp + 8]
    DW_OP_addr 0x4040 ;             a global
    DW_OP_lit5; DW_OP_stack_value   no storage: the value is 5
    DW_OP_reg0 DW_OP_piece 4 ...    split over several places
    DW_OP_entry_value(...)          the value a register had on entry: gone

A location list (-O2) gives a different expression for each range of pc, and
none at all where the variable is optimized out. evaluate() returns a
Location: memory (an address), register (a DWARF register number), value
(bytes), pieces, or optimized out. What it needs from the frame is a
FrameAccess: registers by DWARF number (None when the frame does not know
one), memory, the frame base and the CFA.

DWARF register numbers of x86-64 (psABI): 0 rax, 1 rdx, 2 rcx, 3 rbx, 4 rsi,
5 rdi, 6 rbp, 7 rsp, 8..15 r8..r15, 16 the return address (rip), 17..32
xmm0..xmm15.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from elftools.dwarf.dwarf_expr import DWARFExprParser

MASK = (1 << 64) - 1
DWARF_REGISTERS = ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
                   "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip") + \
    tuple(f"xmm{n}" for n in range(16))
REGISTER_NUMBERS = {name: n for n, name in enumerate(DWARF_REGISTERS)}
RSP, RBP, RIP = 7, 6, 16


class LocationError(Exception):
    """An expression this evaluator cannot follow (its message says which op)."""


@dataclass
class Location:
    """kind: memory, register, value, pieces, optimized."""
    kind: str
    address: int = 0
    register: int = 0
    value: bytes = b""
    pieces: list = field(default_factory=list)       # [(Location, size in bytes)]


OPTIMIZED_OUT = Location("optimized")


class FrameAccess:
    """What evaluating a location needs from one frame (subclassed by frames.py)."""

    def reg(self, number: int) -> int | None:
        raise NotImplementedError

    def read(self, address: int, size: int) -> bytes:
        raise NotImplementedError

    def frame_base(self) -> int | None:
        return None

    def cfa(self) -> int | None:
        return None


def evaluate(ops, frame: FrameAccess, structs=None, parser=None) -> Location:
    """The Location an expression (bytes, or ops already parsed) describes."""
    if isinstance(ops, (bytes, bytearray, list)) and (not ops or isinstance(ops[0], int)):
        if not ops:
            return OPTIMIZED_OUT
        ops = (parser or DWARFExprParser(structs)).parse_expr(ops)
    return _Machine(frame).run(ops)


def in_list(entries, pc: int, base: int):
    """The expression bytes a location list gives for `pc` (None: optimized out
    there). `base` is the CU's base address for DWARF 4 offset entries."""
    for entry in entries:
        if hasattr(entry, "base_address"):
            base = entry.base_address
            continue
        begin, end = entry.begin_offset, entry.end_offset
        if not entry.is_absolute:
            begin, end = begin + base, end + base
        if begin <= pc < end or (begin == end == -1):
            return entry.loc_expr
    return None


class _Machine:
    """One evaluation: the stack, and the location being built."""

    def __init__(self, frame: FrameAccess):
        self.frame = frame
        self.stack: list[int] = []
        self.pieces: list = []
        self.result: Location | None = None

    def run(self, ops) -> Location:
        for op in ops:
            name, args = op.op_name, op.args
            handler = _HANDLERS.get(name)
            if handler is not None:
                outcome = handler(self, args)
            elif name.startswith("DW_OP_lit"):
                outcome = self.stack.append(int(name[9:]))
            elif name.startswith("DW_OP_reg") and name[9:].isdigit():
                outcome = self._register(int(name[9:]))
            elif name.startswith("DW_OP_breg") and name[10:].isdigit():
                outcome = self._based(int(name[10:]), args[0])
            else:
                raise LocationError(f"unsupported DWARF operation {name}")
            if outcome is OPTIMIZED_OUT:
                return OPTIMIZED_OUT
        return self._finish()

    def _finish(self) -> Location:
        if self.pieces:
            if self.result is not None:
                self.pieces.append((self.result, 0))
            return Location("pieces", pieces=self.pieces)
        if self.result is not None:
            return self.result
        if not self.stack:
            return OPTIMIZED_OUT
        return Location("memory", address=self.stack[-1] & MASK)

    def _register(self, number: int):
        self.result = Location("register", register=number)

    def _based(self, number: int, offset: int):
        value = self.frame.reg(number)
        if value is None:
            return OPTIMIZED_OUT
        self.stack.append((value + offset) & MASK)

    def pop(self) -> int:
        if not self.stack:
            raise LocationError("DWARF expression stack underflow")
        return self.stack.pop()


def _binary(fn):
    def apply(m: _Machine, _args):
        b, a = m.pop(), m.pop()
        m.stack.append(fn(a, b) & MASK)
    return apply


def _signed(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def _fbreg(m: _Machine, args):
    base = m.frame.frame_base()
    if base is None:
        return OPTIMIZED_OUT
    m.stack.append((base + args[0]) & MASK)


def _cfa(m: _Machine, _args):
    cfa = m.frame.cfa()
    if cfa is None:
        return OPTIMIZED_OUT
    m.stack.append(cfa)


def _deref(m: _Machine, args):
    size = args[0] if args else 8
    m.stack.append(int.from_bytes(m.frame.read(m.pop(), size), "little"))


def _stack_value(m: _Machine, _args):
    m.result = Location("value", value=(m.pop() & MASK).to_bytes(8, "little"))


def _implicit(m: _Machine, args):
    m.result = Location("value", value=bytes(args[1]) if len(args) > 1 else bytes(args[0]))


def _piece(m: _Machine, args):
    part = m.result or (Location("memory", address=m.pop()) if m.stack else OPTIMIZED_OUT)
    m.pieces.append((part, args[0]))
    m.result = None


def _regx(m: _Machine, args):
    m._register(args[0])


def _bregx(m: _Machine, args):
    return m._based(args[0], args[1])


def _unavailable(_m: _Machine, _args):
    return OPTIMIZED_OUT           # DW_OP_entry_value: the value on entry is gone


def _const(m: _Machine, args):
    m.stack.append(args[0] & MASK)


def _pick(m: _Machine, args):
    m.stack.append(m.stack[-1 - args[0]])


def _swap(m: _Machine, _args):
    m.stack[-1], m.stack[-2] = m.stack[-2], m.stack[-1]


def _rot(m: _Machine, _args):
    m.stack[-1], m.stack[-2], m.stack[-3] = m.stack[-2], m.stack[-3], m.stack[-1]


_HANDLERS = {
    "DW_OP_addr": _const, "DW_OP_const1u": _const, "DW_OP_const2u": _const,
    "DW_OP_const4u": _const, "DW_OP_const8u": _const, "DW_OP_const1s": _const,
    "DW_OP_const2s": _const, "DW_OP_const4s": _const, "DW_OP_const8s": _const,
    "DW_OP_constu": _const, "DW_OP_consts": _const,
    "DW_OP_fbreg": _fbreg, "DW_OP_call_frame_cfa": _cfa,
    "DW_OP_regx": _regx, "DW_OP_bregx": _bregx,
    "DW_OP_deref": _deref, "DW_OP_deref_size": _deref,
    "DW_OP_stack_value": _stack_value, "DW_OP_implicit_value": _implicit,
    "DW_OP_piece": _piece,
    "DW_OP_entry_value": _unavailable, "DW_OP_GNU_entry_value": _unavailable,
    "DW_OP_GNU_parameter_ref": _unavailable,
    "DW_OP_dup": lambda m, a: m.stack.append(m.stack[-1]),
    "DW_OP_drop": lambda m, a: m.pop(),
    "DW_OP_over": lambda m, a: m.stack.append(m.stack[-2]),
    "DW_OP_pick": _pick, "DW_OP_swap": _swap, "DW_OP_rot": _rot,
    "DW_OP_plus_uconst": lambda m, a: m.stack.append((m.pop() + a[0]) & MASK),
    "DW_OP_plus": _binary(lambda a, b: a + b), "DW_OP_minus": _binary(lambda a, b: a - b),
    "DW_OP_mul": _binary(lambda a, b: a * b), "DW_OP_and": _binary(lambda a, b: a & b),
    "DW_OP_or": _binary(lambda a, b: a | b), "DW_OP_xor": _binary(lambda a, b: a ^ b),
    "DW_OP_shl": _binary(lambda a, b: a << b), "DW_OP_shr": _binary(lambda a, b: a >> b),
    "DW_OP_shra": _binary(lambda a, b: _signed(a) >> b),
    "DW_OP_div": _binary(lambda a, b: int(_signed(a) / _signed(b)) if b else 0),
    "DW_OP_mod": _binary(lambda a, b: a % b if b else 0),
    "DW_OP_eq": _binary(lambda a, b: int(a == b)), "DW_OP_ne": _binary(lambda a, b: int(a != b)),
    "DW_OP_lt": _binary(lambda a, b: int(_signed(a) < _signed(b))),
    "DW_OP_gt": _binary(lambda a, b: int(_signed(a) > _signed(b))),
    "DW_OP_le": _binary(lambda a, b: int(_signed(a) <= _signed(b))),
    "DW_OP_ge": _binary(lambda a, b: int(_signed(a) >= _signed(b))),
    "DW_OP_neg": lambda m, a: m.stack.append(-m.pop() & MASK),
    "DW_OP_not": lambda m, a: m.stack.append(~m.pop() & MASK),
    "DW_OP_abs": lambda m, a: m.stack.append(abs(_signed(m.pop()))),
    "DW_OP_nop": lambda m, a: None,
}


def read_location(location: Location, size: int, frame: FrameAccess) -> bytes | None:
    """`size` bytes of the value at `location`; None when optimized out or
    in a register the frame does not know."""
    if location.kind == "memory":
        return frame.read(location.address, size)
    if location.kind == "register":
        value = frame.reg(location.register)
        if value is None:
            return None
        width = 16 if location.register >= 17 else 8
        return value.to_bytes(width, "little")[:size].ljust(size, b"\0")
    if location.kind == "value":
        return location.value[:size].ljust(size, b"\0")
    if location.kind == "pieces":
        out = b""
        for part, piece_size in location.pieces:
            data = read_location(part, piece_size or size - len(out), frame)
            if data is None:
                return None
            out += data
        return out[:size].ljust(size, b"\0")
    return None

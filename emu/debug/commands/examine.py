"""x/NFU ADDR: examine memory through the process's page tables."""

import re

from ... import disasm
from ...errors import UnmappedAccess, UsageError
from ..asmtext import instruction_text
from ..dwarf.values import read_string, Reader
from .base import Command, CommandError

UNITS = {"b": 1, "h": 2, "w": 4, "g": 8}
PER_LINE = {1: 8, 2: 8, 4: 4, 8: 2}
_SPEC = re.compile(r"^/(\d*)([xduotacsi]?)([bhwg]?)([xduotacsi]?)$")


def _examine(repl, args: str):
    text = args.strip()
    count, fmt, unit = 1, repl.x_format, repl.x_unit
    if text.startswith("/"):
        spec, _, text = text.partition(" ")
        m = _SPEC.match(spec)
        if not m:
            raise CommandError(f"x: bad format '{spec}' (x/NFU: N count, F x d u o t a c s i, "
                               f"U b h w g)")
        count = int(m.group(1) or 1)
        fmt = m.group(2) or m.group(4) or fmt
        unit = m.group(3) or unit
    if not text:
        if repl.x_next is None:
            raise CommandError("x: which address? e.g. x/4gx $rsp")
        address = repl.x_next
    else:
        try:
            address = repl.dbg.evaluate(text)
        except UsageError as exc:
            raise CommandError(f"x: {exc}") from None
    repl.x_format, repl.x_unit = fmt, unit
    try:
        if fmt == "i":
            return _instructions(repl, address, count)
        if fmt == "s":
            return _strings(repl, address, count)
        return _words(repl, address, count, fmt, UNITS[unit])
    except UnmappedAccess as exc:
        raise CommandError(f"x: Cannot access memory at address {exc.vaddr:#x}") from None


def _words(repl, address, count, fmt, size):
    data = repl.dbg.target.read(address, count * size)
    values = [int.from_bytes(data[i:i + size], "little") for i in range(0, len(data), size)]
    repl.x_next = address + count * size
    out, per_line = [], PER_LINE[size]
    for i in range(0, len(values), per_line):
        row = address + i * size
        name = repl.dbg.describe(row)
        label = f"{row:#x}" + (f" <{name}>" if name else "")
        out.append(f"{label}:\t" + "\t".join(_format(v, fmt, size, repl) for v in
                                            values[i:i + per_line]))
    return out


def _format(value, fmt, size, repl):
    bits = 8 * size
    if fmt == "x":
        return f"0x{value:0{2 * size}x}"
    if fmt == "d":
        return str(value - (1 << bits) if value >> (bits - 1) else value)
    if fmt == "u":
        return str(value)
    if fmt == "o":
        return oct(value)
    if fmt == "t":
        return f"{value:0{bits}b}"
    if fmt == "c":
        return f"{value & 0xFF} {chr(value & 0xFF)!r}"
    if fmt == "a":
        name = repl.dbg.describe(value)
        return f"{value:#x}" + (f" <{name}>" if name else "")
    return hex(value)


def _strings(repl, address, count):
    """x/s: C strings as gdb quotes them: 0x402010:\t"hello\\n"."""
    reader = Reader(repl.dbg.target.read, repl.dbg.describe)
    out = []
    for _ in range(count):
        text = read_string(reader, address)
        name = repl.dbg.describe(address)
        label = f"{address:#x}" + (f" <{name}>" if name else "")
        out.append(f"{label}:\t{text}")
        length = 0
        while length < 4096 and repl.dbg.target.read(address + length, 1) != b"\0":
            length += 1
        address += length + 1
    repl.x_next = address
    return out


def _instructions(repl, address, count):
    code = repl.dbg.target.read(address, count * disasm.MAX_INSN) if count else b""
    out = []
    rip = repl.dbg.target.rip
    for insn in disasm.decode_many(code, address, count):
        name = repl.dbg.describe(insn.address)
        mark = "=> " if insn.address == rip else "   "
        out.append(f"{mark}{insn.address:#x}" + (f" <{name}>" if name else "") +
                   f":\t{instruction_text(insn, repl.dbg.describe)}")
        repl.x_next = insn.address + insn.size
    return out


def _disassemble(repl, args: str):
    text = args.strip()
    dbg = repl.dbg
    try:
        address = dbg.evaluate(text) if text else dbg.target.rip
    except UsageError as exc:
        raise CommandError(f"disassemble: {exc}") from None
    function = dbg.info.function_at(address)
    start, end = (function.start, function.end) if function else (address, address + 64)
    try:
        code = dbg.target.read(start, min(end - start, 4096))
    except UnmappedAccess as exc:
        raise CommandError(f"disassemble: Cannot access memory at address {exc.vaddr:#x}") from None
    title = f"Dump of assembler code for function {function.name}:" if function else \
        f"Dump of assembler code from {start:#x} to {end:#x}:"
    rip = dbg.target.rip
    out = [title]
    for insn in disasm.decode_many(code, start):
        offset = f"<+{insn.address - start}>"
        mark = "=> " if insn.address == rip else "   "
        out.append(f"{mark}{insn.address:#x} {offset:<8}\t"
                   f"{instruction_text(insn, dbg.describe)}")
    return out + ["End of assembler dump."]


X = Command("x", _examine, "examine memory (virtual addresses, through the page tables)",
            "x/NFU ADDRESS   N count; F x d u o t a c s i; U b h w g\nExamples:\n"
            "  x/4gx $rsp\n  x/s 0x402000\n  x/8i $rip\n  x/16xb $rdi")
DISASSEMBLE = Command("disassemble", _disassemble, "disassemble a function (the current one by default)",
                      "disassemble [ADDRESS]\nExamples:\n  disassemble\n  disas mm_malloc",
                      aliases=("disas",))

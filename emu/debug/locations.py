"""Where a breakpoint goes: gdb's location specs turned into addresses.

    *EXPR            the address the expression gives           *0x401136, *$rip + 4
    FUNCTION         after its frame set-up; and, when the compiler inlined it,
                     the start of every inlined copy (one location each)
    FILE:LINE        the first code of that line in each function that has it
                     (C files from DWARF, .asm files linked or standalone)
    LINE             a line of the current file (the selected frame's, else main's)

resolve() returns the Places, or raises UsageError saying what was not found.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import disasm
from ..errors import UnmappedAccess, UsageError


@dataclass(frozen=True)
class Place:
    address: int
    description: str          # what `info breakpoints` shows in What
    inlined: bool = False
    also: tuple = ()          # more ways into the same inlined copy (see entries())


def resolve(dbg, spec: str) -> list[Place]:
    spec = spec.strip()
    if not spec:
        raise UsageError("a location is needed: FUNCTION, FILE:LINE, LINE or *ADDRESS")
    if spec.startswith("*"):
        address = dbg.evaluate(spec[1:])
        return [Place(address, f"{address:#x}")]
    if ":" in spec:
        file, _, line = spec.rpartition(":")
        return _file_line(dbg, file, line, spec)
    if spec.isdigit():
        return _file_line(dbg, _current_file(dbg, spec), spec, spec)
    return _function(dbg, spec)


def _current_file(dbg, spec: str) -> str:
    frame = dbg.selected_frame() if dbg.target.alive else None
    line = frame.line if frame is not None else dbg.info.line_at(dbg.target.rip)
    if line is None:
        main = dbg.info.function_named("main")
        line = dbg.info.line_at(main.start) if main is not None else None
    if line is None:
        raise UsageError(f"no source file here to find line {spec} in")
    return line.file


def _file_line(dbg, file: str, line_text: str, spec: str) -> list[Place]:
    try:
        line = int(line_text)
    except ValueError:
        raise UsageError(f"'{spec}': the line must be a number") from None
    actual = dbg.info.nearest_line(file, line)
    if actual is None:
        raise UsageError(f"no code at or after line {line} of '{file}'")
    first_in_function: dict = {}
    for address in dbg.info.addresses_of(file, actual):
        function = dbg.info.function_at(address)
        key = function.start if function is not None else address
        first_in_function.setdefault(key, address)
        first_in_function[key] = min(first_in_function[key], address)
    name = file.rsplit("/", 1)[-1]
    return [Place(a, f"{name}:{actual}") for a in sorted(first_in_function.values())]


def _function(dbg, name: str) -> list[Place]:
    places = []
    function = dbg.info.function_named(name)
    if function is not None:
        places.append(Place(after_prologue(dbg, function.start), name))
    if dbg.dwarf is not None:
        for copy in dbg.dwarf.inlined(name):
            ways_in = entries(dbg, copy)
            if all(p.address != ways_in[0] for p in places):
                places.append(Place(ways_in[0], name, inlined=True, also=tuple(ways_in[1:])))
    if places:
        return places
    value = dbg.symbols.get(name)
    if value is None:
        try:
            value = int(name, 0)
        except ValueError:
            raise UsageError(f"no symbol '{name}' in the program") from None
    return [Place(value, name)]


def entries(dbg, copy) -> list[int]:
    """The addresses where execution enters an inlined copy, its entry pc
    first. Optimized code may jump past the copy's first instruction (clang
    lays out `jmp` into the middle of it), so the function holding it is
    disassembled and every branch from outside into the copy's ranges, and
    every fall-through into one of them, is an entry too."""
    found = [copy.entry_pc]
    function = copy.function()
    while function.parent is not None:
        function = function.parent
    for lo, hi in function.ranges:
        try:
            code = dbg.target.read(lo, hi - lo)
        except UnmappedAccess:
            continue
        previous = None
        for insn in disasm.decode_many(code, lo):
            inside = copy.contains(insn.address)
            if inside and previous is not None and not copy.contains(previous.address) and \
                    previous.mnemonic not in ("jmp", "ret", "ud2"):
                found.append(insn.address)
            target = _branch_target(insn)
            if target is not None and not inside and copy.contains(target):
                found.append(target)
            previous = insn
    return list(dict.fromkeys(found))


def _branch_target(insn) -> int | None:
    if not (insn.mnemonic.startswith("j") or insn.mnemonic == "loop"):
        return None
    try:
        return int(insn.op_str, 0)
    except ValueError:
        return None                        # an indirect jump


def after_prologue(dbg, start: int) -> int:
    """Where `break FUNCTION` goes: after the frame set-up (push rbp; mov
    rbp, rsp; pushes of saved registers; sub rsp), which every call runs
    through. Programs here keep frame pointers, so this is reliable where
    reading the line table is not (-O2 moves lines out of order)."""
    try:
        code = dbg.target.read(start, 64)
    except UnmappedAccess:
        return start
    address = start
    insns = disasm.decode_many(code, start, 16)
    for insn in insns:
        text = disasm.text(insn)
        if text == "push rbp" or text == "mov rbp, rsp" or \
                (insn.mnemonic == "push" and address > start) or \
                (insn.mnemonic == "sub" and insn.op_str.startswith("rsp,")):
            address = insn.address + insn.size
            continue
        break
    return _first_body_line(dbg, address, insns)


def _first_body_line(dbg, address: int, insns) -> int:
    """Move on to the first instruction of the body's first line when it
    follows in straight-line code (no branch on the way), as gdb reports it."""
    info = dbg.info
    opening = info.line_at(address)
    if opening is None:
        return address
    for insn in insns:
        if insn.address < address:
            continue
        line = info.line_at(insn.address)
        if line is not None and line != opening and info.is_row_start(insn.address):
            return insn.address
        if insn.mnemonic.startswith(("j", "call", "ret", "loop")):
            break
    return address

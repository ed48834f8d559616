"""The context display shown after every stop, like pwndbg's: pure functions
returning lines, put together by context_lines()."""

from __future__ import annotations

from pathlib import Path

from .. import disasm
from ..errors import UnmappedAccess
from ..paging import PAGE_4K, page_offset
from ..views import register_lines
from .asmtext import instruction_text

RULE = "─" * 72
CODE_BEFORE, CODE_AFTER = 3, 6
SOURCE_AROUND = 3
STACK_WORDS = 8


def section(title: str) -> str:
    return f"──[ {title} ]" + "─" * max(0, 72 - len(title) - 6)


def registers_section(dbg, previous: dict | None) -> list[str]:
    regs = dbg.target.registers()
    changed = {n for n, v in regs.items() if previous is not None and previous.get(n) != v}
    return [section("registers")] + register_lines(regs, changed)


def code_section(dbg) -> list[str]:
    rip = dbg.target.rip
    lines = [section("code")]
    for insn in _instructions_around(dbg, rip):
        mark = "→" if insn.address == rip else " "
        where = dbg.describe(insn.address)
        where = f" <{where}>" if where else ""
        lines.append(f" {mark} {insn.address:#x}{where:<24} "
                     f"{instruction_text(insn, dbg.describe)}")
    if len(lines) == 1:
        lines.append(f" → {rip:#x}: (cannot read the code here)")
    return lines


def _instructions_around(dbg, rip: int):
    """A few instructions before rip (decoded from the function start) and after."""
    function = dbg.info.function_at(rip)
    before = []
    if function is not None and function.start < rip and rip - function.start < 4096:
        try:
            code = dbg.target.read(function.start, rip - function.start)
            before = [i for i in disasm.decode_many(code, function.start)
                      if i.address + i.size <= rip][-CODE_BEFORE:]
            if before and before[-1].address + before[-1].size != rip:
                before = []          # rip is not on an instruction boundary we decoded
        except UnmappedAccess:
            before = []
    after = []
    for length in (CODE_AFTER * disasm.MAX_INSN, PAGE_4K - page_offset(rip)):
        try:
            after = disasm.decode_many(dbg.target.read(rip, length), rip, CODE_AFTER)
            break
        except UnmappedAccess:
            continue
    return before + after


def source_section(dbg) -> list[str]:
    line = dbg.info.line_at(dbg.target.rip)
    if line is None:
        return []
    text = read_source(line.path)
    if text is None:
        return [section(f"source {line.file}:{line.line}"), f"   (source not found: {line.path})"]
    out = [section(f"source {line.file}:{line.line}")]
    first = max(1, line.line - SOURCE_AROUND)
    for number in range(first, min(len(text), line.line + SOURCE_AROUND) + 1):
        mark = "→" if number == line.line else " "
        out.append(f" {mark} {number:5}  {text[number - 1]}")
    return out


def read_source(path: str) -> list[str] | None:
    try:
        return Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return None


def stack_section(dbg) -> list[str]:
    rsp = dbg.target.registers()["rsp"]
    out = [section("stack")]
    for i in range(STACK_WORDS):
        address = rsp + 8 * i
        try:
            value = dbg.target.read_u64(address)
        except UnmappedAccess:
            break
        name = dbg.describe(value)
        note = f"  <{name}>" if name else ""
        label = "rsp" if i == 0 else f"+{8 * i:#x}"
        out.append(f"  {label:>5} {address:#x}: {value:#018x}{note}")
    return out


def context_lines(dbg, previous: dict | None) -> list[str]:
    if not dbg.target.alive:
        return []
    return (registers_section(dbg, previous) + code_section(dbg) + source_section(dbg)
            + stack_section(dbg) + [RULE])

"""Instructions as the debugger shows them: RIP-relative operands name what they reach.

    mov rax, qword ptr [rip + 0x1fb2]        # 0x405010 <free_list>

as gdb's disassembly annotates them (`# 0x405010 <free_list>`), so a student
stepping through an asm allocator sees which label an instruction reads.
"""

from __future__ import annotations

import re

from .. import disasm

RIP_RELATIVE = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+|\d+)\]")
COMMENT_COLUMN = 40


def rip_target(insn) -> int | None:
    """The address a [rip + disp] operand reaches (rip is the next instruction)."""
    m = RIP_RELATIVE.search(insn.op_str)
    if m is None:
        return None
    disp = int(m.group(2), 0)
    return insn.address + insn.size + (disp if m.group(1) == "+" else -disp)


def instruction_text(insn, describe) -> str:
    """'mnemonic operands', with `# ADDR <symbol>` after a RIP-relative operand."""
    text = disasm.text(insn)
    target = rip_target(insn)
    if target is None:
        return text
    name = describe(target)
    note = f"# {target:#x}" + (f" <{name}>" if name else "")
    return f"{text:<{COMMENT_COLUMN}} {note}"

"""Judging our assembler against NASM's recorded verdict on one form.

    verdict(form, record) -> Verdict("identical" | "equivalent" | "refused" | failure)

identical    our bytes are NASM's bytes
equivalent   NASM's bytes differ, but decode (capstone) to the same instructions,
             each of the same length, so every later address is NASM's too
refused      NASM refuses the form and so do we (an AssemblyError)
deliberate   NASM accepts the form, we refuse it on purpose: DELIBERATE lists
             each such form with the reason

Anything else is a failure: different instructions, a form NASM refuses and
we accept, a form NASM accepts and we refuse, or any other exception.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from capstone import CS_ARCH_X86, CS_MODE_64, Cs

from emu.assembler import assemble
from emu.errors import AssemblyError

from .forms import BASE, source

REFERENCE = Path(__file__).resolve().parent / "reference"
PASSING = ("identical", "equivalent", "refused", "deliberate")

# Forms NASM accepts and we refuse on purpose, and why.
DELIBERATE = {
    "lock mov rax, rbx": "lock on an instruction that cannot be locked raises #UD when run; "
                         "NASM only warns",
    "lock nop": "lock on an instruction that cannot be locked raises #UD when run; "
                "NASM only warns",
    "pop cs": "NASM emits the lone byte 0f (half of a two-byte opcode), with a warning",
    "ud1": "NASM emits 0f b9 without the ModRM byte ud1 needs",
    "jmp far [rax]": "far jumps and calls through memory are not supported",
    "push word 5": "keystone cannot encode a 16-bit push of a value",
    "bnd ret": "keystone cannot encode MPX's bnd prefix",
    "xacquire lock add [rax], ebx": "keystone cannot encode HLE's xacquire prefix",
    "bits 32": "the machine runs 64-bit code only",
    "bits 16": "the machine runs 64-bit code only",
    "a:\na:": "a label defined twice is refused, even at the same address",
    "db 'it''s'": "NASM reads two adjacent strings and keeps one byte of a product of "
                  "them, with a warning",
    "o64 nop": "o64 is taken only before sysret, sysexit and iret",
}

# Forms on which NASM warns and we do not, because the warning is wrong, and why.
SPURIOUS_WARNINGS = {
    "lock xchg rbx, [rax]": "NASM says lock does not apply to this operand order; the CPU "
                            "locks xchg with memory either way (the bytes are the same)",
}

_CS = Cs(CS_ARCH_X86, CS_MODE_64)


@dataclass
class Verdict:
    kind: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.kind in PASSING


def load_forms() -> list[dict]:
    lines = (REFERENCE / "forms.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def ours(form: str):
    """(.text bytes, warnings) from our assembler, or the exception it raised
    (a form uses no other section)."""
    records = []
    handler = _Collect(records)
    logger = logging.getLogger("emu.assembler")
    logger.addHandler(handler)
    try:
        program = assemble(source(form), file="form.asm", base=BASE)
    except Exception as exc:                          # judged by the caller
        return exc, records
    finally:
        logger.removeHandler(handler)
    return bytes(program.section(".text").data), records


class _Collect(logging.Handler):
    def __init__(self, records):
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record):
        self.records.append(record.getMessage())


def decode(data: bytes) -> list[tuple[int, str]]:
    """(size, 'mnemonic operands') of each instruction; undecodable bytes as .byte."""
    out, pos = [], 0
    while pos < len(data):
        insn = next(_CS.disasm(data[pos:], BASE + pos, 1), None)
        if insn is None:
            out.append((1, f".byte {data[pos]:#x}"))
            pos += 1
            continue
        out.append((insn.size, f"{insn.mnemonic} {insn.op_str}".strip()))
        pos += insn.size
    return out


def verdict(record: dict) -> Verdict:
    """How our assembler does on one recorded form."""
    result, warnings = ours(record["form"])
    if isinstance(result, AssemblyError):
        if "error" in record:
            return Verdict("refused", str(result))
        if record["form"] in DELIBERATE:
            return Verdict("deliberate", str(result))
        return Verdict("we refuse", f"{result} (NASM: {record['bytes']})")
    if isinstance(result, Exception):
        return Verdict("crash", f"{type(result).__name__}: {result}")
    if "error" in record:
        return Verdict("we accept", f"{result.hex()} (NASM: {record['error']})")
    theirs = bytes.fromhex(record["bytes"])
    if record.get("warnings") and not warnings and record["form"] not in SPURIOUS_WARNINGS:
        return Verdict("no warning", f"NASM: {record['warnings'][0]}")
    if result == theirs:
        return Verdict("identical")
    if decode(result) == decode(theirs):
        return Verdict("equivalent", f"{result.hex()} vs NASM {theirs.hex()}")
    return Verdict("wrong", f"{result.hex()} {decode(result)} vs NASM {theirs.hex()} "
                            f"{decode(theirs)}")


# -- whole programs ---------------------------------------------------------------------

PROGRAMS = Path(__file__).resolve().parent / "programs"


def load_programs() -> dict[str, dict]:
    return json.loads((REFERENCE / "programs.json").read_text())


def program_verdict(name: str, record: dict) -> Verdict:
    """A whole program: NASM's image byte for byte, and every label NASM's map
    lists at the same address (macro-made ..@ labels are numbered differently)."""
    path = PROGRAMS / name
    try:
        program = assemble(path.read_text(), file=str(path), base=BASE, page_aligned=True)
    except AssemblyError as exc:
        return Verdict("we refuse", str(exc))
    theirs = bytes.fromhex(record["bytes"])
    image = program.image()
    if image[:len(theirs)] != theirs or any(image[len(theirs):]):
        where = next((i for i, (a, b) in enumerate(zip(image, theirs)) if a != b),
                     min(len(image), len(theirs)))
        return Verdict("wrong", f"first difference at {BASE + where:#x}: ours "
                                f"{image[where:where + 8].hex()}, NASM's "
                                f"{theirs[where:where + 8].hex()}")
    for label, address in record["symbols"].items():
        if label.startswith("..@"):
            continue
        if program.symbols.get(label) != address:
            return Verdict("wrong", f"label {label}: ours {program.symbols.get(label)}, "
                                    f"NASM's {address:#x}")
    return Verdict("identical")

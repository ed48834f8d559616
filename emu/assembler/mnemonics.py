"""Instruction names: which words are instructions, and what each is called
by NASM, by keystone and by capstone.

NASM, keystone (LLVM's Intel syntax) and capstone mostly agree on names, but
not everywhere:

    NASM            keystone is given       capstone decodes it as
    jz / cmovz / setz  (the same)           je / cmove / sete     condition aliases
    loopz / loopnz  loope / loopne          loope / loopne
    sal             (the same)              shl
    retn            ret                     ret
    pushf / popf    pushfq / popfq          pushfq / popfq        keystone's pushf is 16-bit
    pushfw / popfw  pushf / popf            pushf / popf
    iret            iretd                   iretd                 NASM's iret is 32-bit
    sysret, sysexit sysret, sysexit         sysret, sysexit       keystone adds REX.W:
                                                                  the encoder drops it
    int01, icebp    int1                    int1
    wait, fwait     wait                    wait
    movsd, cmpsd    with their string operands when written bare  movsd, cmpsd
    movsx r64, r/m32   movsxd               movsxd

KNOWN is every word that starts an instruction: capstone's names, minus the
AT&T-style names NASM does not know (a lone `sysretq` is a label to NASM),
plus NASM's own spellings. A word that is not in KNOWN at the start of a
line is a label, as in NASM.
"""

from __future__ import annotations

from capstone import CS_ARCH_X86, CS_MODE_64, Cs
from capstone.x86_const import X86_INS_ENDING

# condition code aliases -> the name capstone prints
CONDITIONS = {"o": "o", "no": "no", "b": "b", "c": "b", "nae": "b", "nb": "ae", "nc": "ae",
              "ae": "ae", "e": "e", "z": "e", "ne": "ne", "nz": "ne", "be": "be", "na": "be",
              "nbe": "a", "a": "a", "s": "s", "ns": "ns", "p": "p", "pe": "p", "np": "np",
              "po": "np", "l": "l", "nge": "l", "nl": "ge", "ge": "ge", "le": "le", "ng": "le",
              "nle": "g", "g": "g"}

# capstone names that NASM does not know as instructions (found by giving each
# of capstone's names to nasm alone on a line: it made a label of these)
NOT_NASM = {"data16", "fcmovnp", "fcompi", "fdisi8087_nop", "feni8087_nop", "fstpnce",
            "fucompi", "lcall", "ljmp", "movabs", "pmulhrw", "popal", "pushal", "rex64",
            "sysexitq", "sysretq", "vcmp", "vp4dpwssd", "vp4dpwssds", "vpcmp", "vpcom",
            "vpermil2pd", "vpermil2ps"}

# NASM spelling -> (what keystone is given, what capstone decodes)
RENAMES = {"loopz": ("loope", "loope"), "loopnz": ("loopne", "loopne"),
           "sal": ("sal", "shl"), "retn": ("ret", "ret"),
           "pushf": ("pushfq", "pushfq"), "popf": ("popfq", "popfq"),
           "pushfw": ("pushf", "pushf"), "popfw": ("popf", "popf"),
           "iret": ("iretd", "iretd"), "int01": ("int1", "int1"), "icebp": ("int1", "int1"),
           "fwait": ("wait", "wait"), "xlat": ("xlatb", "xlatb")}

# instructions keystone only encodes with a REX.W prefix NASM does not emit
DROP_REX_W = {"sysret", "sysexit"}

# written bare, these are string instructions, not the SSE ones of the same name
BARE_STRING = {"movsd": "dword ptr [rdi], dword ptr [rsi]"}

# string instructions: their operands are implied (rdi, rsi, rax); keystone
# crashes the process when given memory operands for them
STRING = {stem + size for stem in ("movs", "stos", "lods", "scas", "cmps") for size in "bwdq"} \
    | {"insb", "insw", "insd", "outsb", "outsw", "outsd", "xlatb", "xlat"}

# o64/o32 choose the operand size of the returns that have both (o64 sysret is
# the return to 64-bit user code: 48 0f 07)
OPERAND_SIZE = {"o64": {"sysret": "sysretq", "sysexit": "sysexitq", "iret": "iretq"},
                "o32": {"sysret": "sysret", "sysexit": "sysexit", "iret": "iretd"}}

PREFIXES = {"rep", "repe", "repz", "repne", "repnz", "lock", "o64", "o32"}
PREFIX_GROUPS = {"rep": "rep", "repe": "rep", "repz": "rep", "repne": "repne",
                 "repnz": "repne", "lock": "lock"}
UNSUPPORTED_PREFIXES = {"xacquire", "xrelease", "bnd", "notrack", "o16",
                        "a16", "a32", "a64", "rex", "wait"}

# branches whose operand is a target address
SHORT_ONLY = {"loop", "loope", "loopne", "loopz", "loopnz", "jrcxz", "jecxz", "jcxz"}
JUMPS = {"jmp", "call"} | {"j" + cc for cc in CONDITIONS} | SHORT_ONLY


def _capstone_names() -> set[str]:
    cs = Cs(CS_ARCH_X86, CS_MODE_64)
    names = set()
    for number in range(1, X86_INS_ENDING):
        name = cs.insn_name(number)
        if name:
            names.add(name)
    return names


def _known() -> frozenset[str]:
    names = _capstone_names() - NOT_NASM
    for cc in CONDITIONS:
        names |= {"j" + cc, "set" + cc, "cmov" + cc}
    names |= set(RENAMES) | {"int1", "int3", "ud0", "ud1", "ud2", "sysret", "sysexit",
                            "retf", "iretw", "iretd", "iretq"}
    return frozenset(names)


KNOWN = _known()


def is_instruction(word: str) -> bool:
    return word.lower() in KNOWN


def keystone_name(name: str) -> str:
    """What to hand keystone for NASM mnemonic `name` (lower case)."""
    if name in RENAMES:
        return RENAMES[name][0]
    return name


def capstone_name(name: str) -> str:
    """The name capstone gives the instruction NASM calls `name`."""
    if name in RENAMES:
        return RENAMES[name][1]
    for stem in ("cmov", "set", "j"):
        if name.startswith(stem) and name[len(stem):] in CONDITIONS:
            return stem + CONDITIONS[name[len(stem):]]
    return name

"""A seeded generator of NASM instruction forms for the differential test.

    forms(seed=SEED) -> ["mov rax, [rbp + rsp*1]", "a: times 130 nop\\njmp a", ...]

Each form is a small NASM snippet assembled on its own in one .text section
at BASE (NASM: `bits 64`, `org BASE`, `-f bin`). Some forms are valid, some
are not: NASM's verdict, bytes or error, is the reference either way.

The families follow issue 9, part 4: every GPR size, memory operands with
every base/index/scale/displacement shape (rsp, r12, r13 and rbp included,
absolute and [rel label]), immediates at size boundaries, SSE moves, string
operations with rep, shifts and rotates by 1/cl/imm, 3-operand imul,
movzx/movsx, cmov/setcc, bt*, push/pop, jumps and calls forward and back,
data directives, times/align/equ/%define/$/$$, and mistakes people make.
A family lists its systematic cases first, then adds random ones drawn
from `random.Random(seed)`, so the set is the same on every machine. The
families of data, preprocessor and syntax forms are in forms_text.py.
"""

from __future__ import annotations

import random

from .forms_text import data, preprocessor, syntax

SEED = 2026
BASE = 0x400000

GPR64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
         "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
GPR32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
         "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"]
GPR16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
         "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"]
GPR8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
        "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"]
HIGH8 = ["ah", "ch", "dh", "bh"]
BY_SIZE = {8: GPR8 + HIGH8, 16: GPR16, 32: GPR32, 64: GPR64}
SIZE_WORD = {8: "byte", 16: "word", 32: "dword", 64: "qword"}

ALU = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"]
SHIFTS = ["rol", "ror", "rcl", "rcr", "shl", "sal", "shr", "sar"]
CONDITIONS = ["o", "no", "b", "c", "nae", "nb", "nc", "ae", "e", "z", "ne", "nz",
              "be", "na", "nbe", "a", "s", "ns", "p", "pe", "np", "po",
              "l", "nge", "nl", "ge", "le", "ng", "nle", "g"]
BOUNDARIES = [0, 1, -1, 2, 127, 128, -128, -129, 255, 256, 0x7FFF, 0x8000, -0x8000,
              -0x8001, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, -0x80000000,
              -0x80000001, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF,
              -0x8000000000000000, 0xFFFFFFFFFFFFFFFF]
DISPLACEMENTS = [0, 1, -1, 8, 127, 128, -128, -129, 0x1000, 0x7FFFFFFF, -0x80000000]
SSE_MOVES = ["movaps", "movups", "movapd", "movupd", "movdqa", "movdqu"]
SSE_ARITH = ["addss", "addsd", "subss", "subsd", "mulss", "mulsd", "divss", "divsd",
             "sqrtss", "sqrtsd", "minsd", "maxsd", "addps", "addpd", "mulps", "xorps",
             "andps", "andpd", "orps", "pxor", "pand", "por", "paddd", "paddq", "psubb",
             "pcmpeqb", "pminub", "punpcklbw", "comiss", "comisd", "ucomiss", "ucomisd"]
NO_OPERANDS = ["nop", "hlt", "ret", "leave", "cqo", "cdq", "cdqe", "cwd", "cbw", "cwde",
               "clc", "stc", "cmc", "cld", "std", "cli", "sti", "int3", "int1", "syscall",
               "sysret", "sysretq", "sysenter", "iret", "iretd", "iretq", "cpuid", "rdtsc",
               "rdtscp", "pause", "lfence", "mfence", "sfence", "ud2", "xlatb", "lahf",
               "sahf", "pushf", "popf", "pushfq", "popfq", "pushfw", "popfw", "swapgs",
               "wbinvd", "rdmsr", "wrmsr", "xgetbv", "retf", "retn", "movsb", "movsw",
               "movsd", "movsq", "stosb", "stosw", "stosd", "stosq", "lodsb", "lodsw",
               "lodsd", "lodsq", "scasb", "scasw", "scasd", "scasq", "cmpsb", "cmpsw",
               "cmpsd", "cmpsq", "insb", "outsb", "fninit", "fwait", "emms", "rsm",
               "clts", "invd", "monitor", "mwait", "ud1", "cwd", "int 0x80", "int 3"]
STRING_OPS = ["movs", "stos", "lods", "scas", "cmps"]


def forms(seed: int = SEED) -> list[str]:
    """Every form, in a fixed order; the same list for the same seed."""
    rng = random.Random(seed)
    out: list[str] = []
    for family in FAMILIES:
        out += family(rng)
    seen, unique = set(), []
    for form in out:
        if form not in seen:
            seen.add(form)
            unique.append(form)
    return unique


# -- pieces ---------------------------------------------------------------------------

def number(value: int, rng: random.Random) -> str:
    """`value` written in one of NASM's notations."""
    if value < 0:
        return "-" + number(-value, rng) if rng.random() < 0.8 else str(value)
    style = rng.randrange(6)
    if style == 0:
        return hex(value)
    if style == 1:
        return f"{value:x}h" if f"{value:x}"[0].isdigit() else f"0{value:x}h"
    if style == 2 and value < 1 << 16:
        return f"0b{value:b}"
    if style == 3 and value >= 1000:
        return f"{value:_}"
    return str(value)


def memory(rng: random.Random, base=None, index=None, scale=None, disp=None,
           size: str = "") -> str:
    """A memory operand written in one of the orders people use."""
    base = rng.choice(GPR64 + [None, None]) if base is None else base or None
    index = rng.choice(GPR64 + [None] * 6) if index is None else index or None
    if scale is None:
        scale = rng.choice([1, 1, 2, 4, 8, None])
    disp = rng.choice(DISPLACEMENTS) if disp is None else disp
    terms = []
    if base:
        terms.append(base)
    if index:
        terms.append(f"{index}*{scale}" if scale else index)
        if rng.random() < 0.15 and scale:
            terms[-1] = f"{scale}*{index}"
    if disp or not terms:
        terms.append(str(disp))
    if rng.random() < 0.3:
        rng.shuffle(terms)
    body = ""
    for i, term in enumerate(terms):
        if i and term.startswith("-"):
            body += " - " + term[1:]
        else:
            body += (" + " if i else "") + term
    glue = rng.random() < 0.2
    prefix = (size.upper() if glue else size + " ") if size else ""
    return f"{prefix}[{body}]"


# -- families -------------------------------------------------------------------------

def alu(rng):
    out = []
    for op in ALU + ["mov", "test", "xchg"]:
        for size, regs in BY_SIZE.items():
            for _ in range(3):
                a, b = rng.choice(regs), rng.choice(regs)
                out.append(f"{op} {a}, {b}")
                out.append(f"{op} {a}, {memory(rng)}")
                out.append(f"{op} {memory(rng, size=rng.choice(['', SIZE_WORD[size]]))}, {b}")
            if op != "xchg":
                value = rng.choice(BOUNDARIES)
                out.append(f"{op} {rng.choice(regs)}, {number(value, rng)}")
                out.append(f"{op} {memory(rng, size=SIZE_WORD[size])}, {number(value, rng)}")
    return out


def immediates(rng):
    out = []
    for value in BOUNDARIES:
        for size in (8, 16, 32, 64):
            reg = rng.choice(BY_SIZE[size][:16])
            out.append(f"mov {reg}, {value}")
            out.append(f"{rng.choice(ALU)} {reg}, {value}")
        out.append(f"mov rax, {value}")
        out.append(f"mov r{rng.randrange(8, 16)}, {value}")
        out.append(f"push {value}")
        out.append(f"push qword {value}")
        out.append(f"imul rax, rbx, {value}")
        out.append(f"mov qword [rdi], {value}")
        out.append(f"cmp dword [rsi], {value}")
        out.append(f"and rax, {value}")
        out.append(f"test ecx, {value}")
    for value in (1, 127, 128, 0x1234):
        out += [f"push strict dword {value}", f"add eax, strict dword {value}",
                f"add rbx, strict dword {value}", f"push strict byte {value}",
                f"mov rax, strict qword {value}", f"imul eax, ecx, strict dword {value}"]
    return out


def addressing(rng):
    """Every base/index/scale shape, with the registers that need care."""
    out = []
    special = ["rax", "rsp", "rbp", "r12", "r13", "r15", "rbx"]
    for base in special + [""]:
        for index in special + [""]:
            for scale in (0, 1, 2, 4, 8):            # 0: no scale written
                if not index and scale:
                    continue
                disp = rng.choice(DISPLACEMENTS)
                op = rng.choice(["mov rax,", "lea rcx,", "add r9,", "cmp rdx,", "mov r12,"])
                out.append(f"{op} {memory(rng, base, index, scale, disp)}")
    for index in ("rax", "rbx", "rsp", "rbp", "r13", "r11"):
        for scale in (1, 2, 3, 4, 5, 8, 9):
            out.append(f"lea rax, [{index}*{scale}]")
            out.append(f"lea rax, [{index}*{scale} + {rng.choice(DISPLACEMENTS)}]")
    for disp in DISPLACEMENTS + [0x80000000, 0xFFFFFFFF80000000, 0x123456789]:
        reg = rng.choice(GPR64)
        out += [f"mov {reg}, [{disp}]", f"mov rax, [{disp}]", f"mov eax, [{disp}]",
                f"mov [{disp}], {reg}", f"lea {reg}, [{disp}]"]
    out += ["mov rax, [qword 0x1000]", "mov al, [0x10]", "mov [0x10], ax",
            "mov rax, [rbp]", "mov rax, [r13]", "mov rax, [r12]", "mov rax, [rsp]",
            "mov rax, [rbx + 0]", "mov rax, [byte rbx + 0]", "mov rax, [dword rbx + 1]",
            "mov rax, [nosplit rbx*2]", "mov rax, [rbx + rbx]", "mov rax, [rax*2 + rax]",
            "mov rax, [fs:0x28]", "mov rax, [gs:rbx + 8]", "mov rax, fs:[rbx]",
            "mov rax, [rip + 0x10]", "mov rax, [rip]", "lea rax, [rel $]",
            "mov rax, [rsp*2 + rbx]", "lea rax, [rsp + rsp]", "mov eax, [ebx]",
            "mov rax, [rel 0x10]", "mov rax, [abs 0x10]", "mov eax, [ebx + ecx*4]",
            "mov rax, [rbx - rcx]", "mov rax, [rbx*rcx]", "mov rax, [rbx + rcx + rdx]"]
    return out


def labels(rng):
    """Memory, immediates and branches that name labels, forward and back."""
    out = []
    for gap in (0, 1, 100, 125, 126, 127, 128, 129, 200, 1000):
        for op in ("jmp", "je", "jne", "call", "jmp short", "jmp near", "jz near",
                   "loop", "jrcxz"):
            out.append(f"target: times {gap} nop\n{op} target")
            out.append(f"{op} target\ntimes {gap} nop\ntarget:")
    out += ["jmp $", "jmp $+2", "jmp $$", "call $+5", "je $", "jmp 0x400010",
            "jmp short 0x400010", "call 0x400010", "jmp rax", "call rax", "jmp [rax]",
            "call [rbx + 8]", "jmp qword [rax]", "call qword [rel target]\ntarget:",
            "jmp far [rax]", "jmp 0x12345678"]
    for op in ("mov rax,", "mov eax,", "push", "add rax,", "cmp rax,", "mov rsi,",
               "lea rsi,", "mov qword [rbx],", "mov dword [rbx],"):
        out.append(f"a: {op} a")
        out.append(f"{op} a\na:")
        out.append(f"a: {op} a - $$")
        out.append(f"a: {op} a + 8")
    for op in ("mov rax, [", "lea rsi, [", "mov [", "inc qword [", "mov ecx, ["):
        for form in ("rel a", "a", "a + 8", "rel a + 4", "a + rbx", "a + rbx*8",
                     "abs a"):
            tail = "], rdx" if op == "mov [" else "]"
            out.append(f"{op}{form}{tail}\na: dq 0")
    out += ["default rel\nmov rax, [a]\na: dq 0", "default rel\nmov rax, [0x10]",
            "default rel\nmov rax, [fs:a]\na:", "default rel\nmov rax, [a + rbx]\na:",
            "default abs\nmov rax, [a]\na:", "default rel\nlea rsi, [a]\na:",
            "default rel\nmov eax, [abs a]\na:"]
    return out


def shifts(rng):
    out = []
    for op in SHIFTS:
        for size in (8, 16, 32, 64):
            reg = rng.choice(BY_SIZE[size])
            mem = memory(rng, size=SIZE_WORD[size])
            for count in ("1", "cl", str(rng.choice([0, 2, 7, 31, 63, 255]))):
                out.append(f"{op} {reg}, {count}")
                out.append(f"{op} {mem}, {count}")
            out.append(f"{op} {reg}")
    out += ["shld rax, rbx, 4", "shrd eax, ecx, cl", "shld [rdi], rax, 1", "shl rax, 64",
            "shl rax, 256", "shl rax, rcx", "shl eax, 1, 2"]
    return out


def multiply(rng):
    out = []
    for size in (16, 32, 64):
        regs = BY_SIZE[size]
        for value in (0, 1, -1, 127, 128, -128, -129, 0x7FFF, 0x7FFFFFFF):
            out.append(f"imul {rng.choice(regs)}, {rng.choice(regs)}, {value}")
            out.append(f"imul {rng.choice(regs)}, {memory(rng)}, {value}")
        out.append(f"imul {rng.choice(regs)}, {rng.choice(regs)}")
        out.append(f"imul {rng.choice(regs)}, {rng.choice(regs)}, {rng.choice(regs)}")
    for op in ("mul", "imul", "div", "idiv", "neg", "not", "inc", "dec"):
        for size in (8, 16, 32, 64):
            out.append(f"{op} {rng.choice(BY_SIZE[size])}")
            out.append(f"{op} {memory(rng, size=SIZE_WORD[size])}")
        out.append(f"{op} {memory(rng)}")
    return out


def extend(rng):
    out = []
    for op in ("movzx", "movsx"):
        for dst in (16, 32, 64):
            for src in (8, 16):
                if src >= dst:
                    continue
                for _ in range(4):
                    out.append(f"{op} {rng.choice(BY_SIZE[dst])}, {rng.choice(BY_SIZE[src])}")
                out.append(f"{op} {rng.choice(BY_SIZE[dst])}, {memory(rng, size=SIZE_WORD[src])}")
            out.append(f"{op} {rng.choice(BY_SIZE[dst])}, {memory(rng)}")
        for high in HIGH8:
            out += [f"{op} rax, {high}", f"{op} eax, {high}", f"{op} r8d, {high}",
                    f"{op} esi, {high}", f"{op} r12w, {high}", f"{op} cx, {high}"]
    out += ["movsxd rax, eax", "movsxd rax, dword [rbx]", "movsx rax, ebx", "movzx rax, eax",
            "movsxd r9, r10d", "movsxd eax, ebx"]
    for high in HIGH8:
        other = rng.choice(GPR8)
        out += [f"mov {high}, {other}", f"mov {other}, {high}", f"add {high}, [r9]",
                f"xchg {high}, {other}", f"mov {high}, [rax + r12*2]", f"test {high}, {high}",
                f"mov {high}, al", f"mov byte [rbx], {high}", f"crc32 rax, {high}"]
    return out


def conditions(rng):
    out = []
    for cc in CONDITIONS:
        reg = rng.choice(GPR8)
        out += [f"set{cc} {reg}", f"set{cc} byte {memory(rng)}",
                f"cmov{cc} {rng.choice(GPR64)}, {rng.choice(GPR64)}",
                f"cmov{cc} {rng.choice(GPR32)}, {memory(rng)}",
                f"cmov{cc} {rng.choice(GPR16)}, {rng.choice(GPR16)}",
                f"t: j{cc} t", f"j{cc} t\ntimes 300 nop\nt:"]
    out += ["setz ah", "cmove rax, 5", "setz eax"]
    return out


def bits(rng):
    out = []
    for op in ("bt", "bts", "btr", "btc"):
        for size in (16, 32, 64):
            regs = BY_SIZE[size]
            out += [f"{op} {rng.choice(regs)}, {rng.choice(regs)}",
                    f"{op} {memory(rng)}, {rng.choice(regs)}",
                    f"{op} {rng.choice(regs)}, {rng.choice([0, 5, 31, 63, 255])}",
                    f"{op} {SIZE_WORD[size]} {memory(rng)}, {rng.choice([1, 7, 200])}"]
        out.append(f"{op} {memory(rng)}, 3")
    for op in ("bsf", "bsr", "popcnt", "lzcnt", "tzcnt"):
        for size in (16, 32, 64):
            out += [f"{op} {rng.choice(BY_SIZE[size])}, {rng.choice(BY_SIZE[size])}",
                    f"{op} {rng.choice(BY_SIZE[size])}, {memory(rng)}"]
    for reg in rng.sample(GPR64, 4) + rng.sample(GPR32, 4):
        out.append(f"bswap {reg}")
    for size in (8, 16, 32, 64):
        out += [f"xadd {memory(rng)}, {rng.choice(BY_SIZE[size])}",
                f"lock xadd {memory(rng)}, {rng.choice(BY_SIZE[size])}",
                f"cmpxchg {memory(rng)}, {rng.choice(BY_SIZE[size])}",
                f"lock cmpxchg {memory(rng)}, {rng.choice(BY_SIZE[size])}",
                f"lock add {SIZE_WORD[size]} {memory(rng)}, 1",
                f"lock inc {SIZE_WORD[size]} {memory(rng)}"]
    out += ["cmpxchg8b [rdi]", "cmpxchg16b [rdi]", "lock cmpxchg16b [rsi]", "lock mov rax, rbx"]
    return out


def stack(rng):
    out = []
    for reg in GPR64 + rng.sample(GPR16, 4) + rng.sample(GPR32, 3) + ["fs", "gs", "cs"]:
        out += [f"push {reg}", f"pop {reg}"]
    for _ in range(6):
        out += [f"push {memory(rng)}", f"pop {memory(rng)}",
                f"push qword {memory(rng)}", f"push word {memory(rng)}"]
    out += ["push word 5", "push dword 5", "push byte 5", "push -129", "push 0xffff",
            "push 0x80000000", "pushfq", "popfq", "enter 16, 0", "ret 8", "retn 4",
            "retf 2"]
    return out


def strings(rng):
    out = []
    for op in STRING_OPS:
        for suffix in "bwdq":
            for prefix in ("", "rep ", "repe ", "repz ", "repne ", "repnz "):
                out.append(f"{prefix}{op}{suffix}")
    out += ["rep movsb\nrep stosb", "movsb byte [rdi], [rsi]", "lodsb al",
            "movs byte [rdi], [rsi]", "stos qword [rdi]", "rep stos byte [rdi]"]
    return out


def sse(rng):
    out = []
    xmm = [f"xmm{n}" for n in range(16)]
    for op in SSE_MOVES:
        a, b = rng.sample(xmm, 2)
        out += [f"{op} {a}, {b}", f"{op} {a}, {memory(rng)}", f"{op} {memory(rng)}, {b}",
                f"{op} {a}, oword {memory(rng)}"]
    for op in ("movss", "movsd"):
        a, b = rng.sample(xmm, 2)
        out += [f"{op} {a}, {b}", f"{op} {a}, {memory(rng)}", f"{op} {memory(rng)}, {b}",
                f"{op} {a}, qword {memory(rng)}", f"{op} {a}, dword {memory(rng)}"]
    for _ in range(4):
        out += [f"movd {rng.choice(xmm)}, {rng.choice(GPR32)}",
                f"movd {rng.choice(GPR32)}, {rng.choice(xmm)}",
                f"movq {rng.choice(xmm)}, {rng.choice(GPR64)}",
                f"movq {rng.choice(GPR64)}, {rng.choice(xmm)}",
                f"movq {rng.choice(xmm)}, {memory(rng)}",
                f"movq {rng.choice(xmm)}, {rng.choice(xmm)}",
                f"movd {rng.choice(xmm)}, {memory(rng)}"]
    for op in SSE_ARITH:
        out += [f"{op} {rng.choice(xmm)}, {rng.choice(xmm)}",
                f"{op} {rng.choice(xmm)}, {memory(rng)}"]
    out += ["cvtsi2sd xmm0, rax", "cvtsi2sd xmm1, eax", "cvtsi2ss xmm2, qword [rdi]",
            "cvtsi2sd xmm0, dword [rdi]", "cvttsd2si rax, xmm0", "cvttss2si eax, xmm3",
            "cvtsd2ss xmm0, xmm1", "cvtss2sd xmm9, [rax]", "shufps xmm0, xmm1, 0x1b",
            "pshufd xmm0, xmm1, 0", "pextrw eax, xmm1, 3", "pinsrw xmm0, eax, 1",
            "movmskps eax, xmm0", "pmovmskb ecx, xmm15", "movhlps xmm0, xmm1",
            "movlps xmm0, [rax]", "movntdq [rdi], xmm0", "movnti [rdi], rax",
            "prefetchnta [rsi]", "prefetcht0 [rsi + 64]", "clflush [rdi]",
            "ldmxcsr [rsp]", "stmxcsr [rsp]", "movaps xmm0, rax", "movd xmm0, ax"]
    return out


def system(rng):
    out = list(NO_OPERANDS)
    out += ["mov cr3, rax", "mov rax, cr3", "mov cr0, rbx", "mov rax, cr2", "mov cr4, rax",
            "mov rax, dr7", "invlpg [rax]", "lgdt [rax]", "lidt [rdi]", "sgdt [rax]",
            "ltr ax", "in al, dx", "in eax, 0x60", "out dx, al", "out 0x80, al",
            "in ax, dx", "outsb", "int 0x21", "int 256", "hlt 1", "nop eax",
            "nop dword [rax]", "xchg ax, ax", "mov ds, ax", "mov ax, ds", "mov fs, eax",
            "rdfsbase rax", "wrgsbase rbx", "rdrand rax", "rdseed ecx", "cpuid eax",
            "lar eax, cx", "verr ax", "fld qword [rax]", "fstp dword [rbx]", "fadd st0, st1",
            "fxsave [rsp]", "xsave [rdi]", "mov rax, rsp", "mov rsp, rbp", "sahf ah",
            "lock nop", "rep nop", "rep ret", "bnd ret", "xacquire lock add [rax], ebx",
            "o64 sysret", "o32 sysret", "o64 sysexit", "o64 iret", "o64 nop",
            "lock xchg rbx, [rax]", "lock xchg [rax], rbx", "rcl byte [rdi], 1",
            "rcr qword [rsi + 8], 1", "movzx rax, ah", "movsx r8d, ah", "mov ah, sil"]
    return out


def random_mix(rng):
    """Random well-formed instructions from the families above, for breadth."""
    out = []
    for _ in range(2500):
        size = rng.choice([8, 16, 32, 64])
        reg = rng.choice(BY_SIZE[size][:16])
        other = rng.choice(BY_SIZE[size][:16])
        mem = memory(rng, size=rng.choice(["", SIZE_WORD[size]]))
        sized = memory(rng, size=SIZE_WORD[size])
        value = number(rng.choice(BOUNDARIES + [rng.randrange(-300, 300)]), rng)
        kind = rng.randrange(8)
        if kind < 3:
            op = rng.choice(ALU + ["mov", "test"])
            out.append(rng.choice([f"{op} {reg}, {other}", f"{op} {reg}, {mem}",
                                   f"{op} {mem}, {reg}", f"{op} {reg}, {value}",
                                   f"{op} {sized}, {value}"]))
        elif kind == 3:
            op = rng.choice(SHIFTS)
            out.append(f"{op} {rng.choice([reg, sized])}, {rng.choice(['1', 'cl', value])}")
        elif kind == 4:
            wide = rng.choice(BY_SIZE[rng.choice([32, 64])][:16])
            out.append(f"lea {wide}, {memory(rng)}")
        elif kind == 5 and size > 8:
            small = rng.choice([s for s in (8, 16) if s < size])
            op = rng.choice(["movzx", "movsx"])
            src = rng.choice([rng.choice(BY_SIZE[small][:16]), memory(rng, size=SIZE_WORD[small])])
            out.append(f"{op} {reg}, {src}")
        elif kind == 6 and size > 8:
            out.append(rng.choice([f"imul {reg}, {other}", f"imul {reg}, {mem}, {value}",
                                   f"cmov{rng.choice(CONDITIONS)} {reg}, {mem}",
                                   f"bt{rng.choice(['', 's', 'r', 'c'])} {sized}, {other}"]))
        else:
            op = rng.choice(["inc", "dec", "neg", "not", "mul", "div", "push", "pop"])
            out.append(f"{op} {rng.choice([reg, sized])}")
    return out


FAMILIES = [alu, immediates, addressing, labels, shifts, multiply, extend, conditions,
            bits, stack, strings, sse, system, data, preprocessor, syntax, random_mix]


HEADER = f"bits 64\norg {BASE:#x}\n"


def source(form: str) -> str:
    """The whole file both assemblers see for `form`."""
    return HEADER + form + "\n"

"""Fuzz target: random guest code run as a user process.

Programs are sequences of instruction fragments that reach into every corner
the kernel and the MMU must survive (loads and stores to any address, stack
games, privileged instructions, system calls with wild arguments, jumps into
the unknown), run with random register values, and raw random bytes.
Invariants: only the documented stops happen (exit, fault, budget, OOM), never
a kernel panic or another exception; the budget holds; every frame and chunk
comes back when the process is torn down.
"""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from emu import Budget
from emu.registers import GPRS
from emu.runner import ProcessRunner
from tests.fuzz.conftest import FUZZ, record
from tests.fuzz.machines import assert_back_at_boot, shared_machine, fragments, image_of_bytes

RISKY = fragments([
    "mov [rax], rbx", "mov rcx, [rdi + 8]", "mov byte [rsi], 1", "mov rax, [rsp]",
    "push qword [rcx]", "pop qword [rdx]", "add rsp, rdx", "lea rsp, [rax]",
    "jmp rax", "call rbx", "ret", "div rcx", "idiv rcx", "ud2", "int3", "hlt", "int 0x80",
    "rep stosb", "rep movsb", "movsq", "lodsq", "scasb",
    "xchg rax, [rdi]", "lock xadd [rsi], rax", "cmpxchg [rdx], rcx",
    "mov cr3, rax", "invlpg [rax]", "cli", "in al, dx", "wrmsr", "rdmsr", "lgdt [rax]",
    "mov ds, ax", "mov fs, ax", "swapgs", "sysret", "iretq",
    "movdqu xmm0, [rax]", "movaps [rsp], xmm1", "fld qword [rsi]", "fstp qword [rdi]",
    "vzeroupper", "prefetcht0 [rax]", "clflush [rsi]",
    "mov rax, [fs:0]", "mov rbx, [gs:8]",
])
# Well-formed steps: system calls with plausible arguments, and memory work on
# what they return, so that runs get deep into the kernel before anything faults.
SAFE = fragments([
    "mov eax, 9", "mov eax, 11", "mov eax, 10", "mov eax, 12", "mov eax, 25", "mov eax, 28",
    "mov eax, 1", "mov eax, 0", "mov eax, 39", "mov eax, 158", "mov eax, 318", "mov eax, 20",
    "syscall", "syscall", "syscall", "syscall",
    "xor edi, edi", "mov edi, 0x401000", "mov rdi, rax", "mov rdi, rsp", "add rdi, 4096",
    "mov esi, 4096", "mov esi, 0x10000", "mov esi, 0x200000", "shl rsi, 4", "mov rsi, rax",
    "mov edx, 3", "mov edx, 1", "xor edx, edx", "mov edx, 7", "mov edx, 4", "mov edx, 8",
    "mov r10d, 0x22", "mov r10d, 0x32", "mov r10d, 1", "mov r8, -1", "xor r9d, r9d",
    "mov rbx, rax", "mov [rbx], rbx", "mov rcx, [rbx]", "mov byte [rbx + 4095], 7",
    "push rax", "pop rbx", "sub rsp, 4096", "mov rbp, rsp", "mov qword [rsp], 5",
    "rdtsc", "cpuid", "rdrand rax", "pause", "nop", "mfence", "jmp short $+2",
    "shl rax, cl", "imul rax, rbx, 0x7fffffff", "bsf rcx, rdx", "popcnt rax, rbx",
])
PIECES = st.sampled_from(SAFE * 3 + RISKY)
EXIT = fragments(["mov eax, 60", "xor edi, edi", "syscall"])

INTERESTING = st.sampled_from([
    0, 1, 8, 0x1000, 0xFFF, 0x10000, 0x400000, 0x401000, 0x402000, 0x7FFF_FFFF_E000,
    0x7FFF_FFFF_EFF8, 0x7FFF_F7FF_F000, 0x6000_0000_0000, 0x8000_0000_0000,
    0xFFFF_8000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x100000, 0x10000, 0x20000,
    1 << 63, (1 << 63) - 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 32, 4096 * 511,
    0x22, 3, 7, 0x100000 | 0x22, 0x10 | 0x22])
VALUES = st.one_of(INTERESTING, st.integers(0, (1 << 64) - 1))
BUDGET = Budget(instructions=20_000, seconds=5)


def machine():
    return shared_machine("guest")


def run_guest(code: bytes, registers: dict, bss: int = 0) -> str:
    m, boot = machine()
    runner = ProcessRunner(m, image_of_bytes(code, bss), ["fuzz"])
    m.write_regs(registers)
    started = time.perf_counter()
    result = runner.run(BUDGET)
    elapsed = time.perf_counter() - started
    assert result.stopped != "panic", result.message
    assert result.stopped in (None, "fault", "budget", "oom"), result.stopped
    assert elapsed < BUDGET.seconds * 4, f"the budget did not hold: {elapsed:.1f} s"
    assert_back_at_boot(m, boot)
    if result.fault is not None:
        return f"fault:{result.fault.reason}"
    return result.stopped or "exit"


@FUZZ
@given(pieces=st.lists(PIECES, min_size=1, max_size=40),
       registers=st.fixed_dictionaries({r: VALUES for r in GPRS if r != "rsp"}),
       bss=st.sampled_from([0, 4096, 1 << 20]))
def test_random_instruction_sequences_stop_cleanly(pieces, registers, bss):
    outcome = run_guest(b"".join(pieces + EXIT), registers, bss)
    record("guest-insns", outcome.split(":")[0])


@FUZZ
@given(code=st.binary(min_size=1, max_size=256),
       registers=st.fixed_dictionaries({r: VALUES for r in ("rax", "rdi", "rsi", "rdx")}))
def test_random_bytes_as_code_stop_cleanly(code, registers):
    outcome = run_guest(code, registers)
    record("guest-bytes", outcome.split(":")[0])

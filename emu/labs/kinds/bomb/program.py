"""The bomb: a seeded user program in asm whose answers only its run can give.

    phase_1  stirs bomb_key (.data)                  -> which physical address backs it?
    phase_2  a script of bomb_malloc/bomb_free calls -> what does the n-th bomb_malloc return?
    phase_3  a scramble of stores into bomb_table    -> which store first made word k hold V,
                                                        and in which iteration (r12)?
    phase_4  mmaps with mixed protections, then a write into a read-only one
                                                     -> which VMA did the fault hit?
    secret   (hidden)                                -> the PT entry that maps bomb_motto
                                                        (.rodata), as `pt` shows it at the end

The program is asm, not C, so its addresses do not depend on a compiler's
version: the same variant is the same bytes everywhere. bomb_malloc is a
first-fit allocator over brk with whole-block reuse (no splitting, no
coalescing), small enough to read, tedious enough to want a debugger.

generate() returns the source and the facts the questions need (n, k, V);
the answers themselves come from running it (replay.py), never from here.
"""

from __future__ import annotations

from dataclasses import dataclass

TABLE_WORDS = 64
SCRAMBLE_STEPS = 320
STORE_SITES = 4
VALUES = 12                       # few values, so that one comes back to a word
LCG_MUL, LCG_ADD = 1103515245, 12345
MASK64 = (1 << 64) - 1
PROT_NAMES = {0: "PROT_NONE", 1: "PROT_READ", 3: "PROT_READ|PROT_WRITE"}


@dataclass
class Bomb:
    source: str
    malloc_call: int              # phase 2: the n-th call (1-based)
    word: int                     # phase 3: bomb_table[word]
    value: int                    #          ends holding this value
    maps: list                    # phase 4: (size, prot) of each mmap, in order


def lcg_steps(seed: int):
    """The scramble, as phase_3 runs it: (iteration, word, site, value) per step."""
    state = seed
    for iteration in range(SCRAMBLE_STEPS):
        state = (state * LCG_MUL + LCG_ADD) & MASK64
        word = (state >> 17) % TABLE_WORDS
        site = (state >> 33) % STORE_SITES
        value = _value((state >> 40) % VALUES)
        yield iteration, word, site, value


def _value(code: int) -> int:
    return 0x1111_0000_0000_0000 * (code + 1) + 0x0B0B * code


def pick_word(seed: int) -> tuple[int, int] | None:
    """A word whose final value V was first set, then changed away, then set
    again by another store site: (word, V), or None when no word is like that."""
    history: dict[int, list] = {}
    current = [0] * TABLE_WORDS
    for iteration, word, site, value in lcg_steps(seed):
        if value != current[word]:
            history.setdefault(word, []).append((iteration, site, value))
            current[word] = value
    for word in sorted(history):
        changes = history[word]
        final = current[word]
        sets = [c for c in changes if c[2] == final]
        if len(sets) >= 2 and sets[0][1] != sets[-1][1] and changes[0][2] != final:
            return word, final
    return None


def generate(rng, variant_id: str) -> Bomb:
    """The bomb of one variant (drawing from `rng` only)."""
    while True:
        seed = rng.next_u64() | 1
        picked = pick_word(seed)
        if picked:
            break
    word, value = picked
    script, calls = _malloc_script(rng)
    malloc_call = rng.between(max(3, calls // 2), calls)
    maps = [(rng.between(1, 6) * 4096, rng.choice([3, 3, 1, 0])) for _ in range(rng.between(4, 6))]
    target = rng.choice([i for i, (_, prot) in enumerate(maps) if prot != 3] or [0])
    maps[target] = (maps[target][0], 1)
    offset = 8 * rng.below(maps[target][0] // 8)
    source = _source(variant_id, rng, seed, script, maps, target, offset)
    return Bomb(source, malloc_call, word, value, maps)


def _malloc_script(rng) -> tuple[list, int]:
    """[("malloc", slot, size) | ("free", slot)]: frees make first fit reuse blocks."""
    script, live, calls = [], [], 0
    for slot in range(rng.between(10, 14)):
        script.append(("malloc", slot, rng.choice([16, 24, 40, 64, 100, 128, 200])))
        live.append(slot)
        calls += 1
        if len(live) > 2 and rng.chance(2, 5):
            script.append(("free", live.pop(rng.below(len(live)))))
    return script, calls


def _source(variant_id: str, rng, seed: int, script, maps, target: int, offset: int) -> str:
    key = rng.next_u64()
    padding = 8 * rng.below(200)
    motto_pages = rng.below(12)
    parts = [HEADER.format(variant=variant_id), _start(), _phase_1(), _phase_2(script),
             _phase_3(seed), _phase_4(maps, target, offset), ALLOCATOR,
             _data(key, padding, len(maps), motto_pages)]
    return "\n".join(parts)


HEADER = """; bomb.asm -- your bomb (variant {variant}). Do not edit it: the grader runs its own copy.
; Run it:     emu run bomb.asm
; Debug it:   emu debug bomb.asm        (then: break phase_1, run, pt, vmmap, watch, rc, ...)
; The questions are in the README; the answers go in answers.txt.
"""


def _start() -> str:
    return """section .text
_start:
        call phase_1
        call phase_2
        call phase_3
        call phase_4                    ; the bomb goes off in here
        mov eax, 60                     ; exit(0): never reached
        xor edi, edi
        syscall
"""


def _phase_1() -> str:
    return """
; phase_1 -- stir bomb_key. Question 1: which physical address backs bomb_key?
phase_1:
        mov rax, [bomb_key]
        xor rax, [bomb_motto]
        rol rax, 13
        mov [bomb_key], rax
        ret
"""


def _phase_2(script) -> str:
    lines = ["", "; phase_2 -- allocate and free. Question 2: what does the N-th call of",
             ";            bomb_malloc return? (N is in the README)", "phase_2:"]
    for step in script:
        if step[0] == "malloc":
            lines += [f"        mov edi, {step[2]}", "        call bomb_malloc",
                      f"        mov [bomb_slots + {8 * step[1]}], rax"]
        else:
            lines += [f"        mov rdi, [bomb_slots + {8 * step[1]}]", "        call bomb_free"]
    return "\n".join(lines + ["        ret", ""])


def _phase_3(seed: int) -> str:
    return f"""
; phase_3 -- scramble bomb_table. Question 3: which store first made the word in the
;            README hold its final value, and in which iteration (r12) did it run?
phase_3:
        push rbx
        push r12
        mov rbx, {seed:#x}              ; RBX = the generator's state
        xor r12d, r12d                  ; R12 = the iteration
phase_3_step:
        imul rbx, rbx, {LCG_MUL}
        add rbx, {LCG_ADD}
        mov rax, rbx
        shr rax, 17
        and eax, {TABLE_WORDS - 1}                    ; RAX = the word
        mov rdx, rbx
        shr rdx, 40
        mov rcx, {VALUES}
        push rax
        mov rax, rdx
        xor edx, edx
        div rcx                         ; RDX = value code
        pop rax
        lea rcx, [rdx + 1]
        mov rsi, 0x1111000000000000
        imul rcx, rsi
        imul rdx, rdx, 0x0B0B
        add rdx, rcx                    ; RDX = the value
        mov rcx, rbx
        shr rcx, 33
        and ecx, {STORE_SITES - 1}                     ; RCX = which store
        cmp ecx, 1
        jb phase_3_site_0
        je phase_3_site_1
        cmp ecx, 2
        je phase_3_site_2
phase_3_site_3:
        mov rdi, rdx
        mov [bomb_table + rax * 8], rdi
        jmp phase_3_next
phase_3_site_2:
        xchg [bomb_table + rax * 8], rdx
        jmp phase_3_next
phase_3_site_1:
        lea rsi, [bomb_table]
        mov [rsi + rax * 8], rdx
        jmp phase_3_next
phase_3_site_0:
        mov [bomb_table + rax * 8], rdx
phase_3_next:
        inc r12
        cmp r12, {SCRAMBLE_STEPS}
        jb phase_3_step
        pop r12
        pop rbx
        ret
"""


def _phase_4(maps, target: int, offset: int) -> str:
    lines = ["", "; phase_4 -- map some memory, then write where it is not allowed.",
             ";            Question 4: which mapping (as vmmap shows it) did the fault hit?",
             "phase_4:"]
    for i, (size, prot) in enumerate(maps):
        lines += [f"        mov eax, 9                      ; mmap({size:#x}, {PROT_NAMES[prot]})",
                  "        xor edi, edi", f"        mov esi, {size}", f"        mov edx, {prot}",
                  "        mov r10d, 0x22                  ; MAP_PRIVATE | MAP_ANONYMOUS",
                  "        mov r8, -1", "        xor r9d, r9d", "        syscall",
                  f"        mov [bomb_maps + {8 * i}], rax"]
        if prot == 3:
            lines += ["        mov qword [rax], 1              ; use it"]
    lines += [f"        mov rax, [bomb_maps + {8 * target}]", f"        add rax, {offset}",
              "        mov qword [rax], 0x0b0b             ; boom", "        ret", ""]
    return "\n".join(lines)


ALLOCATOR = """
; bomb_malloc -- first fit over brk. IN: RDI = size. OUT: RAX = payload (16-aligned).
; A block is a 16-byte header (its size, bit 0 = allocated) and the payload.
bomb_malloc:
        push rbx
        add rdi, 31
        and rdi, -16                    ; RDI = block size, header included
        cmp qword [bomb_heap_start], 0
        jne bomb_malloc_search
        push rdi
        mov eax, 12                     ; brk(0): where the heap starts
        xor edi, edi
        syscall
        pop rdi
        mov [bomb_heap_start], rax
        mov [bomb_heap_end], rax
bomb_malloc_search:
        mov rbx, [bomb_heap_start]
bomb_malloc_next:
        cmp rbx, [bomb_heap_end]
        jae bomb_malloc_grow
        mov rax, [rbx]
        test al, 1
        jnz bomb_malloc_skip            ; allocated
        cmp rax, rdi
        jb bomb_malloc_skip             ; too small
        or qword [rbx], 1               ; take the whole block
        lea rax, [rbx + 16]
        jmp bomb_malloc_return
bomb_malloc_skip:
        and rax, -2
        add rbx, rax
        jmp bomb_malloc_next
bomb_malloc_grow:
        push rdi
        mov rdi, [bomb_heap_end]
        add rdi, [rsp]
        mov eax, 12                     ; brk(end + size)
        syscall
        pop rdi
        mov rbx, [bomb_heap_end]
        mov [bomb_heap_end], rax
        mov rax, rdi
        or rax, 1
        mov [rbx], rax
        lea rax, [rbx + 16]
bomb_malloc_return:
        pop rbx
        ret

; bomb_free -- IN: RDI = a payload bomb_malloc returned.
bomb_free:
        and qword [rdi - 16], -2
        ret
"""


def _data(key: int, padding: int, maps: int, motto_pages: int) -> str:
    return f"""
section .rodata
bomb_preface:
        times {motto_pages * 4096} db 0x2e
bomb_motto:
        db "Memory is a map; the map is not the memory.", 0

section .data
bomb_heap_start:
        dq 0
bomb_heap_end:
        dq 0
bomb_padding:
        times {padding} db 0
bomb_key:
        dq {key:#x}
bomb_slots:
        times 16 dq 0
bomb_maps:
        times {maps} dq 0
bomb_table:
        times {TABLE_WORDS} dq 0
"""

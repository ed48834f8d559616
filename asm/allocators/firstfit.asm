; =============================================================================
; firstfit.asm -- first fit over an implicit list, in assembly (the block
; layout of examples/allocators/firstfit.c, so the same heap view reads both).
;
;   heap_start (16-aligned)                            heap_end = the break
;   |                                                           |
;   v                                                           v
;   +--------+-------+-----------+--------+-------+---------+---
;   | size   | avail | payload   | size   | avail | payload | ...
;   +--------+-------+-----------+--------+-------+---------+---
;    8 bytes  8 bytes             size = whole block, header included
;                                 avail = 1 free, 0 in use
;
; malloc walks the blocks from heap_start and takes the first free one that is
; big enough, splitting off the rest when it can hold a header and 16 bytes;
; when none fits, it grows the heap with mem_sbrk. free marks the block
; available and merges it with the block after it if that one is free: a free
; block before it is not merged (that needs a footer; see implicit.c).
; realloc shrinks in place, grows in place into a free next block, or moves.
;
; Invariants: blocks tile [heap_start, heap_end) exactly; every size is a
; multiple of 16 and at least 32; every payload is 16-byte aligned.
; Interface and register rules as in bump.asm (System V ABI).
; =============================================================================

        default rel
        extern mem_sbrk, mem_reset_brk, mem_heap_lo
        global mm_init, mm_malloc, mm_free, mm_realloc, mm_name

HEADER    equ 16                        ; size (8) + avail (8)
MIN_BLOCK equ 32                        ; a header and 16 bytes of payload
SIZE      equ 0                         ; header field offsets
AVAIL     equ 8
MAX_REQUEST equ 1 << 60

        section .rodata
mm_name: db "firstfit", 0

        section .bss
heap_start: resq 1
heap_end:   resq 1

        section .text

mm_init:
        sub rsp, 8
        call mem_reset_brk
        call mem_heap_lo                ; page-aligned, so 16-aligned
        add rsp, 8
        mov [heap_start], rax
        mov [heap_end], rax
        xor eax, eax
        ret

mm_malloc:
        test rdi, rdi
        jz .none
        mov rax, MAX_REQUEST
        cmp rdi, rax
        ja .none
        lea rdx, [rdi + HEADER + 15]
        and rdx, -16                    ; RDX = block size needed
        mov rax, [heap_start]
        mov rcx, [heap_end]
.walk:
        cmp rax, rcx
        jae .grow                       ; no block fits: ask for more heap
        cmp qword [rax + AVAIL], 1
        jne .next
        mov r8, [rax + SIZE]
        cmp r8, rdx
        jae .take
.next:
        add rax, [rax + SIZE]
        jmp .walk

.take:                                  ; RAX = free block of R8 bytes >= RDX
        mov r9, r8
        sub r9, rdx
        cmp r9, MIN_BLOCK
        jb .whole                       ; remainder too small: keep it in the block
        mov [rax + SIZE], rdx           ; split: the rest becomes a free block
        lea r10, [rax + rdx]
        mov [r10 + SIZE], r9
        mov qword [r10 + AVAIL], 1
.whole:
        mov qword [rax + AVAIL], 0
        add rax, HEADER
        ret

.grow:
        push rbx
        mov rbx, rdx                    ; RBX = block size
        mov rdi, rdx
        call mem_sbrk
        cmp rax, -1
        je .out_of_memory
        mov [rax + SIZE], rbx
        mov qword [rax + AVAIL], 0
        lea rcx, [rax + rbx]
        mov [heap_end], rcx
        add rax, HEADER
        pop rbx
        ret
.out_of_memory:
        pop rbx
.none:
        xor eax, eax
        ret

mm_free:
        test rdi, rdi
        jz .done
        lea rax, [rdi - HEADER]         ; RAX = the block
        mov qword [rax + AVAIL], 1
        call merge_next
.done:
        ret

; merge_next(RAX = block): absorb the following block while it is free.
; Clobbers RCX, RDX.
merge_next:
        mov rcx, [rax + SIZE]
        lea rdx, [rax + rcx]            ; RDX = next block
        cmp rdx, [heap_end]
        jae .done
        cmp qword [rdx + AVAIL], 1
        jne .done
        add rcx, [rdx + SIZE]
        mov [rax + SIZE], rcx
        jmp merge_next
.done:
        ret

mm_realloc:
        test rdi, rdi
        jnz .have_block
        mov rdi, rsi                    ; realloc(NULL, n) is malloc(n)
        jmp mm_malloc
.have_block:
        test rsi, rsi
        jnz .resize
        call mm_free                    ; realloc(p, 0) frees p
        xor eax, eax
        ret
.resize:
        mov rax, MAX_REQUEST
        cmp rsi, rax
        ja .fail
        lea rdx, [rsi + HEADER + 15]
        and rdx, -16                    ; RDX = block size needed
        lea rax, [rdi - HEADER]         ; RAX = the block
        mov r8, [rax + SIZE]
        cmp r8, rdx
        jae .fits                       ; shrinking, or it already fits
        mov r9, rax                     ; grow in place into a free next block?
        add r9, r8
        cmp r9, [heap_end]
        jae .move
        cmp qword [r9 + AVAIL], 1
        jne .move
        mov r10, r8
        add r10, [r9 + SIZE]
        cmp r10, rdx
        jb .move
        mov [rax + SIZE], r10           ; absorb the next block, then trim
        mov r8, r10
.fits:                                  ; RAX = block of R8 bytes >= RDX: trim the tail
        mov r9, r8
        sub r9, rdx
        cmp r9, MIN_BLOCK
        jb .same
        mov [rax + SIZE], rdx
        lea r10, [rax + rdx]
        mov [r10 + SIZE], r9
        mov qword [r10 + AVAIL], 1
        push rax
        mov rax, r10
        call merge_next                 ; the freed tail may touch a free block
        pop rax
.same:
        lea rax, [rax + HEADER]
        ret
.move:
        push rbx
        push r12
        push r13
        mov rbx, rdi                    ; RBX = old payload
        mov r12, [rax + SIZE]
        sub r12, HEADER                 ; R12 = old payload capacity
        mov r13, rsi                    ; R13 = new size
        mov rdi, rsi
        call mm_malloc
        test rax, rax
        jz .moved                       ; no memory: the old block stays valid
        mov rcx, r12
        cmp rcx, r13
        cmova rcx, r13
        mov rsi, rbx
        mov rdi, rax
        cld
        rep movsb
        mov r12, rax
        mov rdi, rbx
        call mm_free
        mov rax, r12
.moved:
        pop r13
        pop r12
        pop rbx
        ret
.fail:
        xor eax, eax
        ret

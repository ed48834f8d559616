; =============================================================================
; bump.asm -- the bump allocator in assembly (the same design as
; examples/allocators/bump.c): every block is taken from the end of the heap,
; and free does nothing.
;
;   heap_lo                        each block: an 8-byte header holding the
;   |                              payload size, then the payload, padded so
;   v                              the next header sits 8 bytes before a
;   +-------+------+----------+------+----------+---
;   | pad 8 | size | payload  | size | payload  | ...      payloads are
;   +-------+------+----------+------+----------+---       16-byte aligned
;
; The interface is the malloc lab's, called with the System V ABI:
;   mm_init()              OUT: eax = 0 (the heap is reset)
;   mm_malloc(rdi = size)  OUT: rax = payload, or 0 for size 0 / no memory
;   mm_free(rdi = ptr)     does nothing
;   mm_realloc(rdi = ptr, rsi = size)
;                          OUT: rax = a new block holding min(old, new) bytes
;                          of the old one; ptr 0 acts as malloc, size 0 as free
; rbx, rbp, r12-r15 and rsp are preserved, as the ABI requires.
; Heap memory comes from mem_sbrk (asm/runtime/memlib.c), linked with the C
; program, so mem_heap_lo/mem_heapsize see the same heap.
; =============================================================================

        default rel
        extern mem_sbrk, mem_reset_brk
        global mm_init, mm_malloc, mm_free, mm_realloc, mm_name

HEADER  equ 8
MAX_REQUEST equ 1 << 60                 ; larger sizes would overflow the rounding

        section .rodata
mm_name: db "bump", 0

        section .text

mm_init:
        sub rsp, 8                      ; keep rsp 16-aligned across the calls
        call mem_reset_brk
        mov edi, HEADER                 ; pad so the first payload is 16-aligned
        call mem_sbrk
        add rsp, 8
        cmp rax, -1
        je .fail
        xor eax, eax
        ret
.fail:
        mov eax, -1
        ret

mm_malloc:
        test rdi, rdi
        jz .none                        ; malloc(0) gives NULL
        mov rax, MAX_REQUEST
        cmp rdi, rax
        ja .none
        push rbx
        mov rbx, rdi                    ; RBX = requested size
        lea rdi, [rbx + HEADER + 15]
        and rdi, -16                    ; header + payload, a multiple of 16
        call mem_sbrk
        cmp rax, -1
        je .out_of_memory
        mov [rax], rbx                  ; the header remembers the size
        add rax, HEADER                 ; the payload follows it
        pop rbx
        ret
.out_of_memory:
        pop rbx
.none:
        xor eax, eax
        ret

mm_free:
        ret                             ; a bump allocator never reuses memory

mm_realloc:
        test rdi, rdi
        jnz .have_block
        mov rdi, rsi                    ; realloc(NULL, n) is malloc(n)
        jmp mm_malloc
.have_block:
        test rsi, rsi
        jnz .move
        xor eax, eax                    ; realloc(p, 0) frees p (a no-op here)
        ret
.move:
        push rbx
        push r12
        push r13
        mov rbx, rdi                    ; RBX = old payload
        mov r12, rsi                    ; R12 = new size
        mov rdi, rsi
        call mm_malloc
        test rax, rax
        jz .done                        ; no memory: the old block stays valid
        mov r13, rax
        mov rcx, [rbx - HEADER]         ; copy min(old size, new size) bytes
        cmp rcx, r12
        cmova rcx, r12
        mov rsi, rbx
        mov rdi, r13
        cld
        rep movsb
        mov rax, r13
.done:
        pop r13
        pop r12
        pop rbx
        ret

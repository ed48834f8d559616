; firstfit_list.asm -- a first-fit allocator over a fixed arena, with a free
; list of blocks that each start with a header:
;
;   +--------+--------+------------------+
;   | size   | next   | payload ...      |      size counts the header too
;   +--------+--------+------------------+      next: the next free block, 0 ends
;   0        8        16
;
;   ff_init()                     the arena becomes one free block
;   ff_alloc(rdi = size)          OUT: rax = payload, or 0
;   ff_free(rdi = payload)        puts the block back at the head of the list

%define HDR_SIZE  16
%define HDR_NEXT  8
%define MIN_SPLIT (HDR_SIZE + 16)
%assign ARENA_SIZE 64 * 1024

struc_size equ HDR_SIZE

        section .text
        global ff_init, ff_alloc, ff_free

ff_init:
        lea rax, [rel arena]
        mov qword [rax], ARENA_SIZE
        mov qword [rax + HDR_NEXT], 0
        mov [rel free_list], rax
        ret

ff_alloc:
        test rdi, rdi
        jz .none
        lea rdi, [rdi + HDR_SIZE + 15]
        and rdi, -16                    ; whole block, rounded up
        lea r8, [rel free_list]         ; r8 = where the link to this block lives
.walk:
        mov rax, [r8]
        test rax, rax
        jz .none                        ; end of the list: nothing fits
        mov rcx, QWORD[rax]
        cmp rcx, rdi
        jae .found
        lea r8, [rax + HDR_NEXT]
        jmp .walk
.found:
        mov rdx, rcx
        sub rdx, rdi
        cmp rdx, MIN_SPLIT
        jb .take_all                    ; the rest would be too small to keep
        lea r9, [rax + rdi]             ; split: r9 = the remainder
        mov [r9], rdx
        mov r10, [rax + HDR_NEXT]
        mov [r9 + HDR_NEXT], r10
        mov [rax], rdi
        mov [r8], r9
        jmp .done
.take_all:
        mov r10, [rax + HDR_NEXT]
        mov [r8], r10
.done:
        add rax, HDR_SIZE
        inc dword [rel alloc_count]
        ret
.none:
        xor eax, eax
        ret

ff_free:
        test rdi, rdi
        jz .out
        sub rdi, HDR_SIZE
        mov rax, [rel free_list]
        mov [rdi + HDR_NEXT], rax
        mov [rel free_list], rdi
        dec dword [rel alloc_count]
.out:
        ret

        section .data
alloc_count dd 0
        align 8
free_list   dq 0

        section .bss
        alignb 16
arena   resb ARENA_SIZE

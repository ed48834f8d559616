; bump_brk.asm -- a bump allocator straight on brk(2), no C runtime.
;
;   heap_init()              OUT: rax = 0, or -1 when brk fails
;   heap_alloc(rdi = size)   OUT: rax = 16-byte aligned block, or 0
; Blocks are never freed. The break is raised a page at a time.

SYS_BRK   equ 12
PAGE      equ 4096
ALIGNMENT equ 16

        section .text
        global heap_init, heap_alloc

heap_init:
        mov eax, SYS_BRK
        xor edi, edi                    ; brk(0) reports the current break
        syscall
        test rax, rax
        js .fail
        add rax, ALIGNMENT - 1
        and rax, -ALIGNMENT
        mov [heap_next], rax
        mov [heap_end], rax
        xor eax, eax
        ret
.fail:
        mov rax, -1
        ret

heap_alloc:
        test rdi, rdi
        jz .none
        lea rdx, [rdi + ALIGNMENT - 1]
        and rdx, -ALIGNMENT             ; rdx = rounded size
        mov rax, [heap_next]
        lea rcx, [rax + rdx]            ; rcx = the new heap_next
        cmp rcx, [heap_end]
        jbe .fits
        push rax
        push rcx
        lea rdi, [rcx + PAGE - 1]
        and rdi, -PAGE                  ; raise the break to a whole page
        mov eax, SYS_BRK
        syscall                         ; rax = the new break; rcx, r11 clobbered
        mov rdi, rax
        pop rcx
        pop rax
        cmp rdi, rcx
        jb .none                        ; the kernel refused
        mov [heap_end], rdi
.fits:
        mov [heap_next], rcx
        ret
.none:
        xor eax, eax
        ret

        section .data
heap_next dq 0
heap_end  dq 0
stats:
        dd 0, 0                         ; allocations, failures

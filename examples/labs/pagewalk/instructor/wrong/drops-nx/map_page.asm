; =============================================================================
; map_page -- map one 4 KiB page, making the tables on the way
;             (reference solution)
;
;  IN:  RDI = CR3: the physical address of the PML4
;       RSI = the virtual address (4 KiB aligned, canonical, lower half)
;       RDX = the physical address (4 KiB aligned)
;       RCX = the leaf's flags: any of PTE_RW, PTE_US, PTE_NX (P is added)
; OUT:  RAX = MAP_OK (0), MAP_EXISTS (1) when the page is mapped already (its
;       entry is left alone), or MAP_NO_MEMORY (2) when alloc_table ran out
;       (the tables made so far stay linked in, so nothing leaks)
;       RBX, RBP, R12-R15 and RSP are preserved (System V).
;
; Missing tables come from alloc_table (zeroed frames) and get P | RW | US:
; the leaf alone decides the page's rights, as on Linux and xv6.
; =============================================================================

PTE_ADDRESS     equ 0x000FFFFFFFFFF000
TABLE_FLAGS     equ 7                   ; P | RW | US
MAP_OK          equ 0
MAP_EXISTS      equ 1
MAP_NO_MEMORY   equ 2

map_page:
        push rbx
        push r12
        push r13
        push r14
        push r15
        mov r12, rsi                    ; R12 = virtual address
        mov r13, rdx                    ; R13 = physical address
        mov r14, rcx                    ; R14 = leaf flags
        mov rbx, rdi                    ; RBX = the table at this level
        mov ecx, 39                     ; CL = this level's index shift
map_page_level:
        mov rax, r12
        shr rax, cl
        and eax, 511
        lea r15, [rbx + rax * 8]        ; R15 = the entry's address
        cmp ecx, 12
        je map_page_leaf
        mov rax, [r15]
        test al, 1
        jnz map_page_down               ; the table exists
        call alloc_table                ; RAX = a zeroed frame, or 0 (keeps RCX)
        test rax, rax
        jz map_page_no_memory
        or rax, TABLE_FLAGS
        mov [r15], rax                  ; link it in before going down
map_page_down:
        mov rbx, PTE_ADDRESS
        and rbx, rax                    ; the next table
        sub ecx, 9
        jmp map_page_level

map_page_leaf:
        test byte [r15], 1
        jnz map_page_exists
        mov rax, r13
        or al, r14b                     ; RW and US are in the low byte
        or rax, 1                       ; P
        mov [r15], rax
        mov eax, MAP_OK
        jmp map_page_done
map_page_exists:
        mov eax, MAP_EXISTS
        jmp map_page_done
map_page_no_memory:
        mov eax, MAP_NO_MEMORY
map_page_done:
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbx
        ret

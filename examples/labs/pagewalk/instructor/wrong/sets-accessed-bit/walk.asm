; =============================================================================
; walk -- translate a virtual address as the MMU does, or say why it cannot
;         (reference solution)
;
;  IN:  RDI = CR3: the physical address of the PML4
;       RSI = the virtual address
;       RDX = the access: 0 read, 1 write, 2 fetch; plus 4 for a user access
; OUT:  RAX = the physical address, when the access is allowed
;       RAX = WALK_FAULT | level << 8 | reason, when it is refused:
;             level 0 none (non-canonical), 1 PML4, 2 PDPT, 3 PD, 4 PT
;             reason 1 not present, 2 supervisor, 3 read-only, 4 NX, 5 non-canonical
;       RBX, RBP, R12-R15 and RSP are preserved (System V); the tables are
;       only read, never written.
;
; The kernel maps all RAM at physical = virtual, so a table's physical address
; can be read directly. Rights combine over the levels: RW and US must be set
; in every entry (an AND), NX in any entry forbids fetches (an OR).
; =============================================================================

PTE_P           equ 1 << 0
PTE_RW          equ 1 << 1
PTE_US          equ 1 << 2
PTE_PS          equ 1 << 7
WALK_FAULT      equ 1 << 63
ACCESS_WRITE    equ 1
ACCESS_FETCH    equ 2
ACCESS_USER     equ 4

walk:
        mov rax, rsi
        sar rax, 47                     ; bits 63..47: all 0 or all 1 when canonical
        jz walk_canonical
        cmp rax, -1
        je walk_canonical
        mov rax, WALK_FAULT | 5         ; level 0 (none), non-canonical
        ret

walk_canonical:
        mov r8, rdi                     ; R8 = the table to read
        mov r9d, 1                      ; R9 = its level: 1 PML4 .. 4 PT
        mov ecx, 39                     ; CL = where this level's 9-bit index starts
        mov r10, -1                     ; R10 = AND of the entries (RW, US)
        xor r11d, r11d                  ; R11 = OR of the entries (NX)
walk_level:
        mov rax, rsi
        shr rax, cl
        and eax, 511                    ; the index at this level
        lea rdi, [r8 + rax * 8]         ; RDI = where the entry is
        mov rax, [rdi]                  ; RAX = the entry
        test al, PTE_P
        jz walk_not_present             ; P first: the other bits mean nothing without it
        or qword [rdi], 1 << 5          ; set Accessed, "as the MMU does"
        and r10, rax
        or r11, rax
        cmp r9d, 4
        je walk_leaf                    ; a PT entry always maps a 4 KiB page
        cmp r9d, 1
        je walk_table                   ; PS is reserved in a PML4 entry
        test al, PTE_PS
        jnz walk_leaf                   ; a 2 MiB page (PD) or 1 GiB page (PDPT)
walk_table:
        mov r8, 0x000FFFFFFFFFF000
        and r8, rax                     ; the next table's physical address
        inc r9d
        sub ecx, 9
        jmp walk_level

walk_leaf:
        test edx, ACCESS_USER           ; the rights, in the MMU's order
        jz walk_privileged
        test r10, PTE_US
        jz walk_supervisor
walk_privileged:
        mov r8d, edx
        and r8d, 3                      ; the kind of access
        cmp r8d, ACCESS_WRITE
        jne walk_not_a_write
        test r10, PTE_RW
        jz walk_read_only
walk_not_a_write:
        cmp r8d, ACCESS_FETCH
        jne walk_allowed
        bt r11, 63                      ; NX anywhere on the way
        jc walk_no_execute

walk_allowed:
        mov r8, 0x000FFFFFFFFFF000
        and r8, rax                     ; the page's address bits
        mov eax, 1
        shl rax, cl
        dec rax                         ; RAX = page size - 1: the offset mask
        mov rdx, rax
        not rdx
        and r8, rdx                     ; the page's base (2 MiB: bits 20..12 ignored)
        and rax, rsi                    ; the offset inside the page
        or rax, r8
        ret

walk_not_present:
        mov eax, 1
        jmp walk_fault
walk_supervisor:
        mov eax, 2
        jmp walk_fault
walk_read_only:
        mov eax, 3
        jmp walk_fault
walk_no_execute:
        mov eax, 4
walk_fault:
        shl r9, 8
        or rax, r9                      ; level << 8 | reason
        bts rax, 63                     ; WALK_FAULT
        ret

; =============================================================================
; walk -- translate a virtual address as the MMU does, or say why it cannot
;
;  IN:  RDI = CR3: the physical address of the PML4
;       RSI = the virtual address
;       RDX = the access: 0 read, 1 write, 2 fetch; plus 4 for a user access
; OUT:  RAX = the physical address, when the access is allowed
;       RAX = WALK_FAULT | level << 8 | reason, when it is refused:
;             level 0 none (non-canonical), 1 PML4, 2 PDPT, 3 PD, 4 PT
;             reason 1 not present, 2 supervisor, 3 read-only, 4 NX, 5 non-canonical
;       RBX, RBP, R12-R15 and RSP are preserved (System V); RAX, RCX, RDX,
;       RSI, RDI and R8-R11 may change. Never write to the tables.
;
; Tables are at physical = virtual (the kernel's identity map): read an
; entry with  mov rax, [table + index * 8].
; Name every label walk_... (your map_page.asm shares the name space).
; =============================================================================

PTE_P           equ 1 << 0
PTE_RW          equ 1 << 1
PTE_US          equ 1 << 2
PTE_PS          equ 1 << 7
WALK_FAULT      equ 1 << 63

walk:
        ; The worked example from the README: bits 63..47 must be all 0 or all 1.
        mov rax, rsi
        sar rax, 47
        jz walk_canonical
        cmp rax, -1
        je walk_canonical
        mov rax, WALK_FAULT | 5         ; level 0 (none), reason 5: non-canonical
        ret

walk_canonical:
        xor eax, eax                    ; TODO: the four levels (see the README)
        ret

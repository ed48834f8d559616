; adbits.asm -- a WRONG solution of the adbits lab (reports and clears in one pass, so a 2 MiB page is reported only at its first piece): sys_pgaccess and
; sys_pgdirty, system calls that report which pages were accessed (written)
; since the last call, and clear what they report.
;
;   long sys_pgaccess(va, npages, bitmap)       the Accessed bits (A, bit 5)
;   long sys_pgdirty(va, npages, bitmap)        the Dirty bits (D, bit 6)
;
; Bit i of the bitmap (byte i / 8, bit i % 8) is the bit of page va + i * 4096
; as it stood when the call began; every bit past npages in the last byte is 0.
; A page that is not mapped reports 0. A page inside a 2 MiB page (a PD entry
; with PS) reports the 2 MiB page's one bit. The call then clears the bit of
; every page of the range, and invlpg's each page it changed so the next touch
; walks the tables again and sets the bit again.

%include "variant.inc"                  ; PAGES_LIMIT: the variant's largest npages

EINVAL  equ 22

        section .text
        global sys_pgaccess
        global sys_pgdirty

;------------------------------------------------------------------------------
; sys_pgaccess / sys_pgdirty -- the system calls (the same routine, another bit)
;  IN   rdi = va (page-aligned)   rsi = npages (1 .. PAGES_LIMIT)
;       rdx = the user's bitmap, (npages + 7) / 8 bytes
;  OUT  rax = 0, or -EINVAL (nothing written, nothing cleared)
;  Changes every register but rsp (the kernel saves the process's).
;------------------------------------------------------------------------------
sys_pgaccess:
        mov r15, PTE_A
        jmp adbits_report
sys_pgdirty:
        mov r15, PTE_D
        ; fall through

adbits_report:
        test rdi, PAGE_SIZE - 1         ; an address inside a page: refused
        jnz adbits_report_invalid
        test rsi, rsi                   ; no pages at all: refused
        jz adbits_report_invalid
        cmp rsi, PAGES_LIMIT            ; more than the limit: refused
        ja adbits_report_invalid
        mov r12, rdi                    ; r12 = the first page
        mov r13, rsi                    ; r13 = npages
        mov r14, rdx                    ; r14 = the bitmap

        ; the bitmap starts all zero: (npages + 7) / 8 bytes
        lea rcx, [r13 + 7]
        shr rcx, 3
        xor ebx, ebx
adbits_report_zero:
        mov byte [r14 + rbx], 0
        inc rbx
        cmp rbx, rcx
        jb adbits_report_zero

        ; one pass: report each page's bit, and clear it at once
        mov rsi, r15
        not rsi
        xor ebx, ebx                    ; rbx = the page's index in the range
adbits_report_page:
        mov rdi, rbx
        shl rdi, 12
        add rdi, r12
        call adbits_leaf
        test rax, rax
        jz adbits_report_next
        test [rax], r15
        jz adbits_report_next
        and [rax], rsi
        invlpg [rdi]
        mov rax, rbx                    ; set bit rbx: byte rbx / 8, bit rbx % 8
        shr rax, 3
        mov ecx, ebx
        and ecx, 7
        mov dl, 1
        shl dl, cl
        or [r14 + rax], dl
adbits_report_next:
        inc rbx
        cmp rbx, r13
        jb adbits_report_page
        xor eax, eax
        ret

adbits_report_invalid:
        mov rax, -EINVAL
        ret

;------------------------------------------------------------------------------
; adbits_leaf -- the entry that maps a virtual address in the current tables
;  IN   rdi = the virtual address
;  OUT  rax = the entry's address through the direct map (a PT entry, or a PD
;       entry with PS for a 2 MiB page), or 0 when a level is not present
;  Preserves every register but rax, rcx, rdx, r8.
;
;   47     39 38     30 29     21 20     12 11         0
;  +---------+---------+---------+---------+------------+
;  |  PML4   |  PDPT   |   PD    |   PT    |   offset   |
;  +---------+---------+---------+---------+------------+
;------------------------------------------------------------------------------
adbits_leaf:
        mov rax, cr3                    ; rax = this level's table (physical)
        mov ecx, 39                     ; cl = this level's shift: 39, 30, 21, 12
adbits_leaf_level:
        mov rdx, rdi                    ; rdx = the index at this level
        shr rdx, cl
        and edx, 511
        mov r8, PTE_ADDR
        and rax, r8
        lea rax, [rax + rdx * 8]        ; the entry's physical address...
        mov r8, DIRECT_MAP
        add rax, r8                     ; ...and where the kernel reaches it
        mov rdx, [rax]                  ; rdx = the entry
        test rdx, PTE_P
        jz adbits_leaf_none
        cmp ecx, 12
        je adbits_leaf_found            ; a PT entry: the 4 KiB page's
        cmp ecx, 39
        je adbits_leaf_down             ; PS means nothing in a PML4 entry
        test rdx, PTE_PS
        jnz adbits_leaf_found           ; a 2 MiB page: the PD entry is the leaf
adbits_leaf_down:
        mov rax, rdx                    ; the next table
        sub ecx, 9
        jmp adbits_leaf_level
adbits_leaf_found:
        ret
adbits_leaf_none:
        xor eax, eax
        ret

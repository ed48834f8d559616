; adbits.asm -- your sys_pgaccess and sys_pgdirty (the adbits lab; README.md).
;
;   long sys_pgaccess(va, npages, bitmap)       the Accessed bits (A, bit 5)
;   long sys_pgdirty(va, npages, bitmap)        the Dirty bits (D, bit 6)
;
; Both run in kernel mode on the calling process's CR3 (see the README's
; contract). The names you can use without defining them: DIRECT_MAP,
; PAGE_SIZE, PTE_P, PTE_RW, PTE_US, PTE_A, PTE_D, PTE_PS, PTE_ADDR. Your
; variant's largest npages is PAGES_LIMIT, in variant.inc (the grader uses its
; own copy of that file: do not change the value).

%include "variant.inc"

ENOSYS  equ 38

        section .text
        global sys_pgaccess
        global sys_pgdirty

;------------------------------------------------------------------------------
; sys_pgaccess -- report, then clear, the A bits of npages pages from va
;  IN   rdi = va (must be page-aligned)   rsi = npages (1 .. PAGES_LIMIT)
;       rdx = the user's bitmap: (npages + 7) / 8 bytes, bit i = page va + i * 4096
;  OUT  rax = 0, or -22 (EINVAL): nothing written, nothing cleared
;------------------------------------------------------------------------------
sys_pgaccess:
        ; TODO 1: refuse an unaligned va, npages = 0 and npages > PAGES_LIMIT.
        ; TODO 2: zero the (npages + 7) / 8 bytes of the bitmap.
        ; TODO 3: for each page, find its leaf entry (walk from CR3 through
        ;         DIRECT_MAP; a PD entry with PS is the leaf of a 2 MiB page)
        ;         and set bit i when the entry has PTE_A.
        ; TODO 4: then clear PTE_A in every leaf of the range, and invlpg.
        mov rax, -ENOSYS
        ret

;------------------------------------------------------------------------------
; sys_pgdirty -- the same for the D bits
;------------------------------------------------------------------------------
sys_pgdirty:
        ; TODO: share the code with sys_pgaccess; only the bit differs.
        mov rax, -ENOSYS
        ret

; =============================================================================
; map_page -- map one 4 KiB page, making the tables on the way
;
;  IN:  RDI = CR3: the physical address of the PML4
;       RSI = the virtual address (4 KiB aligned, canonical, lower half)
;       RDX = the physical address (4 KiB aligned)
;       RCX = the leaf's flags: any of RW (2), US (4), NX (1 << 63); add P yourself
; OUT:  RAX = 0 when mapped; 1 when the page was mapped already (leave its
;       entry alone); 2 when alloc_table ran out of frames (keep what you
;       allocated linked in: no frame may leak)
;       RBX, RBP, R12-R15 and RSP are preserved (System V).
;
; A missing table: call alloc_table (RAX = a zeroed frame, or 0; it keeps
; every other register), and link it in with P | RW | US (7): the leaf alone
; decides the page's rights.
; Name every label map_page_... (your walk.asm shares the name space).
; =============================================================================

map_page:
        mov eax, 2                      ; TODO: walk down, allocate, write the leaf
        ret

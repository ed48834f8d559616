; =============================================================================
; alloc_table -- a zeroed 4 KiB frame for a new page table (given: do not submit)
;
;  IN:  nothing
; OUT:  RAX = the frame's physical address, or 0 when the pool is used up
;       Every other register is preserved; flags may change; DF is clear.
;
; Frames come one after the other from [alloc_table_next, alloc_table_end),
; which the checker sets before calling map_page; alloc_table_count says how
; many were handed out (the checker compares it with the tables it finds).
; =============================================================================

alloc_table:
        mov rax, [alloc_table_next]
        cmp rax, [alloc_table_end]
        jae alloc_table_empty
        push rcx
        push rdi
        mov rdi, rax
        xor eax, eax
        mov ecx, 512
        cld
        rep stosq                       ; zero the frame
        pop rdi
        pop rcx
        mov rax, [alloc_table_next]
        add qword [alloc_table_next], 4096
        inc qword [alloc_table_count]
        ret
alloc_table_empty:
        xor eax, eax
        ret

alloc_table_next:
        dq 0
alloc_table_end:
        dq 0
alloc_table_count:
        dq 0

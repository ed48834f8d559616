; =============================================================================
; os_mem_get_free -- how much of the os_MemoryMap is free
;                    (reference solution: every variant's rule)
;
;  IN:  nothing
; OUT:  RCX = free-count: the number of free chunks
;             largest-run: the length of the longest run of free chunks
;       Every other register is preserved; DF is clear on return.
; =============================================================================

os_mem_get_free:
        push rax
        push rdx
        push rsi
        push rdi
        cld

        mov esi, [os_MemAmount]
        shr rsi, 1                      ; RSI = entries that describe RAM
        xor ecx, ecx                    ; RCX = free chunks seen
        xor edx, edx                    ; RDX = longest free run seen
        xor eax, eax                    ; RAX = length of the current free run
        xor edi, edi                    ; RDI = entry to examine
os_mem_get_free_next:
        cmp rdi, rsi
        jae os_mem_get_free_end
        cmp byte [os_MemoryMap + rdi], CHUNK_FREE
        jne os_mem_get_free_used
        inc rcx
        inc rax
        cmp rax, rdx
        jbe os_mem_get_free_step
        mov rdx, rax                    ; a new longest run
        jmp os_mem_get_free_step
os_mem_get_free_used:
        xor eax, eax                    ; the run is broken
os_mem_get_free_step:
        inc rdi
        jmp os_mem_get_free_next

os_mem_get_free_end:
        cmp byte [os_mem_get_free_rule], MEMMAP_LARGEST_RUN
        jne os_mem_get_free_done
        mov rcx, rdx
os_mem_get_free_done:
        cld
        pop rdi
        pop rsi
        pop rdx
        pop rax
        ret

os_mem_get_free_rule:
        db MEMMAP_GET_FREE              ; from variant.asm

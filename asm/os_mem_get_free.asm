; =============================================================================
; os_mem_get_free -- count the free 2 MiB chunks in the os_MemoryMap
;
;  IN:  nothing
; OUT:  RCX = number of free chunks
;       Every other register is preserved; flags are clobbered; DF is clear.
;
; Only the entries that describe RAM (os_MemAmount / 2 of them) are read. The
; 2014 original read 65,535 entries whatever the RAM size, and never the last.
; =============================================================================

os_mem_get_free:
        push rax
        push rsi

        mov esi, [os_MemAmount]
        shr rsi, 1                      ; RSI = entries that describe RAM
        xor ecx, ecx
.next:
        test rsi, rsi
        jz .done
        dec rsi
        cmp byte [os_MemoryMap + rsi], CHUNK_FREE
        jne .next
        inc rcx
        jmp .next
.done:
        cld
        pop rsi
        pop rax
        ret

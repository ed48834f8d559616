; =============================================================================
; os_mem_allocate -- take contiguous 2 MiB chunks from the os_MemoryMap
;
;  IN:  RCX = number of contiguous 2 MiB chunks wanted
; OUT:  RAX = physical address of the lowest chunk taken (chunk index << 21),
;             or 0 when RCX is 0 or no run of RCX free chunks exists
;       Every other register is preserved; flags are clobbered; DF is clear.
;
; The os_MemoryMap holds one byte per chunk: 0 = no RAM, 1 = free, 2 = used.
; Entries 0 .. os_MemAmount/2 - 1 describe RAM. The search runs from the highest
; entry down, counting consecutive free entries, and takes the first run of RCX
; it meets: the highest run that fits. kernel/memory_map.py does the same on
; the same bytes, and a differential test holds the two together.
;
; Where this differs from BareMetal's 2014 os_mem_allocate, on purpose:
;  * every entry down to index 0 is examined; the original stopped when its
;    pointer reached the start of the map, so entries 0 and 1 were never used
;    (a request that only fits at chunk 1 failed);
;  * the scan walks an index with ordinary loads instead of STD + LODSB, so
;    DF is never set and a fault mid-scan cannot leave it set;
;  * a count larger than the whole map fails at once instead of scanning.
; =============================================================================

os_mem_allocate:
        push rbx
        push rcx
        push rsi
        push rdi

        xor eax, eax                    ; assume failure: RAX = 0
        test rcx, rcx
        jz .done                        ; a count of 0 gets nothing

        mov esi, [os_MemAmount]         ; RAM in MiB ...
        shr rsi, 1                      ; ... / 2 = entries that describe RAM
        cmp rcx, rsi
        ja .done                        ; more chunks than the machine has

        mov rbx, rcx                    ; RBX = free chunks still needed
.next:
        test rsi, rsi
        jz .done                        ; examined entry 0: no run fits
        dec rsi                         ; RSI = index of the entry to examine
        cmp byte [os_MemoryMap + rsi], CHUNK_FREE
        jne .restart
        dec rbx                         ; one more free chunk in this run
        jnz .next

        ; Entries RSI .. RSI+RCX-1 are free: mark them used (RCX still = count).
        lea rdi, [os_MemoryMap + rsi]
        mov al, CHUNK_USED
        cld
        rep stosb
        mov rax, rsi
        shl rax, CHUNK_SHIFT            ; chunk index -> physical address
        jmp .done

.restart:
        mov rbx, [rsp + 16]             ; the entry was not free: count from scratch
        jmp .next                       ;   (RCX as saved on entry)

.done:
        cld
        pop rdi
        pop rsi
        pop rcx
        pop rbx
        ret

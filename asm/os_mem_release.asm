; =============================================================================
; os_mem_release -- give chunks taken by os_mem_allocate back to the os_MemoryMap
;
;  IN:  RAX = physical address of the first chunk (as os_mem_allocate returned)
;       RCX = number of chunks
; OUT:  RCX = number of chunks released: the count on success, 0 if refused
;       Every other register is preserved; flags are clobbered; DF is clear.
;
; The release is refused, and the map left unchanged, when RAX is 0 or not a
; multiple of 2 MiB, when RCX is 0, when the range runs past the end of RAM, or
; when any chunk in it is not currently used. The 2014 original checked nothing
; and wrote 1s wherever RAX pointed: a wrong address could free the kernel's
; own chunk or write past the map.
; =============================================================================

os_mem_release:
        push rax
        push rdi
        push rsi

        test rax, rax
        jz .refuse                      ; 0 is what a failed allocate returns
        test rax, CHUNK_SIZE - 1
        jnz .refuse                     ; not on a chunk boundary
        test rcx, rcx
        jz .refuse

        shr rax, CHUNK_SHIFT            ; RAX = index of the first chunk
        mov esi, [os_MemAmount]
        shr rsi, 1                      ; RSI = entries that describe RAM
        cmp rax, rsi
        jae .refuse
        sub rsi, rax
        cmp rcx, rsi
        ja .refuse                      ; the range runs past the end of RAM

        ; Every chunk in the range must be in use, or nothing changes.
        lea rdi, [os_MemoryMap + rax]
        xor esi, esi                    ; RSI = offset into the range
.check:
        cmp byte [rdi + rsi], CHUNK_USED
        jne .refuse
        inc rsi
        cmp rsi, rcx
        jb .check

        mov al, CHUNK_FREE              ; RDI and RCX are set up for the fill
        push rcx
        cld
        rep stosb
        pop rcx                         ; OUT: the count released
        jmp .done

.refuse:
        xor ecx, ecx                    ; OUT: nothing released
.done:
        cld
        pop rsi
        pop rdi
        pop rax
        ret

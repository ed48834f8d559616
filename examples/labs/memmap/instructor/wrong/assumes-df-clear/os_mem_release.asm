; =============================================================================
; os_mem_release -- give chunks back to the os_MemoryMap
;                   (reference solution: every variant's release rule)
;
;  IN:  RAX = physical address of the first chunk, RCX = number of chunks
; OUT:  RCX = chunks released (0 when refused)
;       Every other register is preserved; DF is clear on return.
;
; Refused whatever the rule (RCX = 0, map unchanged): RAX is 0 or not a chunk
; boundary, RCX is 0, or the range runs past the end of RAM. Then:
;   all-or-nothing  refuse unless every chunk in the range is used; else free all
;   best-effort     free the used chunks of the range; RCX = how many
; =============================================================================

os_mem_release:
        push rax
        push rdx
        push rsi
        push rdi

        test rax, rax
        jz os_mem_release_refuse        ; 0 is what a failed allocate returns
        test rax, CHUNK_SIZE - 1
        jnz os_mem_release_refuse       ; not on a chunk boundary
        test rcx, rcx
        jz os_mem_release_refuse
        shr rax, CHUNK_SHIFT            ; RAX = first entry
        mov esi, [os_MemAmount]
        shr rsi, 1                      ; RSI = entries that describe RAM
        cmp rax, rsi
        jae os_mem_release_refuse
        sub rsi, rax                    ; RSI = entries from RAX to the end
        cmp rcx, rsi
        ja os_mem_release_refuse        ; the range runs past the end of RAM
        lea rdi, [os_MemoryMap + rax]   ; RDI = first entry of the range

        cmp byte [os_mem_release_rule], MEMMAP_BEST_EFFORT
        je os_mem_release_each

        xor esi, esi                    ; all or nothing: every entry must be used
os_mem_release_check:
        cmp byte [rdi + rsi], CHUNK_USED
        jne os_mem_release_refuse
        inc rsi
        cmp rsi, rcx
        jb os_mem_release_check
        mov al, CHUNK_FREE
        push rcx
        rep stosb                       ; free them all
        pop rcx
        jmp os_mem_release_done

os_mem_release_each:
        xor edx, edx                    ; RDX = chunks freed so far
        xor esi, esi
os_mem_release_next:
        cmp byte [rdi + rsi], CHUNK_USED
        jne os_mem_release_skip         ; free already: nothing to give back
        mov byte [rdi + rsi], CHUNK_FREE
        inc rdx
os_mem_release_skip:
        inc rsi
        cmp rsi, rcx
        jb os_mem_release_next
        mov rcx, rdx
        jmp os_mem_release_done

os_mem_release_refuse:
        xor ecx, ecx
os_mem_release_done:
        pop rdi
        pop rsi
        pop rdx
        pop rax
        ret

os_mem_release_rule:
        db MEMMAP_RELEASE               ; from variant.asm

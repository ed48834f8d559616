; =============================================================================
; os_mem_allocate -- take contiguous 2 MiB chunks from the os_MemoryMap
;                    (reference solution: every variant's policy)
;
;  IN:  RCX = number of contiguous 2 MiB chunks wanted
; OUT:  RAX = physical address of the first chunk taken (index << 21), or 0
;       when RCX is 0 or no run of RCX free chunks exists
;       Every other register is preserved; DF is clear on return.
;
; One upward scan finds every maximal run of free entries (entry 0 is the
; kernel's and never free, so the scan starts at entry 1). Each run at least
; RCX long is offered to the variant's policy:
;   highest fit       the last such run wins; its top RCX chunks are taken
;   lowest first fit  the first such run wins at once
;   best fit          the shortest such run wins (the first of equals)
; =============================================================================

os_mem_allocate:
        push rbx
        push rcx
        push rsi
        push rdi
        push r8
        cld                             ; the caller may have left DF set

        xor eax, eax                    ; assume failure: RAX = 0
        test rcx, rcx
        jz os_mem_allocate_done         ; a count of 0 gets nothing
        mov esi, [os_MemAmount]
        shr rsi, 1                      ; RSI = entries that describe RAM
        cmp rcx, rsi
        ja os_mem_allocate_done         ; more chunks than the machine has

        mov edi, 1                      ; RDI = entry to examine
        mov r8, -1                      ; R8 = first entry of the chosen run: none yet
        xor edx, edx                    ; RDX = length of the chosen run

os_mem_allocate_scan:
        cmp rdi, rsi
        jae os_mem_allocate_chosen      ; examined every entry
        cmp byte [os_MemoryMap + rdi], CHUNK_FREE
        je os_mem_allocate_run_start
        inc rdi
        jmp os_mem_allocate_scan

os_mem_allocate_run_start:
        mov rbx, rdi                    ; RBX = first entry of this free run
os_mem_allocate_run:
        inc rdi
        cmp rdi, rsi
        jae os_mem_allocate_run_end
        cmp byte [os_MemoryMap + rdi], CHUNK_FREE
        je os_mem_allocate_run
os_mem_allocate_run_end:
        mov rax, rdi
        sub rax, rbx                    ; RAX = length of this run
        cmp rax, rcx
        jb os_mem_allocate_scan         ; too short: keep looking

        cmp byte [os_mem_allocate_policy], MEMMAP_LOWEST_FIRST_FIT
        je os_mem_allocate_take_first
        cmp byte [os_mem_allocate_policy], MEMMAP_BEST_FIT
        je os_mem_allocate_best

        mov r8, rdi                     ; highest fit: the top RCX chunks of the
        sub r8, rcx                     ;   highest run that fits (later runs win)
        jmp os_mem_allocate_scan

os_mem_allocate_best:
        cmp r8, -1
        je os_mem_allocate_better       ; the first run that fits
        cmp rax, rdx
        jae os_mem_allocate_scan        ; not shorter than the one we have
os_mem_allocate_better:
        mov r8, rbx
        mov rdx, rax
        jmp os_mem_allocate_scan

os_mem_allocate_take_first:
        mov r8, rbx                     ; lowest first fit: this run, now

os_mem_allocate_chosen:
        xor eax, eax
        cmp r8, -1
        je os_mem_allocate_done         ; no run fits
        lea rdi, [os_MemoryMap + r8]    ; mark RCX entries from R8 used
        mov al, CHUNK_USED
        rep stosb
        mov rax, r8
        shl rax, CHUNK_SHIFT            ; entry index -> physical address

os_mem_allocate_done:
        cld
        pop r8
        pop rdi
        pop rsi
        pop rcx
        pop rbx
        ret

os_mem_allocate_policy:
        db MEMMAP_POLICY                ; from variant.asm

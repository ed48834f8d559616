; =============================================================================
; os_mem_allocate -- lowest first fit, checking every window from scratch
;
;  IN:  RCX = number of contiguous 2 MiB chunks wanted
; OUT:  RAX = physical address of the first chunk taken, or 0
;       Every other register is preserved; DF is clear on return.
;
; For each start entry S from 1 up, look at entries S .. S+RCX-1; at the first
; used one, move on to S+1 and look again. Right, but a map of free runs one
; chunk too short costs RCX reads per entry instead of one.
; =============================================================================

os_mem_allocate:
        push rbx
        push rcx
        push rsi
        push rdi
        cld

        xor eax, eax
        test rcx, rcx
        jz os_mem_allocate_done
        mov esi, [os_MemAmount]
        shr rsi, 1                      ; RSI = entries
        cmp rcx, rsi
        ja os_mem_allocate_done
        sub rsi, rcx                    ; RSI = the last start that could fit
        mov edi, 1                      ; RDI = start of the window
os_mem_allocate_window:
        cmp rdi, rsi
        ja os_mem_allocate_done         ; no window fits: RAX = 0
        xor ebx, ebx                    ; RBX = offset inside the window
os_mem_allocate_look:
        lea rax, [rdi + rbx]
        cmp byte [os_MemoryMap + rax], CHUNK_FREE
        jne os_mem_allocate_slide
        inc rbx
        cmp rbx, rcx
        jb os_mem_allocate_look
        lea rdi, [os_MemoryMap + rdi]   ; the whole window is free: take it
        mov rbx, rdi
        mov al, CHUNK_USED
        rep stosb
        mov rax, rbx
        sub rax, os_MemoryMap
        shl rax, CHUNK_SHIFT
        jmp os_mem_allocate_done
os_mem_allocate_slide:
        xor eax, eax
        inc rdi                         ; start again one entry further
        jmp os_mem_allocate_window

os_mem_allocate_done:
        cld
        pop rdi
        pop rsi
        pop rcx
        pop rbx
        ret

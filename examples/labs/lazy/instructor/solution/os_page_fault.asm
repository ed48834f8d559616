; os_page_fault.asm -- the lazy lab's reference page-fault handler.
;
; Called by the kernel for every page fault a user process takes
; (emu run --kernel os_page_fault.asm --on-fault os_page_fault --junk-frames).
; Maps a zeroed frame at the faulting page when the address lies in a VMA that
; allows the access (and, in the stack, not deeper than the stack limit),
; making the page tables on the way down; refuses everything else, and the
; process gets SIGSEGV.
;
;   os_page_fault
;     IN   rdi = faulting address   rsi = error code (PF_*)   rdx = PML4 (physical)
;     OUT  rax = 0 handled (the instruction runs again), 1 refused (SIGSEGV)
;     uses every register (the kernel saves the process's)

%include "variant.inc"                  ; STACK_TOP, STACK_LIMIT: your variant's

        section .text
        global os_page_fault
os_page_fault:
        push rbp
        mov rbp, rsp
        sub rsp, EMU_VMA_SIZE + 8       ; struct emu_vma at [rsp], 16-byte aligned
        mov r12, rdi                    ; r12 = the address
        mov r13, rsi                    ; r13 = the error code
        mov r14, rdx                    ; r14 = the PML4
        test r13, PF_PRESENT            ; the page is there but the access is not
        jnz .refuse                     ;   allowed: a protection fault, SIGSEGV
        mov rsi, rsp
        call kernel_find_vma            ; rdi is still the address
        test rax, rax
        jz .refuse                      ; no VMA: a wild address
        mov r15, [rsp + EMU_VMA_PROT]   ; r15 = the VMA's PROT_*
        test r15, r15
        jz .refuse                      ; PROT_NONE: nothing is allowed
        test r13, PF_WRITE
        jz .not_write
        test r15, PROT_WRITE
        jz .refuse                      ; a write to a read-only VMA
.not_write:
        test r13, PF_FETCH
        jz .stack_check
        test r15, PROT_EXEC
        jz .refuse                      ; running data
.stack_check:
        mov rax, STACK_TOP
        cmp [rsp + EMU_VMA_END], rax
        jne .walk                       ; not the stack: any page of the VMA
        mov rax, STACK_TOP - STACK_LIMIT
        cmp r12, rax
        jb .refuse                      ; deeper than the stack may grow
.walk:
        ; down from the PML4: shifts 39, 30, 21, making missing tables
        mov rbx, r14                    ; rbx = the table at this level (physical)
        mov rcx, 39
.level:
        mov rax, r12
        shr rax, cl
        and rax, 511
        lea rdi, [rbx + rax * 8]        ; the entry, physical ...
        mov rax, DIRECT_MAP
        add rdi, rax                    ; ... and through the direct map
        mov rax, [rdi]
        test rax, PTE_P
        jnz .present
        push rcx
        push rdi
        call os_page_fault_zeroed_frame ; a new, empty table
        pop rdi
        pop rcx
        test rax, rax
        jz .refuse                      ; out of memory
        or rax, PTE_P | PTE_RW | PTE_US ; tables allow everything: the leaf decides
        mov [rdi], rax
.present:
        mov rbx, PTE_ADDR
        and rbx, rax                    ; the next table
        sub rcx, 9
        cmp rcx, 12                     ; PML4, PDPT and PD done: rbx is the page table
        ja .level
        mov rax, r12                    ; the leaf entry
        shr rax, 12
        and rax, 511
        lea rdi, [rbx + rax * 8]
        mov rax, DIRECT_MAP
        add rdi, rax
        push rdi
        push rdi
        call os_page_fault_zeroed_frame ; the page itself
        pop rdi
        pop rdi
        test rax, rax
        jz .refuse
        or rax, PTE_P | PTE_US
        test r15, PROT_WRITE
        jz .read_only
        or rax, PTE_RW
.read_only:
        test r15, PROT_EXEC
        jnz .executable
        mov rdx, PTE_NX
        or rax, rdx
.executable:
        mov [rdi], rax                  ; not present before: nothing to invlpg
        xor eax, eax
        leave
        ret
.refuse:
        mov eax, 1
        leave
        ret

; os_page_fault_zeroed_frame: kernel_alloc_frame, then zero it (frames come
; full of junk, as xv6's kalloc leaves them).
;   OUT  rax = the frame's physical address, or 0 (out of memory)
;   uses rcx, rdx, rdi
os_page_fault_zeroed_frame:
        call kernel_alloc_frame
        test rax, rax
        jz .done
        mov rdx, rax                    ; keep the physical address
        mov rdi, DIRECT_MAP
        add rdi, rax                    ; write it through the direct map
        mov ecx, PAGE_SIZE / 8
        xor eax, eax
        rep stosq
        mov rax, rdx
.done:
        ret

; os_page_fault.asm -- the cow lab's reference page-fault handler.
;
; After fork, parent and child map every private page to the same frame,
; read-only in both, and the frame counts one reference per mapping (the
; kernel's fork does that). The first write from either side faults here:
; a write to a present page of a VMA that allows writing. Then
;
;   the frame has other references  copy it into a new frame, map the copy
;                                   writable, drop our reference to the old one
;   we hold the last reference      map the same frame writable again
;
; and invlpg the page either way: the CPU may still hold the read-only
; translation. A fault on a page that is not present goes to the kernel's
; own demand paging (kernel_demand_page); everything else is refused.
;
;   os_page_fault
;     IN   rdi = faulting address   rsi = error code (PF_*)   rdx = PML4 (physical)
;     OUT  rax = 0 handled (the instruction runs again), else SIGSEGV
;     uses every register (the kernel saves the process's)

        section .text
        global os_page_fault
os_page_fault:
        push rbp
        mov rbp, rsp
        sub rsp, EMU_VMA_SIZE + 8       ; struct emu_vma at [rsp]
        mov r12, rdi                    ; r12 = the address
        mov r13, rsi                    ; r13 = the error code
        mov r14, rdx                    ; r14 = the PML4
        test r13, PF_PRESENT
        jnz .present
        call kernel_demand_page         ; not present: the kernel's (rdi, rsi as given)
        leave
        ret
.present:
        test r13, PF_WRITE
        jz .refuse                      ; a read or a fetch the page does not allow
        mov rdi, r12
        mov rsi, rsp
        call kernel_find_vma
        test rax, rax
        jz .refuse
        test qword [rsp + EMU_VMA_PROT], PROT_WRITE
        jz .refuse                      ; a read-only mapping stays read-only
        test qword [rsp + EMU_VMA_FLAGS], VMA_SHARED
        jnz .refuse                     ; MAP_SHARED pages are never copied
        ; find the leaf entry: every level is present (the page is)
        mov rbx, r14
        mov rcx, 39
.level:
        mov rax, r12
        shr rax, cl
        and rax, 511
        lea rdi, [rbx + rax * 8]
        mov rax, DIRECT_MAP
        add rdi, rax                    ; the entry, through the direct map
        mov rax, [rdi]
        test rax, PTE_P
        jz .refuse
        test rax, PTE_PS
        jnz .refuse                     ; a 2 MiB page: not a user page of ours
        mov rbx, PTE_ADDR
        and rbx, rax                    ; the next table, or the frame
        sub rcx, 9
        cmp rcx, 3                      ; 39, 30, 21, 12 done
        ja .level
        ; rdi = the leaf entry (virtual), rax = its value, rbx = the frame
        test rax, PTE_RW
        jnz .refuse                     ; writable and still a write fault: not ours
        mov r15, rdi                    ; r15 = the leaf entry
        mov rdi, rbx
        call kernel_frame_refs
        cmp rax, 1
        ja .copy
        or qword [r15], PTE_RW          ; the last reference: take it back writable
        jmp .flush
.copy:
        call kernel_alloc_frame         ; rbx = the shared frame (calls keep rbx)
        test rax, rax
        jz .refuse                      ; out of memory: SIGSEGV, as xv6 kills
        mov r8, rax                     ; r8 = the copy
        mov rsi, DIRECT_MAP
        lea rdi, [rsi + r8]
        add rsi, rbx
        mov ecx, PAGE_SIZE / 8
        rep movsq                       ; the copy gets the shared frame's bytes
        mov rax, [r15]
        mov rdx, PTE_ADDR
        not rdx
        and rax, rdx                    ; the entry's flags ...
        or rax, r8                      ; ... on the copy ...
        or rax, PTE_RW                  ; ... writable
        mov [r15], rax
        mov rdi, rbx
        call kernel_free_frame          ; our reference to the shared frame goes
.flush:
        invlpg [r12]                    ; drop the read-only translation
        xor eax, eax
        leave
        ret
.refuse:
        mov eax, 1
        leave
        ret

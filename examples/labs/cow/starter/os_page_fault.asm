; os_page_fault.asm -- your copy-on-write page-fault handler (the cow lab;
; see README.md).
;
; The kernel's fork has shared every private page between parent and child:
; the same frame, read-only in both, one reference per mapping. The first
; write from either side faults here.
;
;   os_page_fault
;     IN   rdi = faulting address (CR2)
;          rsi = error code: PF_PRESENT 1, PF_WRITE 2, PF_USER 4, PF_FETCH 16
;          rdx = the PML4's physical address (CR3)
;          rcx = the faulting instruction
;     OUT  rax = 0 handled (the instruction runs again), else SIGSEGV
;     may use every register (the kernel saves the process's)
;
; Services (call them; only rax changes): kernel_demand_page(va, error),
; kernel_find_vma(va, out), kernel_frame_refs(pa), kernel_alloc_frame(),
; kernel_free_frame(pa) (drops one reference), kernel_log(text).

        section .text
        global os_page_fault
os_page_fault:
        test rsi, PF_PRESENT
        jnz .present
        jmp kernel_demand_page          ; not present: the kernel maps it (rdi, rsi)
.present:
        ; TODO 1: only a write (PF_WRITE) to a VMA with PROT_WRITE that is not
        ;         VMA_SHARED is copy-on-write; refuse everything else.
        ; TODO 2: find the leaf entry (walk from rdx through DIRECT_MAP).
        ; TODO 3: kernel_frame_refs(frame) > 1: copy the frame into a new one,
        ;         point the entry at the copy with PTE_RW, kernel_free_frame the
        ;         old frame. Else: set PTE_RW on the entry.
        ; TODO 4: invlpg the page, return 0.
        mov eax, 1                      ; for now: SIGSEGV
        ret

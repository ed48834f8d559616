; os_page_fault.asm -- your page-fault handler (the lazy lab; see README.md).
;
; The kernel calls os_page_fault for every page fault a user process takes.
; Map a zeroed frame at the faulting page when the address lies in a VMA that
; allows the access (in [stack], not below STACK_TOP - STACK_LIMIT); refuse
; everything else: the process then gets SIGSEGV.
;
;   os_page_fault
;     IN   rdi = faulting address (CR2)
;          rsi = error code: PF_PRESENT 1, PF_WRITE 2, PF_USER 4, PF_FETCH 16
;          rdx = the PML4's physical address (CR3)
;          rcx = the faulting instruction
;     OUT  rax = 0 handled (the instruction runs again), else SIGSEGV
;     may use every register (the kernel saves the process's)
;
; Services (call them; only rax changes): kernel_find_vma(va, out),
; kernel_alloc_frame() (a frame FULL OF JUNK: zero it), kernel_free_frame(pa),
; kernel_log(text). Constants: DIRECT_MAP, PTE_*, PF_*, PROT_*, EMU_VMA_*.

%include "variant.inc"                  ; STACK_TOP, STACK_LIMIT (your variant's)

        section .text
        global os_page_fault
os_page_fault:
        ; TODO 1: refuse protection faults (PF_PRESENT): the page is there.
        ; TODO 2: kernel_find_vma(rdi, buffer on your stack); no VMA: refuse.
        ; TODO 3: refuse accesses the VMA's prot does not allow (PF_WRITE,
        ;         PF_FETCH, PROT_NONE), and stack addresses below the limit.
        ; TODO 4: walk the 4 levels from rdx through DIRECT_MAP, making each
        ;         missing table from a zeroed frame (PTE_P | PTE_RW | PTE_US).
        ; TODO 5: put a zeroed frame in the leaf with the VMA's rights
        ;         (PTE_RW if PROT_WRITE, PTE_NX unless PROT_EXEC), return 0.
        mov eax, 1                      ; for now: refuse everything
        ret

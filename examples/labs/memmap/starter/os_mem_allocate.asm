; =============================================================================
; os_mem_allocate -- take contiguous 2 MiB chunks from the os_MemoryMap
;
;  IN:  RCX = number of contiguous 2 MiB chunks wanted
; OUT:  RAX = physical address of the first chunk taken (its index << 21),
;             or 0 when RCX is 0 or no run of RCX free chunks exists
;       Every other register is preserved (flags may change); DF is clear
;       on return, whatever it was on entry.
;
; Your variant ({{variant}}): {{policy}}.
;   {{policy_text}}
; Entry 0 is the kernel's chunk and is never free; examine every other entry.
; Name every label os_mem_allocate_... (the three files share one name space).
; =============================================================================

os_mem_allocate:
        xor eax, eax                    ; TODO: find a run, mark it used (CHUNK_USED)
        ret

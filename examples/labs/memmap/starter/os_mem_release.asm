; =============================================================================
; os_mem_release -- give chunks back to the os_MemoryMap
;
;  IN:  RAX = physical address of the first chunk (as os_mem_allocate returned)
;       RCX = number of chunks
; OUT:  RCX = number of chunks released (0 when refused)
;       Every other register is preserved (flags may change); DF is clear.
;
; Refuse (RCX = 0, map unchanged) when RAX is 0 or not a multiple of 2 MiB,
; when RCX is 0, or when the range runs past the end of RAM. Then your
; variant's rule ({{variant}}): {{release_rule}}.
;   {{release_text}}
; Name every label os_mem_release_...
; =============================================================================

os_mem_release:
        xor ecx, ecx                    ; TODO: check the range, mark it CHUNK_FREE
        ret

; =============================================================================
; os_mem_get_free -- how much of the os_MemoryMap is free
;
;  IN:  nothing
; OUT:  RCX = your variant's answer ({{variant}}): {{get_free_rule}}.
;             {{get_free_text}}
;       Every other register is preserved (flags may change); DF is clear.
;
; Read only the entries that describe RAM: os_MemAmount (a dword, in MiB) / 2.
; Name every label os_mem_get_free_...
; =============================================================================

os_mem_get_free:
        xor ecx, ecx                    ; TODO: scan the map
        ret

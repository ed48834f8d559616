; project_firstfit.asm -- the project's first-fit allocator in asm (asm/allocators/),
; with the C runtime functions they call at fixed addresses and `extern`
; turned into nothing: NASM's flat binaries have no external symbols.

mem_sbrk        equ 0x40100000
mem_reset_brk   equ 0x40100100
mem_heap_lo     equ 0x40100200

%macro extern 1+
%endmacro

%include "../../../asm/allocators/firstfit.asm"

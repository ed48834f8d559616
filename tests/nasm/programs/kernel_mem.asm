; kernel_mem.asm -- a kernel routine in BareMetal style, with the preprocessor:
; the system variables come from an %include, registers are saved by macros,
; and a DEBUG build counts calls.
;
; os_mem_count_free -- count the free 2 MiB chunks in the os_MemoryMap
;  IN:  nothing
; OUT:  RCX = free chunks
;       every other register is preserved; DF is clear

[BITS 64]

%include "sysvar.inc"

%define DEBUG

; PUSHREGS r1, r2, ... / POPREGS r1, r2, ...: save and restore in mirror order
%macro PUSHREGS 1-*
%rep %0
        push %1
%rotate 1
%endrep
%endmacro

%macro POPREGS 1-*
%rep %0
%rotate -1
        pop %1
%endrep
%endmacro

        section .text
os_mem_count_free:
        PUSHREGS rax, rsi, rdx
        xor ecx, ecx
        mov edx, DWORD[os_MemAmount]
        shr edx, 1                      ; entries that describe RAM
        mov esi, os_MemoryMap
.next:
        test rdx, rdx
        jz .done
        dec rdx
        cmp byte [rsi + rdx], CHUNK_FREE
        jne .next
        inc rcx
        jmp .next
.done:
%ifdef DEBUG
        inc qword [call_count]
%else
        nop
%endif
%if CHUNK_SHIFT != 21
%error chunks must be 2 MiB
%endif
        cld
        POPREGS rax, rsi, rdx
        ret

        section .data
call_count dq 0
chunk_size dq 1 << CHUNK_SHIFT

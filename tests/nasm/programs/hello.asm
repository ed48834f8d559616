; hello.asm -- write(1, msg, len) and exit(0), at the level of system calls,
; written the way NASM tutorials write it: labels without colons, a macro per
; system call, the message length from `$`.

%define SYS_WRITE 1
%define SYS_EXIT  60
%define STDOUT    1

; syscall3 NUMBER, ARG1, ARG2, ARG3 -- rax = NUMBER, rdi/rsi/rdx = the arguments
%macro syscall3 4
        mov eax, %1
        mov edi, %2
        mov rsi, %3
        mov edx, %4
        syscall
%endmacro

        section .text
        global _start
_start:
        syscall3 SYS_WRITE, STDOUT, msg, msg_len
        cmp rax, msg_len
        jne .failed                     ; a short write is a failure too
        xor edi, edi
        jmp .exit
.failed:
        mov edi, 1
.exit:
        mov eax, SYS_EXIT
        syscall

        section .rodata
msg     db "Hello from the guest!", 10
msg_len equ $ - msg

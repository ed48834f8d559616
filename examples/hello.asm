; hello.asm -- the smallest program: write(1, msg, len) then exit(0).
; Run it:  emu run examples/hello.asm --strace

        section .text
        global _start
_start:
        mov eax, 1              ; write
        mov edi, 1              ; fd 1: stdout
        lea rsi, [rel msg]
        mov edx, msg_len
        syscall

        mov eax, 60             ; exit
        xor edi, edi            ; status 0
        syscall

        section .rodata
msg:    db "Hello from the guest!", 10
msg_len equ $ - msg

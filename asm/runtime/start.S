/* start.S -- process entry for the freestanding runtime.
 *
 * The kernel starts a process with rsp pointing at argc, followed by argv[],
 * NULL, envp[], NULL and the auxiliary vector (kernel/exec.py draws it).
 * _start clears rbp (the end of every backtrace), aligns the stack to 16 bytes
 * as the ABI wants at a call, and hands the original rsp to __emu_start.
 */
        .intel_syntax noprefix
        .text
        .globl _start
        .type _start, @function
_start:
        xor ebp, ebp
        mov rdi, rsp
        and rsp, -16
        call __emu_start
        hlt                     /* __emu_start never returns */
        .size _start, . - _start
        .section .note.GNU-stack, "", @progbits

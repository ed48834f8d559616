/* emu_syscall.h -- raw Linux x86-64 system calls, for the runtime and memlib.
 *
 * The kernel ABI: rax = number; arguments in rdi, rsi, rdx, r10, r8, r9; the
 * result (or -errno) comes back in rax; the syscall instruction clobbers rcx
 * and r11.
 */
#ifndef EMU_SYSCALL_H
#define EMU_SYSCALL_H

#define EMU_SYS_read       0
#define EMU_SYS_write      1
#define EMU_SYS_mmap       9
#define EMU_SYS_mprotect  10
#define EMU_SYS_munmap    11
#define EMU_SYS_brk       12
#define EMU_SYS_mremap    25
#define EMU_SYS_madvise   28
#define EMU_SYS_exit_group 231

static inline long emu_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile ("syscall"
                      : "=a"(ret)
                      : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                      : "rcx", "r11", "memory");
    return ret;
}

#define emu_syscall1(n, a)          emu_syscall6((n), (long)(a), 0, 0, 0, 0, 0)
#define emu_syscall2(n, a, b)       emu_syscall6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define emu_syscall3(n, a, b, c)    emu_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

#endif

/* memlib.c -- mem_sbrk and friends on top of the brk system call.
 *
 * musl's sbrk() refuses any nonzero increment, and the freestanding runtime
 * should not depend on a libc, so this talks to the kernel directly.
 */
#include "memlib.h"
#include "emu_syscall.h"

static char *heap_lo;     /* where the heap began: the break at mem_init */
static char *heap_brk;    /* the current break */

void mem_init(void)
{
    if (heap_lo == 0) {
        heap_lo = (char *)emu_syscall1(EMU_SYS_brk, 0);
        heap_brk = heap_lo;
    }
}

void *mem_sbrk(long incr)
{
    mem_init();
    char *old = heap_brk;
    char *want = old + incr;
    if (incr < 0 && want < heap_lo)
        return (void *)-1;
    char *got = (char *)emu_syscall1(EMU_SYS_brk, want);
    if (got != want)
        return (void *)-1;
    heap_brk = got;
    return old;
}

void mem_reset_brk(void)
{
    mem_init();
    heap_brk = (char *)emu_syscall1(EMU_SYS_brk, heap_lo);
}

void *mem_heap_lo(void) { mem_init(); return heap_lo; }
void *mem_heap_hi(void) { mem_init(); return heap_brk - 1; }
size_t mem_heapsize(void) { mem_init(); return (size_t)(heap_brk - heap_lo); }
size_t mem_pagesize(void) { return 4096; }
void mem_deinit(void) {}

/* Byte loops, so memlib needs no libc (the runtime's memcpy would do as well). */
void *mem_memcpy(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
    return dst;
}

void *mem_memset(void *dst, int c, size_t n)
{
    char *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)c;
    return dst;
}

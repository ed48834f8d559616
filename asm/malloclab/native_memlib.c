/* native_memlib.c -- memlib.h for the lab driver built natively (-DLAB_NATIVE).
 *
 * As the CS:APP handout's memlib.c does it: one region of MAX_HEAP bytes taken
 * at start (here with mmap, so the host's malloc, which printf may call, and
 * this heap never share the break), and mem_sbrk moving a pointer inside it.
 * The region lies where the host's mmap puts it, far above 4 GiB on x86-64
 * Linux, as the lab's heap does in emu. emu/malloclab/native.py builds it.
 */
#include <string.h>
#include <sys/mman.h>

#include "memlib.h"

#ifndef MAX_HEAP
#define MAX_HEAP (20 * (1 << 20))
#endif

static char *heap_lo, *heap_brk, *heap_max;

void mem_init(void)
{
    if (heap_lo)
        return;
    heap_lo = mmap(0, MAX_HEAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (heap_lo == MAP_FAILED)
        heap_lo = 0;
    heap_brk = heap_lo;
    heap_max = heap_lo + MAX_HEAP;
}

void mem_deinit(void) {}

void *mem_sbrk(intptr_t incr)
{
    mem_init();
    char *old = heap_brk;
    if (heap_lo == 0 || old + incr < heap_lo || old + incr > heap_max)
        return (void *)-1;
    heap_brk += incr;
    return old;
}

void mem_reset_brk(void) { mem_init(); heap_brk = heap_lo; }
void *mem_heap_lo(void) { mem_init(); return heap_lo; }
void *mem_heap_hi(void) { mem_init(); return heap_brk - 1; }
size_t mem_heapsize(void) { mem_init(); return (size_t)(heap_brk - heap_lo); }
size_t mem_pagesize(void) { return 4096; }
void *mem_memcpy(void *dst, const void *src, size_t n) { return memcpy(dst, src, n); }
void *mem_memset(void *dst, int c, size_t n) { return memset(dst, c, n); }

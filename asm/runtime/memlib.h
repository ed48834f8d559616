/* memlib.h -- the CS:APP memory system model, over this kernel's brk.
 *
 * An allocator asks for heap with mem_sbrk(incr) instead of sbrk(), so the same
 * allocator runs in the freestanding runtime, under musl, and in the malloc
 * lab. mem_sbrk moves the real program break with the brk syscall; it fails
 * with (void *)-1 when the kernel refuses (out of memory, or the heap limit the
 * malloc lab sets).
 */
#ifndef MEMLIB_H
#define MEMLIB_H

#include <stddef.h>

void mem_init(void);                 /* remember where the heap starts (idempotent) */
void *mem_sbrk(long incr);           /* old break, or (void *)-1; incr may be < 0 */
void mem_reset_brk(void);            /* give the whole heap back */
void *mem_heap_lo(void);             /* first heap byte */
void *mem_heap_hi(void);             /* last heap byte (lo - 1 when empty) */
size_t mem_heapsize(void);
size_t mem_pagesize(void);

#endif

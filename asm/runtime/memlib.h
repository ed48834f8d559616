/* memlib.h -- the CS:APP memory system model, over this kernel's brk.
 *
 * An allocator asks for heap with mem_sbrk(incr) instead of sbrk(), so the same
 * allocator runs in the freestanding runtime, under musl, and in the malloc
 * lab. mem_sbrk moves the real program break with the brk syscall; it fails
 * with (void *)-1 when the kernel refuses (out of memory, or the heap limit the
 * malloc lab sets).
 *
 * The CS:APP handout's memlib.h has the first eight; CMU 15-213 (F16 and
 * later) adds mem_memcpy and mem_memset, which its students must use to touch
 * the heap in bulk.
 */
#ifndef MEMLIB_H
#define MEMLIB_H

#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

void mem_init(void);                 /* remember where the heap starts (idempotent) */
void mem_deinit(void);               /* nothing to free here: the process ends */
void *mem_sbrk(intptr_t incr);       /* old break, or (void *)-1; incr may be < 0 */
void mem_reset_brk(void);            /* give the whole heap back */
void *mem_heap_lo(void);             /* first heap byte */
void *mem_heap_hi(void);             /* last heap byte (lo - 1 when empty) */
size_t mem_heapsize(void);
size_t mem_pagesize(void);
void *mem_memcpy(void *dst, const void *src, size_t n);   /* memcpy, for the allocator */
void *mem_memset(void *dst, int c, size_t n);             /* memset, for the allocator */

#endif

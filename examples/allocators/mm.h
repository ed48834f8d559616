/* mm.h -- the interface every allocator in this folder implements.
 *
 * It is the CS:APP malloc lab's interface, on x86-64:
 *
 *   mm_init()            start a fresh, empty heap: 0 on success, -1 on error.
 *                        May be called again at any time; everything allocated
 *                        before is forgotten (the lab does this once per trace).
 *   mm_malloc(size)      a payload of at least `size` bytes, ALIGNMENT-aligned,
 *                        or NULL when size is 0, larger than MM_MAX_REQUEST, or
 *                        no memory is left.
 *   mm_free(ptr)         give a payload back; mm_free(NULL) does nothing.
 *   mm_realloc(ptr, n)   resize a payload, keeping its first min(old, n) bytes.
 *                        mm_realloc(NULL, n) is mm_malloc(n); mm_realloc(ptr, 0)
 *                        is mm_free(ptr) and returns NULL. When it fails it
 *                        returns NULL and ptr is left as it was.
 *   mm_name              the allocator's name: "bump", "firstfit", ... (the
 *                        debugger's heap view recognises the heap by it).
 *
 * Heap memory comes only from the memory model in memlib.h (mem_sbrk), so the
 * same allocator runs in the freestanding runtime, under musl, natively, and in
 * the malloc lab. An allocator that also maps memory of its own (buddy.c)
 * defines mm_mapped_bytes(); mm_footprint() adds it to the break heap.
 */
#ifndef MM_H
#define MM_H

#include <stddef.h>
#include <stdint.h>

#include "memlib.h"

#define ALIGNMENT 16                          /* every payload address is a multiple */

/* Larger requests are refused outright: no x86-64 process can hold them, and
 * refusing early keeps every size computation far from overflow. */
#define MM_MAX_REQUEST ((size_t)1 << 47)

int mm_init(void);
void *mm_malloc(size_t size);
void mm_free(void *ptr);
void *mm_realloc(void *ptr, size_t size);
extern const char mm_name[];

/* Bytes mapped with mmap and still held (buddy's pools and large blocks).
 * Weak: allocators that live in the break heap alone do not define it. */
size_t mm_mapped_bytes(void) __attribute__((weak));

/* All the memory the allocator holds: the break heap plus its own mappings. */
static inline size_t mm_footprint(void)
{
    size_t mapped = mm_mapped_bytes ? mm_mapped_bytes() : 0;
    return mem_heapsize() + mapped;
}

#endif

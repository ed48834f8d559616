/* bump.c -- the baseline: take every block from the end of the heap, never reuse.
 *
 * mm_malloc moves the break forward by one block and returns it; mm_free does
 * nothing at all. It is as fast as an allocator can be (one mem_sbrk per
 * malloc, no search) and as wasteful: the heap only grows, so its
 * utilization is the live payload over everything ever allocated. Every other
 * allocator here should beat its utilization, and none can beat its speed.
 *
 * Block layout. Each block is an 8-byte header holding the payload size (what
 * realloc must copy), then the payload, padded to a multiple of 16. Starting
 * the first header 8 bytes into the heap puts every payload on a 16-byte
 * boundary:
 *
 *   mem_heap_lo (16-aligned)
 *   |
 *   v
 *   +-------+--------+---------------------+--------+-----------+--
 *   | pad 8 |  size  | payload ... padding |  size  | payload   | ...
 *   +-------+--------+---------------------+--------+-----------+--
 *            ^        ^                     ^
 *            header   payload: 16-aligned   next header = header + block_size
 *            block_size = round_up(8 + size, 16)
 *
 * Costs: malloc O(1), free O(1), realloc O(size) (always a new block and a
 * copy). Memory: 8 bytes of header plus up to 15 of padding per block, and
 * nothing freed is ever used again.
 *
 * Invariants: blocks tile [mem_heap_lo + 8, break) in allocation order; each
 * header holds a payload size of at least 1; every payload is 16-aligned.
 * asm/allocators/bump.asm is the same allocator in assembly, and the
 * debugger's heap view (emu/heap.py) reads this layout.
 */
#include <string.h>

#include "mm.h"

const char mm_name[] = "bump";

#define HEADER_SIZE 8                         /* the payload size, one word */

typedef size_t header_t;

static size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }
static header_t *header(void *payload) { return (header_t *)((char *)payload - HEADER_SIZE); }
static size_t payload_size(void *payload) { return *header(payload); }
static size_t block_size(size_t payload) { return round_up(HEADER_SIZE + payload, ALIGNMENT); }

/* mm_init: an empty heap with the 8-byte pad that aligns the first payload.
 * Fails (-1) when the heap does not start 16-aligned or cannot grow. */
int mm_init(void)
{
    mem_reset_brk();
    if ((uintptr_t)mem_heap_lo() % ALIGNMENT != 0)
        return -1;
    return mem_sbrk(HEADER_SIZE) == (void *)-1 ? -1 : 0;
}

/* mm_malloc: a new block at the break; NULL for 0, a huge size, or no memory. */
void *mm_malloc(size_t size)
{
    if (size == 0 || size > MM_MAX_REQUEST)
        return NULL;
    char *block = mem_sbrk((long)block_size(size));
    if (block == (void *)-1)
        return NULL;
    *(header_t *)block = size;
    return block + HEADER_SIZE;
}

/* mm_free: a bump allocator never takes memory back. */
void mm_free(void *ptr)
{
    (void)ptr;
}

/* mm_realloc: always a new block holding min(old, new) bytes of the old one. */
void *mm_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return mm_malloc(size);
    if (size == 0) {
        mm_free(ptr);
        return NULL;
    }
    void *moved = mm_malloc(size);
    if (moved == NULL)
        return NULL;                          /* the old block stays valid */
    size_t old = payload_size(ptr);
    memcpy(moved, ptr, old < size ? old : size);
    return moved;
}

#include "demo_main.h"

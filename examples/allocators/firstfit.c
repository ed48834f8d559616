/* firstfit.c -- first fit over the blocks of the heap, the classic tutorial
 * allocator (a "mem_control_block" before every block), done carefully.
 *
 * Every block, free or in use, starts with a 16-byte header: the size of the
 * whole block, header included, and an "available" flag. Blocks lie end to
 * end from the first 16-aligned address of the heap up to the break, so the
 * next block is always `block + size` and the heap can be walked like a list.
 *
 *   heap_start (first 16-aligned address >= mem_heap_lo)        the break
 *   |                                                                   |
 *   v                                                                   v
 *   +--------+-----------+---------------+--------+-----------+-------+
 *   |  size  | available | payload ...   |  size  | available | ...   |
 *   +--------+-----------+---------------+--------+-----------+-------+
 *    8 bytes   8 bytes    ^ 16-aligned    ^ next_block(b) = b + b->size
 *    size = the whole block; available = 1 free, 0 in use
 *
 * mm_malloc walks from the first block and takes the first available one that
 * is big enough, splitting off the rest as a new free block when the rest can
 * hold a header and 16 bytes of payload. When nothing fits it grows the heap
 * with mem_sbrk: if the last block is free, only by what that block lacks.
 * mm_free marks the block available and merges it with the free blocks that
 * follow it. mm_realloc shrinks in place (the tail becomes free), grows in
 * place into free blocks that follow or, for the last block, by moving the
 * break; otherwise it moves the payload to a new block.
 *
 * What it does not do. free cannot merge with a free block *before* the one
 * being freed: nothing in a block says where the previous one starts (that
 * needs a footer, see implicit.c). So two free neighbours can sit side by
 * side; the search merges such a run the next time it walks over it, so a
 * request never fails to fit only because a free area was left in pieces.
 * The search visits every block, allocated ones too: O(blocks) per malloc.
 * Nothing is ever given back to the system.
 *
 * Costs: malloc O(blocks in the heap); free O(free blocks after it); realloc
 * O(1) in place, else malloc plus a copy. Memory: 16 bytes per block, and
 * payloads rounded up to 16.
 *
 * Invariants: blocks tile [heap_start, break) exactly; every block size is a
 * multiple of 16 and at least MIN_BLOCK; every payload is 16-aligned; the
 * available flag is 0 or 1. asm/allocators/firstfit.asm has the same layout,
 * and the debugger's heap view (emu/heap.py) reads it.
 */
#include <string.h>

#include "mm.h"

const char mm_name[] = "firstfit";

typedef struct block {
    size_t size;                              /* the whole block, header included */
    size_t available;                         /* 1 free, 0 in use */
} block_t;

#define HEADER_SIZE sizeof(block_t)           /* 16: keeps payloads 16-aligned */
#define MIN_BLOCK (HEADER_SIZE + ALIGNMENT)   /* a header and 16 bytes of payload */

static char *heap_start;                      /* the first block */

/* -- the vocabulary: blocks, payloads, neighbours ----------------------------------- */

static uintptr_t round_up(uintptr_t n, uintptr_t multiple) { return (n + multiple - 1) / multiple * multiple; }
static char *heap_end(void) { return (char *)mem_heap_hi() + 1; }
static block_t *first_block(void) { return (block_t *)heap_start; }
static block_t *next_block(block_t *b) { return (block_t *)((char *)b + b->size); }
static int is_last(block_t *b) { return (char *)next_block(b) == heap_end(); }
static block_t *header(void *payload) { return (block_t *)((char *)payload - HEADER_SIZE); }
static void *payload(block_t *b) { return (char *)b + HEADER_SIZE; }
static size_t payload_capacity(block_t *b) { return b->size - HEADER_SIZE; }

/* The block size that holds `size` payload bytes (size <= MM_MAX_REQUEST). */
static size_t block_size_for(size_t size) { return round_up(size + HEADER_SIZE, ALIGNMENT); }

/* -- blocks: merge and split ---------------------------------------------------------- */

/* Absorb every free block that directly follows b (b itself may be in use). */
static void merge_free_after(block_t *b)
{
    while (!is_last(b) && next_block(b)->available)
        b->size += next_block(b)->size;
}

/* Cut b down to `size` bytes when the rest can be a block of its own; the
 * rest becomes a free block, merged with free blocks after it. */
static void split(block_t *b, size_t size)
{
    if (b->size - size < MIN_BLOCK)
        return;
    block_t *rest = (block_t *)((char *)b + size);
    rest->size = b->size - size;
    rest->available = 1;
    b->size = size;
    merge_free_after(rest);
}

/* Mark b in use, keeping only `size` bytes of it. */
static void *take(block_t *b, size_t size)
{
    split(b, size);
    b->available = 0;
    return payload(b);
}

/* Move the break so that b, the last block, becomes `size` bytes; 0 or -1. */
static int extend_last(block_t *b, size_t size)
{
    if (mem_sbrk((long)(size - b->size)) == (void *)-1)
        return -1;
    b->size = size;
    return 0;
}

/* A fresh block of `size` bytes at the break, in use; NULL when out of memory. */
static void *grow_heap(size_t size)
{
    block_t *b = mem_sbrk((long)size);
    if (b == (void *)-1)
        return NULL;
    b->size = size;
    b->available = 0;
    return payload(b);
}

/* -- the interface -------------------------------------------------------------------- */

/* mm_init: an empty heap that starts at the first 16-aligned address. */
int mm_init(void)
{
    mem_reset_brk();
    char *lo = mem_heap_lo();
    size_t pad = round_up((uintptr_t)lo, ALIGNMENT) - (uintptr_t)lo;
    if (pad != 0 && mem_sbrk((long)pad) == (void *)-1)
        return -1;
    heap_start = lo + pad;
    return 0;
}

/* mm_malloc: the first available block that fits, else new heap at the end. */
void *mm_malloc(size_t size)
{
    if (size == 0 || size > MM_MAX_REQUEST)
        return NULL;
    size_t need = block_size_for(size);
    block_t *last = NULL;
    for (block_t *b = first_block(); (char *)b < heap_end(); b = next_block(b)) {
        if (b->available) {
            merge_free_after(b);              /* deferred merging of a free run */
            if (b->size >= need)
                return take(b, need);
        }
        last = b;
    }
    if (last != NULL && last->available)      /* too small, but at the end: stretch it */
        return extend_last(last, need) == 0 ? take(last, need) : NULL;
    return grow_heap(need);
}

/* mm_free: mark the block available and merge the free blocks after it. */
void mm_free(void *ptr)
{
    if (ptr == NULL)
        return;
    block_t *b = header(ptr);
    b->available = 1;
    merge_free_after(b);
}

/* Give b at least `need` bytes without moving it; 0, or -1 when impossible. */
static int resize_in_place(block_t *b, size_t need)
{
    if (b->size < need) {
        merge_free_after(b);
        if (b->size < need && !(is_last(b) && extend_last(b, need) == 0))
            return -1;
    }
    split(b, need);
    return 0;
}

/* mm_realloc: in place when possible, else a new block and a copy. */
void *mm_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return mm_malloc(size);
    if (size == 0) {
        mm_free(ptr);
        return NULL;
    }
    if (size > MM_MAX_REQUEST)
        return NULL;
    block_t *b = header(ptr);
    size_t old = payload_capacity(b);
    if (resize_in_place(b, block_size_for(size)) == 0)
        return ptr;
    void *moved = mm_malloc(size);
    if (moved == NULL)
        return NULL;                          /* the old block stays valid */
    memcpy(moved, ptr, old < size ? old : size);
    mm_free(ptr);
    return moved;
}

#include "demo_main.h"

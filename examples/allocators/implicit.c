/* implicit.c -- CS:APP's implicit free list: boundary tags, first fit, immediate merging.
 *
 * There is no list of free blocks: the heap itself is the list. Every block
 * carries its size in a header, so the blocks can be walked from the first to
 * the epilogue, and the search for a free block does exactly that, taking the
 * first free one big enough (first fit). The block layout, with the prologue
 * and epilogue that frame the heap, is drawn in boundary_tags.h:
 *
 *   allocated block                        free block
 *   +--------+-----------------+--------+  +--------+-----------------+--------+
 *   | size|1 | payload ...     | size|1 |  | size|0 | (unused)        | size|0 |
 *   +--------+-----------------+--------+  +--------+-----------------+--------+
 *            ^ bp, 16-aligned                        ^ bp
 *
 * mm_malloc rounds the request up to a block size (tags included, a multiple
 * of 16, at least 32), searches first fit, and splits the block it finds when
 * the rest can be a block of at least 32 bytes. When nothing fits it grows the
 * heap by the block size or CHUNKSIZE (4 KiB), whichever is larger.
 * mm_free clears the allocated bit and merges the block at once with a free
 * neighbour on either side; the footer of the block before tells where that
 * block starts, so all four cases (neither, next, previous, both free) take
 * constant time. mm_realloc stays in place when the block is big enough
 * (giving back the tail), when the next block is free and together they are
 * big enough, or when the block is the last one (it moves the break);
 * otherwise it moves.
 *
 * Costs: malloc O(blocks), allocated ones included, which is what explicit.c
 * and segregated.c improve on; free O(1); 16 bytes of tags per block and
 * payloads rounded to 16. Immediate merging means two free blocks are never
 * neighbours, so first fit sees every free area whole.
 *
 * Invariants: those of boundary_tags.h, and no two free blocks are adjacent.
 */
#include <string.h>

#include "boundary_tags.h"

const char mm_name[] = "implicit";

static char *prologue;                        /* the prologue's bp: the walk starts after it */

/* -- merging and placing -------------------------------------------------------------- */

/* Merge the free block bp with free neighbours; returns the merged block. */
static char *coalesce(char *bp)
{
    char *prev = prev_block(bp), *next = next_block(bp);
    size_t size = block_size(bp);
    if (!is_allocated(next))
        size += block_size(next);
    if (!is_allocated(prev)) {
        size += block_size(prev);
        bp = prev;
    }
    set_block(bp, size, 0);
    return bp;
}

/* Make bp (allocated or not) an allocated block of `size` bytes, freeing the
 * rest of it as a block of its own when the rest is big enough. */
static void place(char *bp, size_t size)
{
    size_t whole = block_size(bp);
    if (whole - size < MIN_BLOCK) {
        set_block(bp, whole, 1);
        return;
    }
    set_block(bp, size, 1);
    char *rest = next_block(bp);
    set_block(rest, whole - size, 0);
    coalesce(rest);
}

/* The first free block of at least `size` bytes, or NULL. */
static char *find_fit(size_t size)
{
    for (char *bp = next_block(prologue); !is_epilogue(bp); bp = next_block(bp))
        if (!is_allocated(bp) && block_size(bp) >= size)
            return bp;
    return NULL;
}

/* Grow the heap by at least `size` bytes; returns the free block that ends the heap. */
static char *extend_heap(size_t size)
{
    char *bp = heap_grow(size < CHUNKSIZE ? CHUNKSIZE : size);
    return bp == NULL ? NULL : coalesce(bp);
}

/* -- the interface -------------------------------------------------------------------- */

/* mm_init: the framed empty heap and one free chunk. */
int mm_init(void)
{
    prologue = heap_frame();
    if (prologue == NULL || extend_heap(CHUNKSIZE) == NULL)
        return -1;
    return 0;
}

/* mm_malloc: first fit, else grow the heap. */
void *mm_malloc(size_t size)
{
    if (size == 0 || size > MM_MAX_REQUEST)
        return NULL;
    size_t need = block_size_for(size);
    char *bp = find_fit(need);
    if (bp == NULL && (bp = extend_heap(need)) == NULL)
        return NULL;
    place(bp, need);
    return bp;
}

/* mm_free: mark free and merge with free neighbours at once. */
void mm_free(void *ptr)
{
    if (ptr == NULL)
        return;
    set_block(ptr, block_size(ptr), 0);
    coalesce(ptr);
}

/* Give bp at least `need` bytes without moving it; 0, or -1 when impossible. */
static int resize_in_place(char *bp, size_t need)
{
    size_t have = block_size(bp);
    char *next = next_block(bp);
    if (have < need && !is_allocated(next)) { /* absorb the free block after it */
        have += block_size(next);
        next = next_block(next);
    }
    if (have < need && is_epilogue(next)) {   /* the end of the heap: move the break */
        if (heap_grow(need - have) == NULL)
            return -1;
        have = need;
    }
    if (have < need)
        return -1;
    set_block(bp, have, 1);
    place(bp, need);
    return 0;
}

/* mm_realloc: in place when possible, else a new block and a copy. */
void *mm_realloc(void *ptr, size_t size)
{
    return realloc_in_place_or_move(ptr, size, resize_in_place);
}

#include "demo_main.h"

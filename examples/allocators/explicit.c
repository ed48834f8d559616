/* explicit.c -- an explicit free list in address order, over boundary tags.
 *
 * implicit.c searches every block for a free one, allocated blocks included.
 * Here the free blocks are linked into a list of their own, through their
 * payloads (a free payload holds no data, so the links cost no memory), and
 * the search walks only that list. The block layout, prologue and epilogue
 * are those of boundary_tags.h; a free block adds two links:
 *
 *   free block
 *   +--------+--------+--------+----------------+--------+
 *   | size|0 |  next  |  prev  | (unused)       | size|0 |
 *   +--------+--------+--------+----------------+--------+
 *            ^ bp: next and prev point at the bp of other free blocks
 *              (NULL ends the list); free_listp is the first one
 *
 * Which order. A LIFO list (push freed blocks at the head) frees in O(1) but
 * places blocks wherever the latest free was, and fragments more. This list
 * is kept in address order instead: first fit along it then chooses exactly
 * the block implicit.c's first fit would choose, so the two allocators build
 * the same heap, and this one finds each block faster. First fit in address
 * order is also known to fragment about as little as best fit (Johnstone and
 * Wilson, 1998). The price is on free: a block with no free neighbour must be
 * inserted at its place, a walk of the list. A block that merges with a free
 * neighbour takes that neighbour's place, in O(1).
 *
 * mm_malloc, mm_free and mm_realloc follow implicit.c: first fit, split when
 * the rest is at least 32 bytes, grow by max(block, CHUNKSIZE), merge at once
 * in all four cases, realloc in place when it can (shrinking, a free next
 * block, or the last block of the heap), else move.
 *
 * Costs: malloc O(free blocks); free O(1) when merging, else O(free blocks);
 * no memory beyond implicit.c's (a free block of 32 bytes holds both links).
 *
 * Invariants: those of boundary_tags.h; the list holds exactly the free
 * blocks, in increasing address order, with prev and next consistent; no two
 * free blocks are adjacent.
 */
#include <string.h>

#include "boundary_tags.h"

const char mm_name[] = "explicit";

typedef struct free_links {
    char *next;                               /* the next free block (higher address) */
    char *prev;                               /* the previous free block */
} free_links_t;

static char *prologue;                        /* the prologue's bp */
char *free_listp;                             /* the free block with the lowest address */

/* -- the free list -------------------------------------------------------------------- */

static free_links_t *links(char *bp) { return (free_links_t *)bp; }
static char *next_free(char *bp) { return links(bp)->next; }
static char *prev_free(char *bp) { return links(bp)->prev; }

/* Point whatever pointed at `old` (its predecessor or the head) at `bp`. */
static void relink_prev(char *old, char *bp)
{
    if (prev_free(old) != NULL)
        links(prev_free(old))->next = bp;
    else
        free_listp = bp;
}

static void list_remove(char *bp)
{
    relink_prev(bp, next_free(bp));
    if (next_free(bp) != NULL)
        links(next_free(bp))->prev = prev_free(bp);
}

/* bp takes old's place in the list (they are neighbours in address order). */
static void list_replace(char *old, char *bp)
{
    *links(bp) = *links(old);
    relink_prev(bp, bp);
    if (next_free(bp) != NULL)
        links(next_free(bp))->prev = bp;
}

/* Insert bp at its place in address order: O(free blocks). */
static void list_insert(char *bp)
{
    char *prev = NULL, *next = free_listp;
    while (next != NULL && next < bp) {
        prev = next;
        next = next_free(next);
    }
    links(bp)->next = next;
    links(bp)->prev = prev;
    relink_prev(bp, bp);
    if (next != NULL)
        links(next)->prev = bp;
}

/* -- merging and placing -------------------------------------------------------------- */

/* bp has just become free (tags written, not on the list): merge it with free
 * neighbours and put the result on the list; returns the merged block. */
static char *coalesce(char *bp)
{
    char *prev = prev_block(bp), *next = next_block(bp);
    size_t size = block_size(bp);
    int prev_is_free = !is_allocated(prev), next_is_free = !is_allocated(next);
    if (next_is_free) {
        size += block_size(next);
        if (prev_is_free)
            list_remove(next);
        else
            list_replace(next, bp);
    }
    if (prev_is_free) {
        size += block_size(prev);
        bp = prev;
    }
    if (!prev_is_free && !next_is_free)
        list_insert(bp);
    set_block(bp, size, 0);
    return bp;
}

/* Free the `size` bytes at bp (not on the list), merging them. */
static char *release(char *bp, size_t size)
{
    set_block(bp, size, 0);
    return coalesce(bp);
}

/* Allocate `size` bytes of the free block bp (on the list); the rest, when
 * big enough, stays free in bp's place on the list. */
static void place(char *bp, size_t size)
{
    size_t whole = block_size(bp);
    if (whole - size < MIN_BLOCK) {
        list_remove(bp);
        set_block(bp, whole, 1);
        return;
    }
    set_block(bp, size, 1);
    char *rest = next_block(bp);
    set_block(rest, whole - size, 0);
    list_replace(bp, rest);
}

/* Cut the allocated block bp down to `size` bytes, freeing the tail. */
static void trim(char *bp, size_t size)
{
    size_t whole = block_size(bp);
    if (whole - size < MIN_BLOCK)
        return;
    set_block(bp, size, 1);
    release(next_block(bp), whole - size);
}

/* First fit along the list: the lowest free block of at least `size` bytes. */
static char *find_fit(size_t size)
{
    for (char *bp = free_listp; bp != NULL; bp = next_free(bp))
        if (block_size(bp) >= size)
            return bp;
    return NULL;
}

/* Grow the heap by at least `size` bytes; returns the free block that ends it. */
static char *extend_heap(size_t size)
{
    char *bp = heap_grow(size < CHUNKSIZE ? CHUNKSIZE : size);
    return bp == NULL ? NULL : coalesce(bp);
}

/* -- the interface -------------------------------------------------------------------- */

/* mm_init: the framed empty heap, an empty list, and one free chunk. */
int mm_init(void)
{
    free_listp = NULL;
    prologue = heap_frame();
    if (prologue == NULL || extend_heap(CHUNKSIZE) == NULL)
        return -1;
    return 0;
}

/* mm_malloc: first fit along the list, else grow the heap. */
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

/* mm_free: merge with free neighbours and put on the list. */
void mm_free(void *ptr)
{
    if (ptr != NULL)
        release(ptr, block_size(ptr));
}

/* Give bp at least `need` bytes without moving it; 0, or -1 when impossible. */
static int resize_in_place(char *bp, size_t need)
{
    size_t have = block_size(bp);
    char *next = next_block(bp);
    int absorb = have < need && !is_allocated(next);
    char *after = absorb ? next_block(next) : next;
    size_t reach = have + (absorb ? block_size(next) : 0);
    if (reach < need && is_epilogue(after)) { /* the end of the heap: move the break */
        if (heap_grow(need - reach) == NULL)
            return -1;
        reach = need;
    }
    if (reach < need)
        return -1;
    if (absorb)
        list_remove(next);
    set_block(bp, reach, 1);
    trim(bp, need);
    return 0;
}

/* mm_realloc: in place when possible, else a new block and a copy. */
void *mm_realloc(void *ptr, size_t size)
{
    return realloc_in_place_or_move(ptr, size, resize_in_place);
}

#include "demo_main.h"

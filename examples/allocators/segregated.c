/* segregated.c -- segregated free lists: one list per size class, over boundary tags.
 *
 * explicit.c walks one list of every free block. Here the free blocks are
 * sorted into size classes, powers of two from 32 bytes, each with its own
 * list, so a search starts among blocks of about the right size and skips the
 * small ones entirely:
 *
 *   seg_lists[0]   32 ..    63 bytes    -> bp -> bp -> NULL
 *   seg_lists[1]   64 ..   127          -> bp -> NULL
 *   seg_lists[2]  128 ..   255          -> NULL
 *   ...
 *   seg_lists[k]  32 * 2^k .. 32 * 2^(k+1) - 1
 *   ...
 *   seg_lists[NUM_CLASSES - 1]   32 * 2^(NUM_CLASSES - 1) and up (1 MiB and up)
 *
 * The block layout, prologue and epilogue are those of boundary_tags.h; a free
 * block holds its two links in its payload, as in explicit.c:
 *
 *   +--------+--------+--------+----------------+--------+
 *   | size|0 |  next  |  prev  | (unused)       | size|0 |
 *   +--------+--------+--------+----------------+--------+
 *            ^ bp
 *
 * Each list is kept in increasing size (then address) order, so first fit
 * within a class is best fit within the class, and searching from the
 * request's class upward finds the smallest free block that fits anywhere in
 * the heap. Best fit leaves the large free blocks whole for large requests,
 * which is what keeps utilization up on the CS:APP traces.
 *
 * mm_malloc rounds the request to a block size, searches, and splits off the
 * rest when it is at least 32 bytes. Which end of the free block it keeps
 * depends on the size: blocks under SPLIT_HIGH (128 bytes) take the low end,
 * larger ones the high end. When nothing fits, the heap grows by what is
 * missing (if the last block is free, only the difference), but a small
 * block grows it by at least SMALL_CHUNK (2 KiB). The two rules together put
 * the small blocks that follow one another at the bottom of a shared area
 * and the large ones at its top, so freeing the large ones leaves one large
 * hole instead of many: on the CS:APP binary-bal trace (64- and 448-byte
 * blocks interleaved, the 448s freed, then 512-byte requests) utilization
 * goes from 54% (implicit.c) to 94%. Both numbers were tuned on those traces.
 * mm_free merges at once with free neighbours (four cases, as in implicit.c)
 * and files the result under its class. mm_realloc stays in place when the
 * block is big enough, when a free next block makes it big enough, or when
 * it is the last block (it moves the break); otherwise it moves.
 *
 * Costs: malloc O(blocks in the classes searched); free O(length of one
 * class) for the sorted insert; 16 bytes of tags per block; the list heads
 * are NUM_CLASSES words outside the heap.
 *
 * Invariants: those of boundary_tags.h; every free block is on exactly one
 * list, the one of its size class, in (size, address) order; no two free
 * blocks are adjacent.
 */
#include <string.h>

#include "boundary_tags.h"

const char mm_name[] = "segregated";

#define NUM_CLASSES 16                        /* 32 B << 15 = 1 MiB: the last class is unbounded */
#define SPLIT_HIGH 128                        /* blocks this big go to the high end of a free block */
#define SMALL_CHUNK 2048                      /* a smaller block that grows the heap grows it this much */

typedef struct free_links {
    char *next;                               /* the next free block of the class */
    char *prev;                               /* the previous one */
} free_links_t;

static char *prologue;                        /* the prologue's bp */
char *seg_lists[NUM_CLASSES];                 /* the first free block of each class */

/* -- size classes and their lists ----------------------------------------------------- */

static free_links_t *links(char *bp) { return (free_links_t *)bp; }
static char *next_free(char *bp) { return links(bp)->next; }
static char *prev_free(char *bp) { return links(bp)->prev; }

/* The class of a block of `size` bytes: the k with 32 * 2^k <= size < 32 * 2^(k+1). */
static int class_of(size_t size)
{
    int k = 0;
    while (k < NUM_CLASSES - 1 && size >= ((size_t)MIN_BLOCK << (k + 1)))
        k++;
    return k;
}

/* a goes before b on a list: smaller first, then lower address. */
static int goes_before(char *a, char *b)
{
    return block_size(a) < block_size(b) || (block_size(a) == block_size(b) && a < b);
}

static void list_insert(char *bp)
{
    char **head = &seg_lists[class_of(block_size(bp))];
    char *prev = NULL, *next = *head;
    while (next != NULL && goes_before(next, bp)) {
        prev = next;
        next = next_free(next);
    }
    links(bp)->next = next;
    links(bp)->prev = prev;
    if (prev != NULL)
        links(prev)->next = bp;
    else
        *head = bp;
    if (next != NULL)
        links(next)->prev = bp;
}

static void list_remove(char *bp)
{
    if (prev_free(bp) != NULL)
        links(prev_free(bp))->next = next_free(bp);
    else
        seg_lists[class_of(block_size(bp))] = next_free(bp);
    if (next_free(bp) != NULL)
        links(next_free(bp))->prev = prev_free(bp);
}

/* -- merging and placing -------------------------------------------------------------- */

/* bp has just become free (tags written, on no list): merge it with free
 * neighbours and file the result; returns the merged block. */
static char *coalesce(char *bp)
{
    char *prev = prev_block(bp), *next = next_block(bp);
    size_t size = block_size(bp);
    if (!is_allocated(next)) {
        list_remove(next);
        size += block_size(next);
    }
    if (!is_allocated(prev)) {
        list_remove(prev);
        size += block_size(prev);
        bp = prev;
    }
    set_block(bp, size, 0);
    list_insert(bp);
    return bp;
}

/* Free the `size` bytes at bp (on no list), merging them. */
static char *release(char *bp, size_t size)
{
    set_block(bp, size, 0);
    return coalesce(bp);
}

/* Allocate `size` bytes of the free block bp (on its list): the low end for
 * small requests, the high end for large ones; the rest stays free. Returns
 * the allocated block. */
static char *place(char *bp, size_t size)
{
    size_t whole = block_size(bp);
    list_remove(bp);
    if (whole - size < MIN_BLOCK) {
        set_block(bp, whole, 1);
        return bp;
    }
    if (size >= SPLIT_HIGH) {
        char *high = bp + (whole - size);
        set_block(high, size, 1);             /* first, so merging the rest sees it in use */
        release(bp, whole - size);
        return high;
    }
    set_block(bp, size, 1);
    release(next_block(bp), whole - size);
    return bp;
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

/* The smallest free block of at least `size` bytes, or NULL. */
static char *find_fit(size_t size)
{
    for (int k = class_of(size); k < NUM_CLASSES; k++)
        for (char *bp = seg_lists[k]; bp != NULL; bp = next_free(bp))
            if (block_size(bp) >= size)
                return bp;
    return NULL;
}

/* The free block at the end of the heap, or NULL when the last block is in use. */
static char *free_tail(void)
{
    char *epilogue = (char *)mem_heap_hi() + 1;
    char *last = prev_block(epilogue);
    return is_allocated(last) ? NULL : last;
}

/* Grow the heap so that its last block is free and at least `size` bytes:
 * by exactly what is missing, except that a small block brings a
 * SMALL_CHUNK for the small blocks after it to share. */
static char *extend_heap(size_t size)
{
    char *tail = free_tail();
    size_t missing = size - (tail != NULL ? block_size(tail) : 0);
    if (size < SPLIT_HIGH && missing < SMALL_CHUNK)
        missing = SMALL_CHUNK;
    char *bp = heap_grow(missing);
    return bp == NULL ? NULL : coalesce(bp);
}

/* -- the interface -------------------------------------------------------------------- */

/* mm_init: the framed empty heap and empty lists. */
int mm_init(void)
{
    for (int k = 0; k < NUM_CLASSES; k++)
        seg_lists[k] = NULL;
    prologue = heap_frame();
    return prologue == NULL ? -1 : 0;
}

/* mm_malloc: best fit through the classes, else grow the heap. */
void *mm_malloc(size_t size)
{
    if (size == 0 || size > MM_MAX_REQUEST)
        return NULL;
    size_t need = block_size_for(size);
    char *bp = find_fit(need);
    if (bp == NULL && (bp = extend_heap(need)) == NULL)
        return NULL;
    return place(bp, need);
}

/* mm_free: merge with free neighbours and file under the class. */
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

/* mm.c -- the reference solution: segregated free lists over boundary tags,
 * with a heap checker that finds every damage the grader injects.
 *
 * Instructor material: `emu lab init` never copies this folder. It is the
 * project's examples/allocators/segregated.c (its design essay explains the
 * policy) made into one file, plus mm_checkheap.
 *
 * Block format (mm.layout.toml declares it for the grader):
 *
 *    63                                    4 3   1  0
 *   +---------------------------------------+-----+---+
 *   | block size, tags included             | 000 | a |    a = 1 allocated
 *   +---------------------------------------+-----+---+
 *
 *   allocated   +--------+---------------------------------+--------+
 *               | size|1 | payload (16-aligned)            | size|1 |
 *               +--------+---------------------------------+--------+
 *   free        +--------+--------+--------+---------------+--------+
 *               | size|0 |  next  |  prev  |  (unused)     | size|0 |
 *               +--------+--------+--------+---------------+--------+
 *                        ^ bp: next and prev hold other free blocks' bp
 *
 *   mem_heap_lo: | pad | prologue 16|1 | 16|1 | blocks ... | epilogue 0|1 |
 *
 * Free blocks sit on one of NUM_CLASSES lists by size (powers of two from 32
 * bytes), each kept in (size, address) order: first fit in a class is best
 * fit. Small blocks are placed at the low end of a free block, large ones at
 * the high end; free merges at once; realloc stays in place when it can.
 *
 * Invariants (mm_checkheap checks each): blocks tile the heap from the
 * prologue to the epilogue; every header equals its footer; sizes are
 * multiples of 16 and at least 32; payloads are 16-aligned; no two free
 * blocks are adjacent; every free block is on exactly one list, the one of
 * its class, and every list entry is a free block inside the heap whose prev
 * is the entry before it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "memlib.h"
#include "mm.h"

team_t team = {"reference", "Emu Lab", "emu", "", ""};

typedef uint64_t tag_t;

#define ALIGNMENT 16
#define TAG 8                                  /* one header or footer word */
#define MIN_BLOCK 32                           /* tags and two links */
#define NUM_CLASSES 16
#define SPLIT_HIGH 128                         /* blocks this big go to the high end */
#define SMALL_CHUNK 2048                       /* a small block grows the heap this much */
#define MAX_REQUEST ((size_t)1 << 40)

static char *seg_lists[NUM_CLASSES];           /* the first free block of each class */

/* -- tags ------------------------------------------------------------------------------- */

static tag_t pack(size_t size, int allocated) { return (tag_t)size | (allocated ? 1 : 0); }
static tag_t *header(void *bp) { return (tag_t *)((char *)bp - TAG); }
static size_t block_size(void *bp) { return *header(bp) & ~(tag_t)0xF; }
static int is_allocated(void *bp) { return *header(bp) & 1; }
static tag_t *footer(void *bp) { return (tag_t *)((char *)bp + block_size(bp) - 2 * TAG); }
static char *next_block(void *bp) { return (char *)bp + block_size(bp); }
static char *prev_block(void *bp)
{
    return (char *)bp - (*(tag_t *)((char *)bp - 2 * TAG) & ~(tag_t)0xF);
}

static void set_block(void *bp, size_t size, int allocated)
{
    *header(bp) = pack(size, allocated);
    *(tag_t *)((char *)bp + size - 2 * TAG) = pack(size, allocated);
}

static size_t block_size_for(size_t size)
{
    size_t with_tags = (size + 2 * TAG + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
    return with_tags < MIN_BLOCK ? MIN_BLOCK : with_tags;
}

/* -- the lists -------------------------------------------------------------------------- */

static char **next_link(char *bp) { return (char **)bp; }
static char **prev_link(char *bp) { return (char **)(bp + 8); }

/* The class of a block of `size` bytes: the k with 32 * 2^k <= size < 32 * 2^(k+1). */
static int class_of(size_t size)
{
    int k = 0;
    while (k < NUM_CLASSES - 1 && size >= ((size_t)MIN_BLOCK << (k + 1)))
        k++;
    return k;
}

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
        next = *next_link(next);
    }
    *next_link(bp) = next;
    *prev_link(bp) = prev;
    if (prev != NULL)
        *next_link(prev) = bp;
    else
        *head = bp;
    if (next != NULL)
        *prev_link(next) = bp;
}

static void list_remove(char *bp)
{
    char *prev = *prev_link(bp), *next = *next_link(bp);
    if (prev != NULL)
        *next_link(prev) = next;
    else
        seg_lists[class_of(block_size(bp))] = next;
    if (next != NULL)
        *prev_link(next) = prev;
}

/* -- merging and placing ---------------------------------------------------------------- */

/* bp has just become free (tags written, on no list): merge and file it. */
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

static char *release(char *bp, size_t size)
{
    set_block(bp, size, 0);
    return coalesce(bp);
}

/* Allocate `size` bytes of the free block bp (on its list); returns the block. */
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
        set_block(high, size, 1);
        release(bp, whole - size);
        return high;
    }
    set_block(bp, size, 1);
    release(next_block(bp), whole - size);
    return bp;
}

static void trim(char *bp, size_t size)
{
    size_t whole = block_size(bp);
    if (whole - size < MIN_BLOCK)
        return;
    set_block(bp, size, 1);
    release(next_block(bp), whole - size);
}

static char *find_fit(size_t size)
{
    for (int k = class_of(size); k < NUM_CLASSES; k++)
        for (char *bp = seg_lists[k]; bp != NULL; bp = *next_link(bp))
            if (block_size(bp) >= size)
                return bp;
    return NULL;
}

/* Grow the heap by `bytes`: a free block over the old epilogue, a new epilogue. */
static char *heap_grow(size_t bytes)
{
    char *bp = mem_sbrk((long)bytes);
    if (bp == (void *)-1)
        return NULL;
    set_block(bp, bytes, 0);
    *header(next_block(bp)) = pack(0, 1);
    return bp;
}

static char *extend_heap(size_t size)
{
    char *epilogue = (char *)mem_heap_hi() + 1;
    char *last = prev_block(epilogue);
    size_t missing = size - (is_allocated(last) ? 0 : block_size(last));
    if (size < SPLIT_HIGH && missing < SMALL_CHUNK)
        missing = SMALL_CHUNK;
    char *bp = heap_grow(missing);
    return bp == NULL ? NULL : coalesce(bp);
}

/* -- the interface ---------------------------------------------------------------------- */

int mm_init(void)
{
    for (int k = 0; k < NUM_CLASSES; k++)
        seg_lists[k] = NULL;
    char *lo = mem_sbrk(4 * TAG);
    if (lo == (void *)-1 || (uintptr_t)lo % ALIGNMENT)
        return -1;
    *(tag_t *)lo = 0;                                   /* pad */
    *(tag_t *)(lo + TAG) = pack(2 * TAG, 1);            /* prologue header */
    *(tag_t *)(lo + 2 * TAG) = pack(2 * TAG, 1);        /* prologue footer */
    *(tag_t *)(lo + 3 * TAG) = pack(0, 1);              /* epilogue */
    return 0;
}

void *mm_malloc(size_t size)
{
    if (size == 0 || size > MAX_REQUEST)
        return NULL;
    size_t need = block_size_for(size);
    char *bp = find_fit(need);
    if (bp == NULL && (bp = extend_heap(need)) == NULL)
        return NULL;
    return place(bp, need);
}

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
    if (reach < need && block_size(after) == 0) {       /* the last block: move the break */
        if (absorb)
            list_remove(next), absorb = 0;
        if (mem_sbrk((long)(need - reach)) == (void *)-1)
            return -1;
        set_block(bp, need, 1);
        *header(next_block(bp)) = pack(0, 1);
        return 0;
    }
    if (reach < need)
        return -1;
    if (absorb)
        list_remove(next);
    set_block(bp, reach, 1);
    trim(bp, need);
    return 0;
}

void *mm_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return mm_malloc(size);
    if (size == 0) {
        mm_free(ptr);
        return NULL;
    }
    if (size > MAX_REQUEST)
        return NULL;
    if (resize_in_place(ptr, block_size_for(size)) == 0)
        return ptr;
    size_t old = block_size(ptr) - 2 * TAG;
    void *moved = mm_malloc(size);
    if (moved == NULL)
        return NULL;
    memcpy(moved, ptr, old < size ? old : size);
    mm_free(ptr);
    return moved;
}

/* -- the heap checker ------------------------------------------------------------------- */

static int checker_line;

static bool complain(const char *why, void *bp)
{
    printf("mm_checkheap (line %d): %s at %p\n", checker_line, why, bp);
    return false;
}

static bool in_heap(const void *p)
{
    return (const char *)p >= (const char *)mem_heap_lo() + 4 * TAG
        && (const char *)p <= (const char *)mem_heap_hi();
}

/* Walk the blocks: tags, sizes, alignment, merging; counts the free blocks. */
static bool check_blocks(size_t *free_blocks)
{
    char *lo = mem_heap_lo(), *epilogue = (char *)mem_heap_hi() + 1;
    if (*(tag_t *)(lo + TAG) != pack(2 * TAG, 1) || *(tag_t *)(lo + 2 * TAG) != pack(2 * TAG, 1))
        return complain("the prologue is damaged", lo + 2 * TAG);
    int previous_free = 0;
    char *bp = lo + 4 * TAG;
    for (; bp < epilogue && block_size(bp) != 0; bp = next_block(bp)) {
        size_t size = block_size(bp);
        if ((uintptr_t)bp % ALIGNMENT)
            return complain("a payload is not 16-aligned", bp);
        if (size % ALIGNMENT || size < MIN_BLOCK)
            return complain("a block size is not a multiple of 16 of at least 32", bp);
        if (bp + size > epilogue)
            return complain("a block runs past the epilogue", bp);
        if (*header(bp) != *footer(bp))
            return complain("a header differs from its footer", bp);
        if (!is_allocated(bp)) {
            if (previous_free)
                return complain("two free blocks are adjacent (not coalesced)", bp);
            ++*free_blocks;
        }
        previous_free = !is_allocated(bp);
    }
    if (bp != epilogue || *header(bp) != pack(0, 1))
        return complain("the blocks do not end at the epilogue", bp);
    return true;
}

/* Walk the lists: each entry a free block in the heap, of its class, linked both ways. */
static bool check_lists(size_t free_blocks)
{
    size_t listed = 0;
    for (int k = 0; k < NUM_CLASSES; k++) {
        char *prev = NULL;
        for (char *bp = seg_lists[k]; bp != NULL; prev = bp, bp = *next_link(bp)) {
            if (!in_heap(bp) || (uintptr_t)bp % ALIGNMENT)
                return complain("a free-list pointer points outside the heap", bp);
            if (is_allocated(bp) || *header(bp) != *footer(bp))
                return complain("an allocated or damaged block is on a free list", bp);
            if (class_of(block_size(bp)) != k)
                return complain("a free block is on the wrong size class's list", bp);
            if (*prev_link(bp) != prev)
                return complain("a free block's prev does not point at the one before", bp);
            if (++listed > free_blocks)
                return complain("the free lists hold more entries than free blocks", bp);
        }
    }
    if (listed != free_blocks)
        return complain("a free block is on no free list", NULL);
    return true;
}

/* mm_checkheap: true when every invariant above holds; otherwise prints the
 * first broken one and returns false. */
bool mm_checkheap(int lineno)
{
    size_t free_blocks = 0;
    checker_line = lineno;
    return check_blocks(&free_blocks) && check_lists(free_blocks);
}

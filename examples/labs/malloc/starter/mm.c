/* mm.c -- the malloc lab's starter: an implicit free list (CS:APP 9.9.12).
 *
 * It replays every public trace correctly, but mm_free does nothing yet, so
 * no block is ever reused: utilization is poor, and malloc walks every block
 * ever allocated. realloc always moves, and the heap checker checks nothing.
 * Your job, in order: free and coalesce (the checkpoint), then make it fast
 * and tight, and make mm_checkheap find what is wrong with a heap. Read
 * README.md first.
 *
 *   allocated   +--------+---------------------------------+--------+
 *               | size|1 | payload (16-aligned)            | size|1 |
 *               +--------+---------------------------------+--------+
 *   free        +--------+---------------------------------+--------+
 *               | size|0 | (unused)                        | size|0 |
 *               +--------+---------------------------------+--------+
 *                        ^ bp
 *
 *   mem_heap_lo: | pad | prologue 16|1 | 16|1 | blocks ... | epilogue 0|1 |
 *
 * If you change this format, change mm.layout.toml to match.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "memlib.h"
#include "mm.h"

team_t team = {"{{variant}}", "", "", "", ""};

typedef uint64_t tag_t;

#define ALIGNMENT 16
#define TAG 8                                  /* one header or footer word */
#define MIN_BLOCK 32
#define CHUNKSIZE 4096
#define MAX_REQUEST ((size_t)1 << 40)

static char *heap_listp;                       /* the prologue's bp */

static tag_t pack(size_t size, int allocated) { return (tag_t)size | (allocated ? 1 : 0); }
static tag_t *header(void *bp) { return (tag_t *)((char *)bp - TAG); }
static size_t block_size(void *bp) { return *header(bp) & ~(tag_t)0xF; }
static int is_allocated(void *bp) { return *header(bp) & 1; }
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

/* Merge the free block bp with its free neighbours; returns the merged block. */
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

static char *extend_heap(size_t bytes)
{
    char *bp = mem_sbrk((long)bytes);
    if (bp == (void *)-1)
        return NULL;
    set_block(bp, bytes, 0);
    *header(next_block(bp)) = pack(0, 1);      /* the new epilogue */
    return coalesce(bp);
}

int mm_init(void)
{
    char *lo = mem_sbrk(4 * TAG);
    if (lo == (void *)-1)
        return -1;
    *(tag_t *)lo = 0;                                   /* pad */
    *(tag_t *)(lo + TAG) = pack(2 * TAG, 1);            /* prologue header */
    *(tag_t *)(lo + 2 * TAG) = pack(2 * TAG, 1);        /* prologue footer */
    *(tag_t *)(lo + 3 * TAG) = pack(0, 1);              /* epilogue */
    heap_listp = lo + 2 * TAG;
    return extend_heap(CHUNKSIZE) == NULL ? -1 : 0;
}

/* First fit: every block, from the first to the epilogue. */
static char *find_fit(size_t size)
{
    for (char *bp = next_block(heap_listp); block_size(bp) != 0; bp = next_block(bp))
        if (!is_allocated(bp) && block_size(bp) >= size)
            return bp;
    return NULL;
}

static void place(char *bp, size_t size)
{
    size_t whole = block_size(bp);
    if (whole - size < MIN_BLOCK) {
        set_block(bp, whole, 1);
        return;
    }
    set_block(bp, size, 1);
    set_block(next_block(bp), whole - size, 0);
}

void *mm_malloc(size_t size)
{
    if (size == 0 || size > MAX_REQUEST)
        return NULL;
    size_t need = (size + 2 * TAG + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
    char *bp = find_fit(need);
    if (bp == NULL && (bp = extend_heap(need > CHUNKSIZE ? need : CHUNKSIZE)) == NULL)
        return NULL;
    place(bp, need);
    return bp;
}

/* TODO: mark the block free and merge it with free neighbours (coalesce()
 * above is ready for it). Until then every block stays allocated for good. */
void mm_free(void *ptr)
{
    (void)ptr;
}

/* Always a new block and a copy. */
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
        return NULL;
    size_t old = block_size(ptr) - 2 * TAG;
    memcpy(moved, ptr, old < size ? old : size);
    mm_free(ptr);
    return moved;
}

/* mm_checkheap: true when the heap is consistent, false (after printing why)
 * when it is not. The grader calls it after every op of a trace, and after
 * damaging your heap on purpose: see README.md, "The heap checker".
 * TODO: check the invariants of your heap. */
bool mm_checkheap(int lineno)
{
    (void)lineno;
    return true;
}

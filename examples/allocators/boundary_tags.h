/* boundary_tags.h -- the block format of implicit.c, explicit.c and segregated.c.
 *
 * The three allocators share one heap layout, CS:APP's on x86-64, so one
 * heap walk (emu/heap.py) reads all of them. This file is that layout's
 * vocabulary; each allocator adds its own policy (how free blocks are found).
 *
 * A block is a header word, the payload, and a footer word, the footer a copy
 * of the header (Knuth's boundary tag). A tag holds the size of the whole
 * block, a multiple of 16, with the allocated flag in bit 0:
 *
 *    63                                    4 3   1  0
 *   +---------------------------------------+-----+---+
 *   | block size, tags included             | 000 | a |    a = 1 allocated, 0 free
 *   +---------------------------------------+-----+---+
 *   (the size is a multiple of 16, so its own low four bits are free for flags)
 *
 *        bp - 8    bp (16-aligned)                    bp + size - 8
 *        |         |                                  |
 *        v         v                                  v
 *   ... +--------+----------------------------------+--------+ +--------+ ...
 *       | header |  payload (and padding)           | footer | | header |
 *       +--------+----------------------------------+--------+ +--------+
 *                                                               ^ next_block(bp) - 8
 *
 * A block is named by its payload address `bp`, as in CS:APP: the header is
 * just before it, the next block's payload is `size` bytes on, and the
 * previous block's footer is just before our header, which is what lets free
 * merge with the block before it in O(1).
 *
 * The heap is framed so that merging never needs a bounds check:
 *
 *   mem_heap_lo                                                    the break
 *   |                                                                      |
 *   v                                                                      v
 *   +-----+----------+----------+---------+---------+-- ... --+----------+
 *   | pad | prologue | prologue | block   | block   |         | epilogue |
 *   |  0  |  16 | 1  |  16 | 1  | hdr ... | hdr ... |         |   0 | 1  |
 *   +-----+----------+----------+---------+---------+-- ... --+----------+
 *    lo    lo + 8     lo + 16    lo + 24: the first header; its payload at lo + 32
 *
 * The prologue is an allocated block of 16 bytes (header and footer only) and
 * the epilogue an allocated header of size 0: the first and last real blocks
 * always have an allocated neighbour. Growing the heap turns the old epilogue
 * into the header of the new block and writes a new epilogue at the break.
 *
 * Invariants: blocks tile [lo + 24, break - 8) exactly; every header equals
 * its footer; sizes are multiples of 16 and at least MIN_BLOCK; payloads are
 * 16-aligned (mem_heap_lo must be); the epilogue header is the last word
 * before the break.
 */
#ifndef BOUNDARY_TAGS_H
#define BOUNDARY_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "mm.h"

typedef uint64_t tag_t;

#define TAG_SIZE 8                             /* one header or footer word */
#define TAGS_SIZE (2 * TAG_SIZE)               /* a block's overhead */
#define MIN_BLOCK 32                           /* tags + 16 bytes: 16-aligned, and room for two links */
#define CHUNKSIZE 4096                         /* grow the heap by at least this much */
#define TAG_ALLOCATED ((tag_t)1)
#define TAG_SIZE_MASK (~(tag_t)0xF)
#define PROLOGUE_SIZE 16
#define HEAP_FRAME_SIZE (4 * TAG_SIZE)         /* pad, prologue header and footer, epilogue */

static inline tag_t pack(size_t size, int allocated) { return (tag_t)size | (allocated ? TAG_ALLOCATED : 0); }
static inline tag_t get_tag(const void *p) { return *(const tag_t *)p; }
static inline void put_tag(void *p, tag_t tag) { *(tag_t *)p = tag; }
static inline size_t tag_block_size(tag_t tag) { return (size_t)(tag & TAG_SIZE_MASK); }
static inline int tag_allocated(tag_t tag) { return (int)(tag & TAG_ALLOCATED); }

static inline tag_t *header(void *bp) { return (tag_t *)((char *)bp - TAG_SIZE); }
static inline size_t block_size(void *bp) { return tag_block_size(*header(bp)); }
static inline int is_allocated(void *bp) { return tag_allocated(*header(bp)); }
static inline tag_t *footer(void *bp) { return (tag_t *)((char *)bp + block_size(bp) - TAGS_SIZE); }
static inline char *next_block(void *bp) { return (char *)bp + block_size(bp); }
static inline char *prev_block(void *bp) { return (char *)bp - tag_block_size(get_tag((char *)bp - TAGS_SIZE)); }
static inline int is_epilogue(void *bp) { return block_size(bp) == 0; }
static inline size_t payload_capacity(void *bp) { return block_size(bp) - TAGS_SIZE; }

/* Write both tags of the block at bp. */
static inline void set_block(void *bp, size_t size, int allocated)
{
    put_tag(header(bp), pack(size, allocated));
    put_tag((char *)bp + size - TAGS_SIZE, pack(size, allocated));
}

static inline size_t round_up16(size_t n) { return (n + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1); }

/* The block size for a request of `size` payload bytes (size <= MM_MAX_REQUEST). */
static inline size_t block_size_for(size_t size)
{
    size_t with_tags = round_up16(size + TAGS_SIZE);
    return with_tags < MIN_BLOCK ? MIN_BLOCK : with_tags;
}

/* An empty framed heap from a reset break: pad, prologue, epilogue. Returns
 * the prologue's bp (the walk starts at next_block of it), or NULL when the
 * heap does not start 16-aligned or cannot grow. */
static inline char *heap_frame(void)
{
    mem_reset_brk();
    if ((uintptr_t)mem_heap_lo() % ALIGNMENT != 0)
        return NULL;
    char *lo = mem_sbrk(HEAP_FRAME_SIZE);
    if (lo == (void *)-1)
        return NULL;
    put_tag(lo, 0);                                       /* pad */
    put_tag(lo + TAG_SIZE, pack(PROLOGUE_SIZE, 1));       /* prologue header */
    put_tag(lo + 2 * TAG_SIZE, pack(PROLOGUE_SIZE, 1));   /* prologue footer */
    put_tag(lo + 3 * TAG_SIZE, pack(0, 1));               /* epilogue */
    return lo + 2 * TAG_SIZE;
}

/* Grow the heap by `bytes` (a multiple of 16): the new space becomes one free
 * block over the old epilogue, not yet merged, with a new epilogue after it.
 * Returns its bp, or NULL when mem_sbrk refuses. */
static inline char *heap_grow(size_t bytes)
{
    char *bp = mem_sbrk((long)bytes);
    if (bp == (void *)-1)
        return NULL;
    set_block(bp, bytes, 0);
    put_tag(header(next_block(bp)), pack(0, 1));
    return bp;
}

/* realloc as the three allocators do it: in place when `resize_in_place` can
 * give bp the block size it needs (their policies differ: how a neighbour is
 * taken off a free list), else a new block, a copy, and a free of the old one.
 * NULL and size 0 behave as mm.h says; when it fails, ptr stays valid. */
static inline void *realloc_in_place_or_move(void *ptr, size_t size,
                                             int (*resize_in_place)(char *bp, size_t need))
{
    if (ptr == NULL)
        return mm_malloc(size);
    if (size == 0) {
        mm_free(ptr);
        return NULL;
    }
    if (size > MM_MAX_REQUEST)
        return NULL;
    if (resize_in_place(ptr, block_size_for(size)) == 0)
        return ptr;
    size_t old = payload_capacity(ptr);
    void *moved = mm_malloc(size);
    if (moved == NULL)
        return NULL;                          /* the old block stays valid */
    memcpy(moved, ptr, old < size ? old : size);
    mm_free(ptr);
    return moved;
}

#endif

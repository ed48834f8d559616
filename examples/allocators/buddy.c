/* buddy.c -- binary buddies in pools for small blocks, a mapping each for large ones.
 *
 * Requests come in three types, by size:
 *
 *   TINY    1 ..  256 bytes   blocks of 16, 32, 64, 128, 256   in 32 KiB pools
 *   SMALL 257 .. 4096 bytes   blocks of 512, 1024, 2048, 4096  in 512 KiB pools
 *   LARGE  > 4096 bytes       a mapping of its own, rounded to pages
 *
 * A pool holds 128 blocks of its type's largest size and is managed as a
 * binary buddy system: the whole pool is one free block to begin with; a
 * request takes the smallest free block of at least its size, halving a
 * bigger one as often as needed, and every half that is not taken stays free
 * (its "buddy"). When a block is freed and its buddy is free and whole, the
 * two merge back into their parent, and so on up. Block sizes are powers of
 * two, so a request is rounded up to the next one: a 257-byte request takes a
 * 512-byte block. That internal fragmentation (up to half a block) is the
 * price of placement and merging that cost a few bit operations, and of a
 * pool that always merges back into one block once its blocks are freed.
 *
 * Why the smallest block is 16 bytes, not 8. Every payload must be 16-byte
 * aligned. A pool's blocks sit at multiples of their size from the pool's
 * start, so an 8-byte block's buddy starts 8 bytes off a 16-byte boundary
 * and could never be handed out. Splitting down to 8 would only make waste,
 * so the smallest block (the "unit") is 16 bytes: TINY has five classes where
 * the original design had six.
 *
 * Sizes are counted in units (16 bytes for TINY, 512 for SMALL) and orders:
 * a block of order k is 2^k units, at a unit index that is a multiple of
 * 2^k, and its buddy is at index ^ 2^k. The arithmetic works on offsets from
 * the pool's start, so a pool needs no alignment beyond the page alignment
 * mmap gives; finding the pool a pointer belongs to is the address tree's job
 * (below), not an address mask's.
 *
 *   one pool = one mapping (TINY: 4 KiB + 32 KiB; SMALL: 4 KiB + 512 KiB)
 *   +------------------------------+-------------------------------------------+
 *   | metadata page, never handed  | user area: 2^top_order units, e.g. the    |
 *   | out:                         | first 16 units (sizes in units, u = used):|
 *   |   the region (a tree node)   | +-------+---+---+------+---------------+  |
 *   |   directory links per order  | | 4 u   | 1 | 1u| 2    | 8             |  |
 *   |   free counts per order      | +-------+---+---+------+---------------+  |
 *   |   one free bitmap per order  | ^ start (page-aligned): the tree's key    |
 *   |   unit_info[]: a byte a unit | order k = 2^k units; buddy = index ^ 2^k  |
 *   +------------------------------+-------------------------------------------+
 *
 * All metadata lives in that first page, outside the blocks, so a program that
 * overruns a block damages a neighbour's data but never the allocator's
 * bookkeeping. unit_info[u] says what starts at unit u: 0x80 | k for a block
 * of order k in use, k for a free one, 0xff for a unit inside a block. Each
 * order has a bitmap of its free blocks, and a count. The page costs 12.5% of
 * a TINY pool and 0.8% of a SMALL one.
 *
 * Finding memory. For each type and each order there is a directory: a list
 * of the pools holding a free block of exactly that order (through links in
 * their metadata). malloc walks the orders from the request's up to the pool
 * size and takes the first pool listed, so it splits the smallest free block
 * there is, and whole free pools are used last; in that pool, the order's
 * bitmap gives the block. When no pool has room, a new pool is mapped.
 *
 * Finding the pool of a pointer. Every mapping, pool or LARGE block, is a
 * node of one AVL tree (region_tree.h) keyed by the address of its first
 * byte handed out; the node is the mapping's own first bytes, so the tree
 * needs no memory of its own. free finds the mapping whose range holds the
 * pointer in O(log mappings), then the block's unit, and checks it: a pointer
 * that is not the start of a block in use is caller misuse (a double free, a
 * stray pointer), reported on stderr before abort(). The original design
 * kept its pools in a list, and free slowed down as pools multiplied; the
 * tree bounds it.
 *
 *   LARGE block = one mapping, pages
 *   +--------------------+-----------------------------------------+
 *   | region (tree node) | payload ...                             |
 *   +--------------------+-----------------------------------------+
 *   ^ mmap               ^ start = mapping + LARGE_HEADER (16-aligned)
 *
 * Giving memory back. A LARGE block is unmapped when freed; realloc of one
 * LARGE size to another resizes its mapping with mremap. A pool that becomes
 * entirely free is unmapped when its type already has another entirely free
 * pool: at most one empty pool per type is kept, so a program that frees and
 * allocates around a pool boundary does not map and unmap every time.
 * realloc stays in place while the block's size class (type and order) is
 * unchanged, and moves otherwise.
 *
 * Costs: malloc O(orders + one bitmap scan of at most 32 words), plus
 * O(log mappings) when it maps a pool; free O(log mappings + orders); a
 * request rounded up to a power of two; the metadata page per pool; a page
 * rounding per LARGE block. Memory comes only from mmap: the break heap
 * (mem_sbrk) stays empty, and mm_mapped_bytes() says what is held.
 *
 * Invariants: the units of a pool are tiled exactly by its blocks; a free
 * block has its bit set in its order's bitmap, and no other unit does; two
 * free buddies of the same order never both exist (they would have merged);
 * a pool is on the directory of order k exactly when its free count of order
 * k is nonzero; the tree holds every mapping, ordered by start, with AVL
 * heights; every payload is 16-aligned.
 */
#define _GNU_SOURCE                           /* mremap and MREMAP_MAYMOVE in musl and glibc */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mm.h"
#include "region_tree.h"

const char mm_name[] = "buddy";

#define PAGE_SIZE 4096
#define META_SIZE PAGE_SIZE                   /* a pool's metadata page */
#define MAX_ORDERS 12                         /* TINY: orders 0..11, 16 B .. 32 KiB */
#define MAX_UNITS 2048                        /* TINY: 32 KiB of 16-byte units */
#define BITMAP_WORDS 72                       /* TINY needs 69: one word at least per order */
#define INFO_USED 0x80                        /* unit_info: the block is in use */
#define INFO_ORDER 0x7f
#define INFO_INTERIOR 0xff                    /* unit_info: no block starts here */

/* The shape of each pool type. */
struct pool_type {
    unsigned unit_shift;                      /* log2 of the smallest block */
    unsigned top_order;                       /* the whole pool is one block of this order */
    unsigned max_order;                       /* the largest block handed out */
};

static const struct pool_type pool_types[2] = {
    [TINY] = {4, 11, 4},                      /* 16 B units, 2048 of them, blocks to 256 B */
    [SMALL] = {9, 10, 3},                     /* 512 B units, 1024 of them, blocks to 4 KiB */
};

#define LARGE_HEADER ((sizeof(struct region) + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT)

struct pool {
    struct region region;                     /* first: a region of kind TINY or SMALL is a pool */
    struct pool *next[MAX_ORDERS];            /* the directory of each order */
    struct pool *prev[MAX_ORDERS];
    uint16_t free_count[MAX_ORDERS];          /* free blocks of each order */
    uint16_t bitmap_at[MAX_ORDERS];           /* where each order's bitmap starts in free_bits */
    uint64_t free_bits[BITMAP_WORDS];
    uint8_t unit_info[MAX_UNITS];
};

_Static_assert(sizeof(struct pool) <= META_SIZE, "pool metadata must fit its page");

static struct region *tree_root;              /* every mapping, by start address */
static struct pool *directory[2][MAX_ORDERS]; /* per type and order: pools with such a free block */
static unsigned empty_pools[2];               /* pools of each type that are entirely free */
static size_t mapped_bytes;                   /* all mappings held */

/* -- misuse ------------------------------------------------------------------------- */

/* The caller handed us a pointer we never gave out, or gave back twice. */
static void misuse(const char *function, void *ptr, const char *why) __attribute__((noreturn));
static void misuse(const char *function, void *ptr, const char *why)
{
    fprintf(stderr, "buddy: %s(%p): %s\n", function, ptr, why);
    abort();
}

/* -- mappings ------------------------------------------------------------------------- */

static void *map_pages(size_t bytes)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

static size_t round_to_pages(size_t n) { return (n + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE; }

/* Enter a fresh mapping, whose region is filled in, into the tree and the count. */
static void adopt(struct region *r)
{
    tree_root = tree_insert(tree_root, r);
    mapped_bytes += r->mapped;
}

/* Take a mapping out of the tree and give it back to the system. */
static void discard(struct region *r)
{
    tree_root = tree_remove(tree_root, r);
    mapped_bytes -= r->mapped;
    munmap(r, r->mapped);
}

/* -- pools: units, orders, bitmaps ---------------------------------------------------- */

static const struct pool_type *type_of(struct pool *p) { return &pool_types[p->region.kind]; }
static size_t unit_bytes(enum kind t) { return (size_t)1 << pool_types[t].unit_shift; }
static size_t block_bytes(enum kind t, unsigned order) { return unit_bytes(t) << order; }
static size_t units_in(unsigned order) { return (size_t)1 << order; }
static size_t pool_user_bytes(enum kind t) { return block_bytes(t, pool_types[t].top_order); }
static char *unit_address(struct pool *p, size_t u) { return (char *)p->region.start + (u << type_of(p)->unit_shift); }
static size_t unit_of(struct pool *p, void *ptr) { return ((uintptr_t)ptr - p->region.start) >> type_of(p)->unit_shift; }
static size_t buddy_of(size_t u, unsigned order) { return u ^ units_in(order); }

/* The word and bit of the free bitmap of `order` for the block at unit u. */
static uint64_t *bitmap_word(struct pool *p, size_t u, unsigned order)
{
    size_t bit = u >> order;
    return &p->free_bits[p->bitmap_at[order] + bit / 64];
}
static uint64_t bitmap_mask(size_t u, unsigned order) { return (uint64_t)1 << ((u >> order) % 64); }

static void directory_add(struct pool *p, unsigned order)
{
    struct pool **head = &directory[p->region.kind][order];
    p->prev[order] = NULL;
    p->next[order] = *head;
    if (*head != NULL)
        (*head)->prev[order] = p;
    *head = p;
}

static void directory_remove(struct pool *p, unsigned order)
{
    if (p->prev[order] != NULL)
        p->prev[order]->next[order] = p->next[order];
    else
        directory[p->region.kind][order] = p->next[order];
    if (p->next[order] != NULL)
        p->next[order]->prev[order] = p->prev[order];
}

/* Record a free block of `order` at unit u. */
static void mark_free(struct pool *p, size_t u, unsigned order)
{
    p->unit_info[u] = (uint8_t)order;
    *bitmap_word(p, u, order) |= bitmap_mask(u, order);
    if (p->free_count[order]++ == 0)
        directory_add(p, order);
    if (order == type_of(p)->top_order)
        empty_pools[p->region.kind]++;
}

/* Forget the free block of `order` at unit u (it is about to be used or merged). */
static void unmark_free(struct pool *p, size_t u, unsigned order)
{
    *bitmap_word(p, u, order) &= ~bitmap_mask(u, order);
    if (--p->free_count[order] == 0)
        directory_remove(p, order);
    if (order == type_of(p)->top_order)
        empty_pools[p->region.kind]--;
}

/* The unit of some free block of `order` (the pool must have one). */
static size_t find_free(struct pool *p, unsigned order)
{
    uint64_t *bits = &p->free_bits[p->bitmap_at[order]];
    for (size_t w = 0; ; w++)
        if (bits[w] != 0)
            return (w * 64 + (size_t)__builtin_ctzll(bits[w])) << order;
}

/* Map a new pool of type t: one free block of the top order. NULL when out of memory. */
static struct pool *pool_create(enum kind t)
{
    const struct pool_type *pt = &pool_types[t];
    struct pool *p = map_pages(META_SIZE + pool_user_bytes(t));
    if (p == NULL)
        return NULL;
    memset(p, 0, sizeof *p);
    memset(p->unit_info, INFO_INTERIOR, sizeof p->unit_info);
    size_t word = 0;
    for (unsigned k = 0; k <= pt->top_order; k++) {
        p->bitmap_at[k] = (uint16_t)word;
        size_t blocks = units_in(pt->top_order - k);
        word += blocks < 64 ? 1 : blocks / 64;
    }
    p->region.start = (uintptr_t)p + META_SIZE;
    p->region.length = pool_user_bytes(t);
    p->region.mapped = META_SIZE + pool_user_bytes(t);
    p->region.kind = t;
    adopt(&p->region);
    mark_free(p, 0, pt->top_order);
    return p;
}

/* -- pools: allocate and free --------------------------------------------------------- */

/* A block of `order` from the pools of type t, mapping a pool if none has room. */
static void *pool_alloc(enum kind t, unsigned order)
{
    const struct pool_type *pt = &pool_types[t];
    unsigned k = order;
    while (k <= pt->top_order && directory[t][k] == NULL)
        k++;
    if (k > pt->top_order) {
        if (pool_create(t) == NULL)
            return NULL;
        k = pt->top_order;
    }
    struct pool *p = directory[t][k];
    size_t u = find_free(p, k);
    unmark_free(p, u, k);
    while (k > order) {                       /* split, keeping the low half */
        k--;
        mark_free(p, u + units_in(k), k);
    }
    p->unit_info[u] = (uint8_t)(INFO_USED | order);
    return unit_address(p, u);
}

/* Free the block in use at unit u, merging with free buddies; unmap the pool
 * if it is now empty and its type has another empty pool. */
static void pool_free(struct pool *p, size_t u)
{
    const struct pool_type *pt = type_of(p);
    unsigned k = p->unit_info[u] & INFO_ORDER;
    while (k < pt->top_order) {
        size_t b = buddy_of(u, k);
        if (p->unit_info[b] != k)             /* the buddy is in use or split */
            break;
        unmark_free(p, b, k);
        p->unit_info[b > u ? b : u] = INFO_INTERIOR;
        u = b < u ? b : u;
        k++;
    }
    mark_free(p, u, k);
    if (k == pt->top_order && empty_pools[p->region.kind] > 1) {
        unmark_free(p, u, k);
        discard(&p->region);
    }
}

/* -- LARGE blocks --------------------------------------------------------------------- */

static void *large_alloc(size_t size)
{
    size_t bytes = round_to_pages(LARGE_HEADER + size);
    struct region *r = map_pages(bytes);
    if (r == NULL)
        return NULL;
    r->start = (uintptr_t)r + LARGE_HEADER;
    r->length = bytes - LARGE_HEADER;
    r->mapped = bytes;
    r->kind = LARGE;
    adopt(r);
    return (void *)r->start;
}

/* Resize a LARGE block's mapping with mremap (it may move); NULL if refused,
 * and then the block is as it was. */
static void *large_resize(struct region *r, size_t size)
{
    size_t bytes = round_to_pages(LARGE_HEADER + size);
    if (bytes == r->mapped)
        return (void *)r->start;
    tree_root = tree_remove(tree_root, r);    /* the node moves with the mapping */
    mapped_bytes -= r->mapped;
    struct region *moved = mremap(r, r->mapped, bytes, MREMAP_MAYMOVE);
    if (moved == MAP_FAILED) {
        adopt(r);
        return NULL;
    }
    moved->start = (uintptr_t)moved + LARGE_HEADER;
    moved->length = bytes - LARGE_HEADER;
    moved->mapped = bytes;
    adopt(moved);
    return (void *)moved->start;
}

/* -- size classes and blocks ---------------------------------------------------------- */

struct size_class {
    enum kind kind;
    unsigned order;                           /* for TINY and SMALL */
};

static struct size_class class_of(size_t size)
{
    struct size_class c = {LARGE, 0};
    if (size > block_bytes(SMALL, pool_types[SMALL].max_order))
        return c;
    c.kind = size > block_bytes(TINY, pool_types[TINY].max_order) ? SMALL : TINY;
    while (block_bytes(c.kind, c.order) < size)
        c.order++;
    return c;
}

/* A block in use, as free and realloc see it. */
struct block {
    struct region *region;
    size_t unit;                              /* for a pool block */
    struct size_class class;
    size_t capacity;                          /* bytes usable */
};

/* The block in use that starts at ptr; misuse (abort) if there is none. */
static struct block block_at(void *ptr, const char *function)
{
    struct block b = {tree_find(tree_root, (uintptr_t)ptr), 0, {LARGE, 0}, 0};
    if (b.region == NULL)
        misuse(function, ptr, "not a pointer buddy handed out");
    if (b.region->kind == LARGE) {
        if ((uintptr_t)ptr != b.region->start)
            misuse(function, ptr, "points inside a LARGE block");
        b.capacity = b.region->length;
        return b;
    }
    struct pool *p = (struct pool *)b.region;
    b.unit = unit_of(p, ptr);
    uint8_t info = p->unit_info[b.unit];
    if (unit_address(p, b.unit) != (char *)ptr || info == INFO_INTERIOR || !(info & INFO_USED))
        misuse(function, ptr, "not the start of a block in use (freed twice?)");
    b.class.kind = b.region->kind;
    b.class.order = info & INFO_ORDER;
    b.capacity = block_bytes(b.class.kind, b.class.order);
    return b;
}

static void release(struct block b)
{
    if (b.class.kind == LARGE)
        discard(b.region);
    else
        pool_free((struct pool *)b.region, b.unit);
}

/* -- the interface -------------------------------------------------------------------- */

/* Unmap every mapping of the subtree at r. */
static void discard_all(struct region *r)
{
    if (r == NULL)
        return;
    struct region *left = r->left, *right = r->right;
    discard_all(left);
    discard_all(right);
    munmap(r, r->mapped);
}

/* mm_init: give back every pool and LARGE block, and start empty. */
int mm_init(void)
{
    discard_all(tree_root);
    tree_root = NULL;
    memset(directory, 0, sizeof directory);
    memset(empty_pools, 0, sizeof empty_pools);
    mapped_bytes = 0;
    mem_reset_brk();                          /* buddy keeps nothing in the break heap */
    return 0;
}

/* mm_malloc: a buddy block of the request's class, or a LARGE mapping. */
void *mm_malloc(size_t size)
{
    if (size == 0 || size > MM_MAX_REQUEST)
        return NULL;
    struct size_class c = class_of(size);
    return c.kind == LARGE ? large_alloc(size) : pool_alloc(c.kind, c.order);
}

/* mm_free: merge back into the pool, or unmap a LARGE block. */
void mm_free(void *ptr)
{
    if (ptr != NULL)
        release(block_at(ptr, "mm_free"));
}

/* mm_realloc: in place while the size class stays, mremap between LARGE
 * sizes, else a new block and a copy. */
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
    struct block b = block_at(ptr, "mm_realloc");
    struct size_class c = class_of(size);
    if (c.kind == LARGE && b.class.kind == LARGE)
        return large_resize(b.region, size);
    if (c.kind == b.class.kind && c.order == b.class.order)
        return ptr;
    void *moved = mm_malloc(size);
    if (moved == NULL)
        return NULL;                          /* the old block stays valid */
    memcpy(moved, ptr, b.capacity < size ? b.capacity : size);
    release(b);
    return moved;
}

/* Bytes held in pools and LARGE mappings (see mm.h). */
size_t mm_mapped_bytes(void)
{
    return mapped_bytes;
}

#include "demo_main.h"

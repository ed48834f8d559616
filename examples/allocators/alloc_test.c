/* alloc_test.c -- one test program for whichever allocator it is linked with.
 *
 *   build([alloc_test.c, firstfit.c], defines=["MM_LIBRARY"])     (the tests)
 *   gcc -DMM_LIBRARY -I asm/runtime alloc_test.c firstfit.c asm/runtime/memlib.c
 *
 * Each check prints `FAIL: <what>` and exits 1 at the first failure; when all
 * pass it prints `PASS <mm_name>` and exits 0. What it proves, in order:
 *
 *   merging    on the fresh heap, 100-byte blocks freed side by side make
 *              room for 200-byte ones without the heap growing;
 *   edges      malloc(0) is NULL, free(NULL) is harmless, realloc(NULL, n) and
 *              realloc(p, 0) behave as malloc and free, huge sizes are refused
 *              and a failed realloc leaves the block alone;
 *   alignment  every payload is 16-aligned, and no two live blocks overlap
 *              (every block handed out is checked against every live one);
 *   realloc    contents survive growing and shrinking, across the size
 *              classes and into sizes above 4096 (buddy's LARGE blocks);
 *   reuse      freed memory is used again: a long malloc/free loop of one size
 *              does not grow the footprint (break heap plus mappings), and a
 *              second round of the same requests fits in the first one's peak;
 *   random     a few thousand mixed operations, every byte checked;
 *   reinit     mm_init again forgets everything and starts a small, working heap.
 *
 * merging and reuse are skipped for bump, which never reuses anything. Every
 * live block is filled with a pattern derived from its tag, and checked
 * before it is freed or resized.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"

#define MAX_LIVE 640
#define RANDOM_OPS 3000
#define RANDOM_SLOTS 128
#define REUSE_ROUNDS 2000
#define PAGE 4096
#define TOO_MUCH ((size_t)1 << 40)              /* allowed, but more than any test machine has */

struct live {
    unsigned char *ptr;
    size_t size;
    unsigned tag;
};

static struct live live[MAX_LIVE];            /* the blocks the program owns */
static size_t live_count;
static unsigned next_tag = 1;

/* -- failing ------------------------------------------------------------------------- */

static void expect(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void expect(int ok, const char *fmt, ...)
{
    if (ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf(" (%s)\n", mm_name);
    va_end(ap);
    exit(1);
}

/* -- patterns ------------------------------------------------------------------------ */

static unsigned char pattern(unsigned tag, size_t offset)
{
    return (unsigned char)(tag * 29 + offset * 13 + (offset >> 8) + 5);
}

static void fill(unsigned char *p, size_t size, unsigned tag)
{
    for (size_t i = 0; i < size; i++)
        p[i] = pattern(tag, i);
}

/* The first n bytes at p hold tag's pattern, or FAIL naming `when`. */
static void verify(const unsigned char *p, size_t n, unsigned tag, const char *when)
{
    for (size_t i = 0; i < n; i++)
        expect(p[i] == pattern(tag, i), "byte %lu of a block (tag %u) changed %s",
               (unsigned long)i, tag, when);
}

/* -- the live blocks ----------------------------------------------------------------- */

static int overlaps(const unsigned char *a, size_t a_size, const unsigned char *b, size_t b_size)
{
    return a < b + b_size && b < a + a_size;
}

/* A block the allocator just handed out must be aligned and overlap no live
 * block but live[skip] (the one it replaces; MAX_LIVE for none). */
static void check_new_block(const unsigned char *p, size_t size, size_t skip)
{
    expect((uintptr_t)p % ALIGNMENT == 0, "payload %p for %lu bytes is not %d-aligned",
           (void *)p, (unsigned long)size, ALIGNMENT);
    for (size_t i = 0; i < live_count; i++)
        expect(i == skip || !overlaps(p, size, live[i].ptr, live[i].size),
               "new block [%p, +%lu) overlaps live block [%p, +%lu)", (void *)p,
               (unsigned long)size, (void *)live[i].ptr, (unsigned long)live[i].size);
}

/* Record a fresh block and fill it; returns its index in live[]. */
static size_t track(unsigned char *p, size_t size)
{
    expect(live_count < MAX_LIVE, "the test tracks at most %d blocks", MAX_LIVE);
    check_new_block(p, size, MAX_LIVE);
    struct live *b = &live[live_count];
    b->ptr = p;
    b->size = size;
    b->tag = next_tag++;
    fill(p, size, b->tag);
    return live_count++;
}

static size_t allocate(size_t size)
{
    unsigned char *p = mm_malloc(size);
    expect(p != NULL, "mm_malloc(%lu) returned NULL", (unsigned long)size);
    return track(p, size);
}

static void release(size_t i)
{
    verify(live[i].ptr, live[i].size, live[i].tag, "while the block was live");
    mm_free(live[i].ptr);
    live[i] = live[--live_count];
}

static void release_all(void)
{
    while (live_count > 0)
        release(live_count - 1);
}

/* Resize live[i] (it keeps its index); its first min(old, new) bytes must
 * come through. */
static void resize(size_t i, size_t size)
{
    struct live *b = &live[i];
    verify(b->ptr, b->size, b->tag, "before realloc");
    unsigned char *p = mm_realloc(b->ptr, size);
    expect(p != NULL, "mm_realloc(%lu -> %lu) returned NULL", (unsigned long)b->size,
           (unsigned long)size);
    verify(p, b->size < size ? b->size : size, b->tag, "across realloc");
    check_new_block(p, size, i);
    b->ptr = p;
    b->size = size;
    b->tag = next_tag++;
    fill(p, size, b->tag);
}

/* -- the checks ---------------------------------------------------------------------- */

static void test_edges(void)
{
    expect(mm_malloc(0) == NULL, "mm_malloc(0) should return NULL");
    mm_free(NULL);
    expect(mm_realloc(NULL, 0) == NULL, "mm_realloc(NULL, 0) should return NULL");
    expect(mm_malloc(SIZE_MAX) == NULL, "mm_malloc(SIZE_MAX) should fail");
    expect(mm_malloc(SIZE_MAX - 8) == NULL, "mm_malloc(SIZE_MAX - 8) should fail");
    expect(mm_malloc(MM_MAX_REQUEST + 1) == NULL, "mm_malloc(MM_MAX_REQUEST + 1) should fail");

    expect(mm_malloc(TOO_MUCH) == NULL, "mm_malloc(1 TiB) should fail: the machine has less");

    size_t i = allocate(100);
    unsigned char *p = live[i].ptr;
    expect(mm_realloc(p, SIZE_MAX - 16) == NULL, "mm_realloc(p, SIZE_MAX - 16) should fail");
    expect(mm_realloc(p, TOO_MUCH) == NULL, "mm_realloc(p, 1 TiB) should fail");
    verify(p, 100, live[i].tag, "after a failed realloc");

    live_count--;                             /* realloc(p, 0) frees p */
    expect(mm_realloc(p, 0) == NULL, "mm_realloc(p, 0) should return NULL");
    unsigned char *q = mm_realloc(NULL, 40);  /* realloc(NULL, n) mallocs */
    expect(q != NULL, "mm_realloc(NULL, 40) returned NULL");
    track(q, 40);
    release_all();
}

static void test_alignment(void)
{
    static const size_t big[] = {4095, 4096, 4097, 8191, 8192, 10000, 65536, 100000};
    for (size_t size = 1; size <= 512; size++)
        allocate(size);
    for (size_t k = 0; k < sizeof big / sizeof big[0]; k++)
        allocate(big[k]);
    for (size_t i = 0; i < live_count; i++)   /* every other block, then the rest */
        if (i % 2 == 0)
            release(i);
    for (size_t size = 1; size <= 96; size++) /* into the holes */
        allocate(size * 3);
    release_all();
}

static void test_realloc(void)
{
    static const size_t sizes[] = {1, 8, 17, 100, 255, 256, 257, 600, 4096, 4097, 9000,
                                   70000, 5000, 4000, 300, 16, 3, 20000, 1, 2500, 40};
    size_t n = sizeof sizes / sizeof sizes[0];
    allocate(sizes[0]);                       /* live[0]: the block being resized */
    for (size_t k = 1; k < n; k++) {
        resize(0, sizes[k]);
        if (k % 3 == 0)                       /* a neighbour, so some steps must move */
            allocate(sizes[k] / 2 + 1);
        else if (live_count > 1)
            release(live_count - 1);
        resize(0, sizes[k]);                  /* the same size again */
    }
    release_all();
}

/* A malloc/free loop of one size, beside a live neighbour, must not grow the footprint. */
static void test_reuse_loop(size_t size)
{
    size_t neighbour = allocate(size);
    release(allocate(size));
    size_t base = mm_footprint();
    for (int round = 0; round < REUSE_ROUNDS; round++) {
        unsigned char *p = mm_malloc(size);   /* untracked and unfilled: the loop is long */
        expect(p != NULL, "mm_malloc(%lu) returned NULL at round %d", (unsigned long)size, round);
        check_new_block(p, size, MAX_LIVE);
        p[0] = p[size - 1] = 1;
        mm_free(p);
        expect(mm_footprint() <= base, "a malloc/free loop of %lu bytes grew the footprint "
               "from %lu to %lu bytes at round %d", (unsigned long)size, (unsigned long)base,
               (unsigned long)mm_footprint(), round);
    }
    release(neighbour);
}

/* 64 blocks, all freed, then the same 64 again: the second round fits in the first's peak. */
static size_t reuse_round(void)
{
    size_t peak = 0;
    srand(7);
    for (int k = 0; k < 64; k++) {
        allocate((size_t)(rand() % 3000) + 1 + (k % 8 == 0 ? 6000 : 0));
        if (mm_footprint() > peak)
            peak = mm_footprint();
    }
    release_all();
    return peak;
}

static void test_reuse(void)
{
    static const size_t sizes[] = {24, 200, 1000, 3000, 6000, 40000};
    if (strcmp(mm_name, "bump") == 0)
        return;                               /* bump never reuses: nothing to prove */
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        test_reuse_loop(sizes[k]);
    size_t first = reuse_round();
    size_t second = reuse_round();
    expect(second <= first, "the same 64 requests needed %lu bytes the first time and %lu "
           "the second", (unsigned long)first, (unsigned long)second);
}

/* On the fresh heap: 256 blocks of 100 bytes (for buddy, one whole TINY
 * pool of 128-byte blocks), freed in the order they were allocated (address
 * order here), then 128 of 200 bytes must fit in the same memory. Only
 * merging free neighbours makes room for the larger blocks. */
static void test_merging(void)
{
    if (strcmp(mm_name, "bump") == 0)
        return;
    for (int k = 0; k < 256; k++)
        allocate(100);
    size_t peak = mm_footprint();
    for (size_t i = 0; i < live_count; i++)
        verify(live[i].ptr, live[i].size, live[i].tag, "while the block was live");
    for (size_t i = 0; i < live_count; i++)
        mm_free(live[i].ptr);
    live_count = 0;
    for (int k = 0; k < 128; k++) {
        allocate(200);
        expect(mm_footprint() <= peak, "freed neighbours were not merged: the heap grew from %lu "
               "to %lu bytes for 200-byte blocks where 100-byte ones were freed",
               (unsigned long)peak, (unsigned long)mm_footprint());
    }
    release_all();
}

static size_t random_size(void)
{
    switch (rand() % 8) {
    case 0: return (size_t)(rand() % 40000) + 4097;     /* buddy's LARGE */
    case 1: case 2: return (size_t)(rand() % 4096) + 1;
    default: return (size_t)(rand() % 300) + 1;
    }
}

static void test_random(void)
{
    srand(12345);
    for (int op = 0; op < RANDOM_OPS; op++) {
        int choice = rand() % 10;
        if (live_count < RANDOM_SLOTS && (live_count == 0 || choice < 5))
            allocate(random_size());
        else if (choice < 8)
            release((size_t)rand() % live_count);
        else
            resize((size_t)rand() % live_count, random_size());
    }
    release_all();
}

static void test_reinit(void)
{
    for (int k = 0; k < 40; k++)              /* left live: mm_init forgets them */
        allocate((size_t)k * 97 + 1);
    live_count = 0;
    expect(mm_init() == 0, "a second mm_init failed");
    expect(mm_footprint() <= 2 * PAGE, "after mm_init again the footprint is %lu bytes",
           (unsigned long)mm_footprint());
    for (int k = 0; k < 200; k++)
        allocate((size_t)(k % 50) * 41 + 1);
    for (size_t i = 0; i < live_count; i += 2)
        release(i);
    for (int k = 0; k < 50; k++)
        allocate((size_t)k * 5 + 1);
    release_all();
}

int main(void)
{
    /* Print before mm_init. Natively, glibc's malloc, which stdio uses for its
     * buffer, moves the break too, while memlib assumes it alone does: letting
     * stdio take its buffer first keeps the two heaps apart. */
    printf("alloc_test: %s\n", mm_name);
    expect(mm_init() == 0, "mm_init failed");
    test_merging();
    test_edges();
    test_alignment();
    test_realloc();
    test_reuse();
    test_random();
    test_reinit();
    printf("PASS %s\n", mm_name);
    return 0;
}

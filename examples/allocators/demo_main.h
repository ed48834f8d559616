/* demo_main.h -- the demo every allocator runs: `emu run examples/allocators/X.c -- N`.
 *
 * Included at the end of each allocator's .c file. With MM_LIBRARY defined it
 * adds nothing, so the allocator can be linked into another program (the
 * tests, the malloc lab).
 *
 * The workload: N random operations (N = argv[1], default 1000) on 64 slots,
 * from srand(1), so a run repeats exactly. An operation picks a slot: an
 * empty slot gets mm_malloc of 1..2000 bytes (one time in 16, up to 20000);
 * a full one is freed, or one time in three resized with mm_realloc. Every
 * block is filled with a byte pattern derived from its slot and generation,
 * and the pattern is checked before the block is freed or resized: a mismatch
 * means the allocator let two blocks overlap or lost data, and the demo stops
 * with status 1.
 *
 * It prints the operation counts and the peak utilization, CS:APP's figure of
 * merit: the largest total of live payload bytes at any moment, over the
 * largest footprint (break heap plus mappings) the allocator ever held,
 * printed as "heap".
 * The random numbers come from the C library's rand(), so the runtime, musl
 * and glibc builds each repeat exactly but differ from one another.
 */
#ifndef MM_LIBRARY

#include <stdio.h>
#include <stdlib.h>

#define DEMO_SLOTS 64
#define DEMO_DEFAULT_OPS 1000
#define DEMO_SMALL_MAX 2000
#define DEMO_LARGE_MAX 20000
#define DEMO_LARGE_ONE_IN 16
#define DEMO_REALLOC_ONE_IN 3

struct demo_slot {
    unsigned char *ptr;
    size_t size;
    unsigned generation;          /* changes whenever the slot is refilled */
};

struct demo_stats {
    unsigned long mallocs, frees, reallocs;
    size_t live, peak_live, peak_footprint;
};

static unsigned char demo_byte(size_t slot, unsigned generation, size_t offset)
{
    return (unsigned char)(slot * 37 + generation * 101 + offset * 7 + 1);
}

static void demo_fill(size_t slot, struct demo_slot *s)
{
    for (size_t i = 0; i < s->size; i++)
        s->ptr[i] = demo_byte(slot, s->generation, i);
}

/* Exit with status 1 unless the first `n` bytes of the slot hold its pattern. */
static void demo_check(size_t slot, const struct demo_slot *s, size_t n, const char *when)
{
    for (size_t i = 0; i < n; i++) {
        if (s->ptr[i] != demo_byte(slot, s->generation, i)) {
            printf("%s: slot %lu: byte %lu of %lu changed before %s\n",
                   mm_name, (unsigned long)slot, (unsigned long)i, (unsigned long)s->size, when);
            exit(1);
        }
    }
}

static size_t demo_size(void)
{
    int limit = rand() % DEMO_LARGE_ONE_IN == 0 ? DEMO_LARGE_MAX : DEMO_SMALL_MAX;
    return (size_t)(rand() % limit) + 1;
}

static void demo_need(void *p, size_t size)
{
    if (p == NULL) {
        printf("%s: out of memory asking for %lu bytes\n", mm_name, (unsigned long)size);
        exit(1);
    }
}

static void demo_malloc(size_t slot, struct demo_slot *s, struct demo_stats *st)
{
    s->size = demo_size();
    s->ptr = mm_malloc(s->size);
    demo_need(s->ptr, s->size);
    s->generation++;
    demo_fill(slot, s);
    st->live += s->size;
    st->mallocs++;
}

static void demo_free(size_t slot, struct demo_slot *s, struct demo_stats *st)
{
    demo_check(slot, s, s->size, "free");
    mm_free(s->ptr);
    st->live -= s->size;
    s->ptr = NULL;
    s->size = 0;
    st->frees++;
}

static void demo_realloc(size_t slot, struct demo_slot *s, struct demo_stats *st)
{
    size_t size = demo_size();
    size_t kept = size < s->size ? size : s->size;
    demo_check(slot, s, s->size, "realloc");
    unsigned char *p = mm_realloc(s->ptr, size);
    demo_need(p, size);
    s->ptr = p;
    demo_check(slot, s, kept, "the end of realloc");
    st->live = st->live - s->size + size;
    s->size = size;
    s->generation++;
    demo_fill(slot, s);
    st->reallocs++;
}

static void demo_step(struct demo_slot *slots, struct demo_stats *st)
{
    size_t slot = (size_t)rand() % DEMO_SLOTS;
    struct demo_slot *s = &slots[slot];
    if (s->ptr == NULL)
        demo_malloc(slot, s, st);
    else if (rand() % DEMO_REALLOC_ONE_IN == 0)
        demo_realloc(slot, s, st);
    else
        demo_free(slot, s, st);
    if (st->live > st->peak_live)
        st->peak_live = st->live;
    if (mm_footprint() > st->peak_footprint)
        st->peak_footprint = mm_footprint();
}

/* Tenths of a percent, printed as "52.6%" with integers (the runtime has no %f). */
static unsigned long demo_tenths(size_t part, size_t whole)
{
    return whole ? (unsigned long)(part * 1000 / whole) : 0;
}

int main(int argc, char **argv)
{
    static struct demo_slot slots[DEMO_SLOTS];
    struct demo_stats st = {0};
    int ops = argc > 1 ? atoi(argv[1]) : DEMO_DEFAULT_OPS;

    /* Print before mm_init. Natively, glibc's malloc, which stdio uses for its
     * buffer, moves the break too, while memlib assumes it alone does: letting
     * stdio take its buffer first keeps the two heaps apart. */
    printf("%s: %d random operations on %d slots\n", mm_name, ops, DEMO_SLOTS);
    if (mm_init() != 0) {
        printf("%s: mm_init failed\n", mm_name);
        return 1;
    }
    srand(1);
    for (int i = 0; i < ops; i++)
        demo_step(slots, &st);
    printf("%s: %lu malloc, %lu free, %lu realloc; every block kept its bytes\n",
           mm_name, st.mallocs, st.frees, st.reallocs);
    unsigned long tenths = demo_tenths(st.peak_live, st.peak_footprint);
    printf("%s: %d ops, peak payload %lu bytes, heap %lu bytes, utilization %lu.%lu%%\n",
           mm_name, ops, (unsigned long)st.peak_live, (unsigned long)st.peak_footprint,
           tenths / 10, tenths % 10);
    for (size_t slot = 0; slot < DEMO_SLOTS; slot++)
        if (slots[slot].ptr != NULL)
            demo_free(slot, &slots[slot], &st);
    return 0;
}

#endif /* MM_LIBRARY */

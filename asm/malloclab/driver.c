/* driver.c -- the malloc lab's driver, running inside the guest.
 *
 * The host parses a trace, writes it into the process at the address given
 * as argv[1] (struct lab below), and runs this program once per trace, linked
 * with the allocator under test. Like the CS:APP mdriver it replays the trace
 * twice:
 *
 *   1. checking: every payload must be 16-byte aligned, lie inside the heap
 *      (or a mapping the allocator made), overlap no live block, and keep its
 *      contents (each block is filled with a pattern made from its id, and
 *      the pattern is checked before free and across realloc). The first
 *      failure is written to the results with the op's index, and ends the run.
 *      Payload and footprint after each op are recorded for the plots.
 *   2. timing: mem_reset_brk(), mm_init(), and the ops again with no checks,
 *      timed with clock_gettime.
 *
 * Every SAMPLE_EVERY ops of pass 1 the driver calls lab_sample(), a function
 * the host may put a breakpoint-style hook on to walk the heap.
 *
 * lab_fill() and lab_verify() are the byte loops of the checks. Checking
 * realloc costs as much as the block (CS:APP's driver does the same), which a
 * growing realloc trace makes quadratic: billions of emulated instructions.
 * So the host hooks both functions: it writes the pattern, or compares it,
 * at host speed and returns for them. When a comparison fails, the host
 * lets the guest loop run, and the guest reports the failure as always.
 *
 * Built natively with -DLAB_NATIVE (make bench compares against it), argv[1]
 * is instead "@FILE", a packed trace written by the host, and the results
 * are printed: status failed_op peak_payload peak_footprint timing_ns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_syscall.h"
#include "memlib.h"

extern const char mm_name[] __attribute__((weak));   /* the project's allocators name themselves */
int mm_init(void);
void *mm_malloc(size_t size);
void mm_free(void *ptr);
void *mm_realloc(void *ptr, size_t size);

#define LAB_MAGIC 0x4C414245u        /* "EBAL" little-endian: the host's trace */
enum { OP_ALLOC = 0, OP_FREE = 1, OP_REALLOC = 2 };
enum { STATUS_RUNNING = 0, STATUS_OK = 1, STATUS_FAILED = 2 };

struct op {                          /* 16 bytes, written by the host */
    uint8_t kind, pad[3];
    uint32_t id;
    uint64_t size;
};

struct lab {
    uint32_t magic, num_ids, num_ops, sample_every;
    uint64_t ops_offset, series_offset, blocks_offset;   /* from the struct's address */
    uint64_t nodes_offset, max_nodes;                     /* room for the treaps */
    /* results, written here */
    uint64_t status, failed_op, peak_payload, peak_footprint, final_heap, timing_ns;
    char message[256];
};

struct block { char *p; uint64_t size; };     /* per id, at blocks_offset */

#ifdef LAB_NATIVE
/* Natively there is no runtime to report mmap calls; the observer stays unused. */
void (*emu_mmap_observer)(void *, size_t, int);

static struct lab *load_native(const char *path)
{
    long fd = emu_syscall3(2, path, 0, 0);                        /* open(O_RDONLY) */
    long size = emu_syscall3(8, fd, 0, 2);                        /* lseek(SEEK_END) */
    void *p = (void *)emu_syscall6(EMU_SYS_mmap, 0, size, 3, 2, fd, 0);   /* MAP_PRIVATE */
    return (struct lab *)p;
}
#else
extern void (*emu_mmap_observer)(void *, size_t, int);
#endif

/* -- a treap of address ranges: live blocks, and the allocator's mappings ---- */

struct node { uint64_t start, end; uint32_t id, prio; struct node *left, *right; };

static struct node *pool;            /* in the host's lab region, not the heap */
static struct node *free_nodes;
static uint64_t pool_used, pool_size;
static uint32_t rng = 2463534242u;

static __attribute__((noreturn)) void fail(const char *fmt, ...);

static struct node *new_node(uint64_t start, uint64_t end, uint32_t id)
{
    struct node *n = free_nodes;
    if (n)
        free_nodes = n->left;
    else if (pool_used < pool_size)
        n = &pool[pool_used++];
    else
        fail("the driver ran out of room to track blocks (%lu)", (unsigned long)pool_size);
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    *n = (struct node){start, end, id, rng, 0, 0};
    return n;
}

static struct node *rotate_right(struct node *t) { struct node *l = t->left; t->left = l->right; l->right = t; return l; }
static struct node *rotate_left(struct node *t) { struct node *r = t->right; t->right = r->left; r->left = t; return r; }

static struct node *insert(struct node *t, struct node *n)
{
    if (!t)
        return n;
    if (n->start < t->start) {
        t->left = insert(t->left, n);
        if (t->left->prio > t->prio)
            t = rotate_right(t);
    } else {
        t->right = insert(t->right, n);
        if (t->right->prio > t->prio)
            t = rotate_left(t);
    }
    return t;
}

static struct node *erase(struct node *t, uint64_t start)
{
    if (!t)
        return 0;
    if (start < t->start) {
        t->left = erase(t->left, start);
    } else if (start > t->start) {
        t->right = erase(t->right, start);
    } else if (!t->left || !t->right) {
        struct node *child = t->left ? t->left : t->right;
        t->left = free_nodes;
        free_nodes = t;
        return child;
    } else if (t->left->prio > t->right->prio) {
        t = rotate_right(t);
        t->right = erase(t->right, start);
    } else {
        t = rotate_left(t);
        t->left = erase(t->left, start);
    }
    return t;
}

/* The range with the greatest start <= addr, or 0. */
static struct node *floor_of(struct node *t, uint64_t addr)
{
    struct node *best = 0;
    while (t) {
        if (t->start <= addr) {
            best = t;
            t = t->right;
        } else {
            t = t->left;
        }
    }
    return best;
}

/* The range with the least start > addr, or 0. */
static struct node *above(struct node *t, uint64_t addr)
{
    struct node *best = 0;
    while (t) {
        if (t->start > addr) {
            best = t;
            t = t->left;
        } else {
            t = t->right;
        }
    }
    return best;
}

/* -- state ------------------------------------------------------------------ */

/* Holding the allocator's name keeps it in the program (the linker drops what
 * nothing uses), so the host's heap walker can tell which allocator runs. */
const char *volatile lab_allocator;

static struct lab *lab;
static struct op *ops;
static uint64_t *series;             /* payload, footprint per op */
static struct block *blocks;
static struct node *live, *mappings;
static uint64_t payload, mapped_bytes, op_index;

static void observe_mapping(void *addr, size_t len, int kind)
{
    uint64_t start = (uint64_t)addr;
    if (kind == 1) {
        mappings = insert(mappings, new_node(start, start + len, 0));
        mapped_bytes += len;
    } else {
        struct node *m = floor_of(mappings, start);
        if (m && m->start == start) {
            mapped_bytes -= m->end - m->start;
            mappings = erase(mappings, start);
        }
    }
}

static __attribute__((noreturn)) void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lab->message, sizeof lab->message, fmt, ap);
    va_end(ap);
    lab->failed_op = op_index;
    lab->status = STATUS_FAILED;
#ifdef LAB_NATIVE
    fprintf(stderr, "op %lu: %s\n", (unsigned long)op_index, lab->message);
#endif
    exit(1);
}

__attribute__((noinline, used)) void lab_sample(uint64_t index)
{
    __asm__ volatile("" : : "r"(index) : "memory");    /* the host hooks this address */
}

/* The fill byte at offset i of the block of `id` (emu/malloclab/lab.py has the same). */
static inline unsigned char pattern(uint32_t id, uint64_t i) { return (unsigned char)(id * 131 + i * 7 + 1); }

__attribute__((noinline, used)) void lab_fill(uint32_t id, char *p, uint64_t from, uint64_t size)
{
    for (uint64_t i = from; i < size; i++)
        p[i] = (char)pattern(id, i);
}

__attribute__((noinline, used)) void lab_verify(uint32_t id, const char *p, uint64_t size,
                                                const char *when)
{
    for (uint64_t i = 0; i < size; i++) {
        if ((unsigned char)p[i] != pattern(id, i))
            fail("%s: byte %lu of the block of id %u at %p is 0x%02x, expected 0x%02x",
                 when, (unsigned long)i, id, (void *)p, (unsigned char)p[i], pattern(id, i));
    }
}

/* Alignment, inside the heap or a mapping, and no overlap with a live block. */
static void check_placement(uint32_t id, char *p, uint64_t size, const char *what)
{
    uint64_t start = (uint64_t)p, end = start + size;
    if (start % 16)
        fail("%s returned %p for id %u: not aligned to 16 bytes", what, (void *)p, id);
    char *lo = mem_heap_lo(), *hi = mem_heap_hi();
    int in_heap = p >= lo && p + size - 1 <= hi;
    struct node *m = floor_of(mappings, start);
    int in_mapping = m && end <= m->end;
    if (!in_heap && !in_mapping)
        fail("%s returned [%p, %p) for id %u: outside the heap [%p, %p] and the "
             "allocator's mappings", what, (void *)p, (void *)(p + size), id, (void *)lo, (void *)hi);
    struct node *before = floor_of(live, start), *after = above(live, start);
    if (before && before->end > start)
        fail("%s returned [%p, %p) for id %u: it overlaps the block of id %u at [%p, %p)",
             what, (void *)p, (void *)(p + size), id, before->id, (void *)before->start,
             (void *)before->end);
    if (after && after->start < end)
        fail("%s returned [%p, %p) for id %u: it overlaps the block of id %u at [%p, %p)",
             what, (void *)p, (void *)(p + size), id, after->id, (void *)after->start,
             (void *)after->end);
}

static void record(void)
{
    uint64_t footprint = mem_heapsize() + mapped_bytes;
    series[2 * op_index] = payload;
    series[2 * op_index + 1] = footprint;
    if (payload > lab->peak_payload)
        lab->peak_payload = payload;
    if (footprint > lab->peak_footprint)
        lab->peak_footprint = footprint;
}

static void check_pass(void)
{
    for (op_index = 0; op_index < lab->num_ops; op_index++) {
        struct op *o = &ops[op_index];
        struct block *b = &blocks[o->id];
        if (o->kind == OP_ALLOC) {
            char *p = mm_malloc(o->size);
            if (!p && o->size)
                fail("mm_malloc(%lu) returned NULL: out of memory (heap %lu bytes, "
                     "mappings %lu bytes)", (unsigned long)o->size,
                     (unsigned long)mem_heapsize(), (unsigned long)mapped_bytes);
            if (o->size) {
                check_placement(o->id, p, o->size, "mm_malloc");
                live = insert(live, new_node((uint64_t)p, (uint64_t)p + o->size, o->id));
                lab_fill(o->id, p, 0, o->size);
            }
            b->p = p, b->size = o->size, payload += o->size;
        } else if (o->kind == OP_FREE) {
            if (b->p) {
                lab_verify(o->id, b->p, b->size, "before mm_free");
                live = erase(live, (uint64_t)b->p);
            }
            mm_free(b->p);
            payload -= b->size;
            b->p = 0, b->size = 0;
        } else {
            char *old = b->p;
            if (old)
                lab_verify(o->id, old, b->size, "before mm_realloc");
            char *p = mm_realloc(old, o->size);
            if (!p && o->size)
                fail("mm_realloc(%p, %lu) returned NULL: out of memory (heap %lu bytes)",
                     (void *)old, (unsigned long)o->size, (unsigned long)mem_heapsize());
            if (old)
                live = erase(live, (uint64_t)old);
            if (o->size) {
                check_placement(o->id, p, o->size, "mm_realloc");
                uint64_t kept = b->size < o->size ? b->size : o->size;
                lab_verify(o->id, p, kept, "after mm_realloc (contents not preserved)");
                lab_fill(o->id, p, kept, o->size);
                live = insert(live, new_node((uint64_t)p, (uint64_t)p + o->size, o->id));
            }
            payload += o->size;
            payload -= b->size;
            b->p = p, b->size = o->size;
        }
        record();
        if (lab->sample_every && op_index % lab->sample_every == 0)
            lab_sample(op_index);
    }
}

static uint64_t now_ns(void)
{
    long ts[2];
    emu_syscall2(228, 1, ts);                                  /* clock_gettime(MONOTONIC) */
    return (uint64_t)ts[0] * 1000000000u + (uint64_t)ts[1];
}

static void timing_pass(void)
{
    for (uint32_t i = 0; i < lab->num_ids; i++)
        blocks[i].p = 0;
    mem_reset_brk();
    if (mm_init() < 0)
        fail("mm_init failed before the timing run");
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < lab->num_ops; i++) {
        struct op *o = &ops[i];
        struct block *b = &blocks[o->id];
        if (o->kind == OP_ALLOC)
            b->p = mm_malloc(o->size);
        else if (o->kind == OP_FREE)
            mm_free(b->p);
        else
            b->p = mm_realloc(b->p, o->size);
    }
    lab->timing_ns = now_ns() - start;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
#ifdef LAB_NATIVE
    lab = load_native(argv[1] + 1);
#else
    lab = (struct lab *)strtoul(argv[1], 0, 16);
#endif
    lab_allocator = mm_name;
    if (lab->magic != LAB_MAGIC)
        return 3;
    ops = (struct op *)((char *)lab + lab->ops_offset);
    series = (uint64_t *)((char *)lab + lab->series_offset);
    blocks = (struct block *)((char *)lab + lab->blocks_offset);
    pool = (struct node *)((char *)lab + lab->nodes_offset);
    pool_size = lab->max_nodes;
    emu_mmap_observer = observe_mapping;
    mem_init();
    if (mm_init() < 0)
        fail("mm_init failed");
    check_pass();
    lab->final_heap = mem_heapsize();
    emu_mmap_observer = 0;
    timing_pass();
    lab->status = STATUS_OK;
#ifdef LAB_NATIVE
    printf("%lu %lu %lu %lu %lu\n", (unsigned long)lab->status, (unsigned long)lab->failed_op,
           (unsigned long)lab->peak_payload, (unsigned long)lab->peak_footprint,
           (unsigned long)lab->timing_ns);
#endif
    return 0;
}

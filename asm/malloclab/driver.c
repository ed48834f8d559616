/* driver.c -- the malloc lab's driver, running inside the guest.
 *
 * The host parses a trace, writes it into the process at the address given
 * as argv[1] (struct lab below), and runs this program once per trace, linked
 * with the allocator under test. Like the CS:APP mdriver it replays the trace
 * twice:
 *
 *   1. checking: every payload must be aligned (lab->align: 16, or 8 for the
 *      CS:APP handout), lie inside the heap (or a mapping the allocator made),
 *      overlap no live block, and keep its contents (each block is filled with
 *      a pattern made from its id, checked before free and across realloc);
 *      blocks from mm_calloc must start zeroed. With LAB_CHECK_HEAP the
 *      allocator's own mm_checkheap runs after every op. The first failure is
 *      written to the results with the op's index, and ends the run. Payload
 *      and footprint after each op, and the address each op returned, are
 *      recorded for the plots and the heap view.
 *   2. timing: mem_reset_brk(), mm_init(), and the ops again with no checks,
 *      timed with clock_gettime; or, with LAB_COUNT, counted: each allocator
 *      call sits between lab_count_begin() and lab_count_end(), two empty
 *      functions whose addresses the host's exact instruction counter marks.
 *
 * Before every allocator call the driver writes which call it makes (struct
 * lab's call fields), so a crash report can say "in mm_malloc(29978)".
 *
 * Hooks for the host, all empty functions at known symbols: lab_sample() every
 * SAMPLE_EVERY ops (heap walks for the plots), lab_pass() between the passes
 * (the counter is attached there), lab_debug_stop() before op DEBUG_OP
 * (`--debug`), lab_corrupt() after op DEBUG_OP and later ones with
 * LAB_CORRUPT (the lab grader damages the heap there, see below).
 * lab_fill() and lab_verify() are the byte loops of the checks;
 * checking realloc costs as much as the block, which a growing realloc trace
 * makes quadratic, so the host runs them at host speed and returns for them.
 * When a comparison fails, the host lets the guest loop run, and the guest
 * reports the failure as always.
 *
 * The allocator's conventions (emu/malloclab/conventions.py): mm_init and
 * mm_checkheap are called as the allocator declared them (calls.c), and
 * mm_calloc is optional. lab.h holds what the files share.
 *
 * Built natively with -DLAB_NATIVE (make bench and the tests compare against
 * it), argv[1] is instead "@FILE", a packed trace written by the host, and the
 * results are printed: status failed_op peak_payload peak_footprint timing_ns.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_syscall.h"
#include "lab.h"
#include "ranges.h"

void lab_relocate(void);

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

/* -- state ------------------------------------------------------------------ */

/* Holding the allocator's name keeps it in the program (the linker drops what
 * nothing uses), so the host's heap walker can tell which allocator runs. */
const char *volatile lab_allocator;

static struct lab *lab;
static struct op *ops;
static uint64_t *series;             /* payload, footprint per op */
static uint64_t *addrs;              /* the payload address of each op (0 for free) */
static struct block *blocks;
static struct range *live, *mappings;
static uint64_t payload, mapped_bytes, op_index = NO_OP;

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

static void pool_full(uint64_t count)
{
    fail("the driver ran out of room to track blocks (%lu)", (unsigned long)count);
}

static void observe_mapping(void *addr, size_t len, int kind)
{
    uint64_t start = (uint64_t)addr;
    if (kind == 1) {
        mappings = lab_range_insert(mappings, lab_range_new(start, start + len, 0));
        mapped_bytes += len;
    } else {
        struct range *m = lab_range_floor(mappings, start);
        if (m && m->start == start) {
            mapped_bytes -= m->end - m->start;
            mappings = lab_range_erase(mappings, start);
        }
    }
}

/* -- hooks for the host (empty; the host puts breakpoints or marks on them) -- */

#define HOST_HOOK __attribute__((noinline, used))
HOST_HOOK void lab_sample(uint64_t index) { __asm__ volatile("" : : "r"(index) : "memory"); }
HOST_HOOK void lab_pass(uint64_t pass) { __asm__ volatile("" : : "r"(pass) : "memory"); }
HOST_HOOK void lab_debug_stop(uint64_t index) { __asm__ volatile("" : : "r"(index) : "memory"); }
HOST_HOOK void lab_count_begin(void) { __asm__ volatile("" : : : "memory"); }
HOST_HOOK void lab_count_end(void) { __asm__ volatile("" : : : "memory"); }

/* 0 unless the host damaged the heap here (its breakpoint returns 1 for us);
 * the asm hides the constant from the compiler, which would fold it in. */
HOST_HOOK int lab_corrupt(uint64_t index)
{
    int injected = 0;
    __asm__ volatile("" : "+r"(injected) : "r"(index) : "memory");
    return injected;
}

/* The fill byte at offset i of the block of `id` (emu/malloclab/lab.py has the same). */
static inline unsigned char pattern(uint32_t id, uint64_t i) { return (unsigned char)(id * 131 + i * 7 + 1); }

HOST_HOOK void lab_fill(uint32_t id, char *p, uint64_t from, uint64_t size)
{
    for (uint64_t i = from; i < size; i++)
        p[i] = (char)pattern(id, i);
}

HOST_HOOK void lab_verify(uint32_t id, const char *p, uint64_t size, const char *when)
{
    for (uint64_t i = 0; i < size; i++) {
        if ((unsigned char)p[i] != pattern(id, i))
            fail("%s: byte %lu of the block of id %u at %p is 0x%02x, expected 0x%02x",
                 when, (unsigned long)i, id, (void *)p, (unsigned char)p[i], pattern(id, i));
    }
}

HOST_HOOK void lab_verify_zero(uint32_t id, const char *p, uint64_t size)
{
    for (uint64_t i = 0; i < size; i++) {
        if (p[i])
            fail("mm_calloc returned the block of id %u at %p with byte %lu = 0x%02x, "
                 "expected zeroed memory", id, (void *)p, (unsigned long)i, (unsigned char)p[i]);
    }
}

/* -- the checking pass ------------------------------------------------------------ */

/* Alignment, inside the heap or a mapping, and no overlap with a live block. */
static void check_placement(uint32_t id, char *p, uint64_t size, const char *what)
{
    uint64_t start = (uint64_t)p, end = start + size;
    if (start % lab->align)
        fail("%s returned %p for id %u: not aligned to %u bytes%s", what, (void *)p, id, lab->align,
             lab->align == 16 && start % 8 == 0 ?
             " (it is 8-byte aligned, as the CS:APP handout's ALIGNMENT 8 makes it: "
             "run with --align 8)" : "");
    char *lo = mem_heap_lo(), *hi = mem_heap_hi();
    int in_heap = p >= lo && p + size - 1 <= hi;
    struct range *m = lab_range_floor(mappings, start);
    int in_mapping = m && end <= m->end;
    if (!in_heap && !in_mapping)
        fail("%s returned [%p, %p) for id %u: outside the heap [%p, %p] and the "
             "allocator's mappings", what, (void *)p, (void *)(p + size), id, (void *)lo, (void *)hi);
    struct range *before = lab_range_floor(live, start), *after = lab_range_above(live, start);
    struct range *hit = before && before->end > start ? before : after && after->start < end ? after : 0;
    if (hit)
        fail("%s returned [%p, %p) for id %u: it overlaps the block of id %u at [%p, %p)",
             what, (void *)p, (void *)(p + size), id, hit->id, (void *)hit->start, (void *)hit->end);
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

static void check_alloc(struct op *o, struct block *b)
{
    lab_note_call(lab, o, b);
    char *p = by_calloc(o->id) ? mm_calloc(1, o->size) : mm_malloc(o->size);
    lab_calling(lab, CALL_NONE, 0, 0);
    if (!p && o->size)
        fail("%s(%lu) returned NULL: out of memory (heap %lu bytes, mappings %lu bytes)",
             by_calloc(o->id) ? "mm_calloc" : "mm_malloc", (unsigned long)o->size,
             (unsigned long)mem_heapsize(), (unsigned long)mapped_bytes);
    if (o->size) {
        check_placement(o->id, p, o->size, by_calloc(o->id) ? "mm_calloc" : "mm_malloc");
        live = lab_range_insert(live, lab_range_new((uint64_t)p, (uint64_t)p + o->size, o->id));
        if (by_calloc(o->id))
            lab_verify_zero(o->id, p, o->size);
        lab_fill(o->id, p, 0, o->size);
    }
    b->p = p, b->size = o->size, payload += o->size;
}

static void check_free(struct op *o, struct block *b)
{
    if (b->p) {
        lab_verify(o->id, b->p, b->size, "before mm_free");
        live = lab_range_erase(live, (uint64_t)b->p);
    }
    lab_note_call(lab, o, b);
    mm_free(b->p);
    lab_calling(lab, CALL_NONE, 0, 0);
    payload -= b->size;
    b->p = 0, b->size = 0;
}

static void check_realloc(struct op *o, struct block *b)
{
    char *old = b->p;
    if (old)
        lab_verify(o->id, old, b->size, "before mm_realloc");
    lab_note_call(lab, o, b);
    char *p = mm_realloc(old, o->size);
    lab_calling(lab, CALL_NONE, 0, 0);
    if (!p && o->size)
        fail("mm_realloc(%p, %lu) returned NULL: out of memory (heap %lu bytes)",
             (void *)old, (unsigned long)o->size, (unsigned long)mem_heapsize());
    if (old)
        live = lab_range_erase(live, (uint64_t)old);
    if (o->size) {
        check_placement(o->id, p, o->size, "mm_realloc");
        uint64_t kept = b->size < o->size ? b->size : o->size;
        lab_verify(o->id, p, kept, "after mm_realloc (contents not preserved)");
        lab_fill(o->id, p, kept, o->size);
        live = lab_range_insert(live, lab_range_new((uint64_t)p, (uint64_t)p + o->size, o->id));
    }
    payload += o->size;
    payload -= b->size;
    b->p = p, b->size = o->size;
}

/* calloc(n, size) whose product overflows must fail, not allocate the wrapped size. */
static void check_calloc_overflow(void)
{
    size_t n = ((size_t)1 << 61) + 1, size = 8;          /* n * size wraps to 8 */
    lab_calling(lab, CALL_CALLOC, n, size);
    void *p = mm_calloc(n, size);
    lab_calling(lab, CALL_NONE, 0, 0);
    if (p)
        fail("mm_calloc(%lu, %lu) returned %p: nmemb * size overflows, expected NULL",
             (unsigned long)n, (unsigned long)size, p);
}

/* The heap-checker test (LAB_CORRUPT): from op DEBUG_OP on, after each op,
 * mm_checkheap must pass the clean heap; then the host may damage it
 * (lab_corrupt), and mm_checkheap must notice. The verdict ends the run:
 * STATUS_CAUGHT, STATUS_MISSED, or STATUS_FALSE_ALARM (a clean heap refused). */
static void corruption_test(void)
{
    const char *problem = lab_heap_problem(lab, op_index + 5);
    if (problem) {
        snprintf(lab->message, sizeof lab->message, "mm_checkheap %s on a clean heap", problem);
        lab->failed_op = op_index, lab->status = STATUS_FALSE_ALARM;
        exit(0);
    }
    if (!lab_corrupt(op_index))
        return;
    problem = lab_heap_problem(lab, op_index + 5);
    lab->failed_op = op_index;
    lab->status = problem ? STATUS_CAUGHT : STATUS_MISSED;
    exit(0);
}

static void check_pass(void)
{
    lab->pass = 1;
    if (mm_calloc)
        check_calloc_overflow();
    for (op_index = 0; op_index < lab->num_ops; op_index++) {
        struct op *o = &ops[op_index];
        struct block *b = &blocks[o->id];
        lab->op = op_index;
        if (op_index == lab->debug_op && !(lab->flags & LAB_CORRUPT))
            lab_debug_stop(op_index);
        if (o->kind == OP_ALLOC)
            check_alloc(o, b);
        else if (o->kind == OP_FREE)
            check_free(o, b);
        else
            check_realloc(o, b);
        addrs[op_index] = (uint64_t)b->p;
        record();
        if ((lab->flags & LAB_CORRUPT) && op_index >= lab->debug_op)
            corruption_test();
        if (lab->flags & LAB_CHECK_HEAP) {
            const char *problem = lab_heap_problem(lab, op_index + 5);
            if (problem)
                fail("mm_checkheap %s after the op", problem);
        }
        if (lab->sample_every && op_index % lab->sample_every == 0)
            lab_sample(op_index);
    }
}

/* -- the timing (or counting) pass ----------------------------------------------- */

static uint64_t now_ns(void)
{
    long ts[2];
    emu_syscall2(228, 1, ts);                                  /* clock_gettime(MONOTONIC) */
    return (uint64_t)ts[0] * 1000000000u + (uint64_t)ts[1];
}

/* The ops again, unchecked: timed as a whole, or each call counted between
 * the marks (the span holds the call and perform()'s few instructions of
 * dispatch; the host subtracts the marks' own cost, measured first). */
static void timing_pass(void)
{
    lab->pass = 2;
    for (uint32_t i = 0; i < lab->num_ids; i++)
        blocks[i].p = 0;
    mem_reset_brk();
    op_index = NO_OP;
    if (!lab_init_heap(lab))
        fail("mm_init failed before the timing run");
    lab_pass(2);
    if (lab->flags & LAB_COUNT) {
        lab_count_begin(), lab_count_end();
        for (uint64_t i = 0; i < lab->num_ops; i++) {
            struct op *o = &ops[i];
            lab->op = i;
            lab_note_call(lab, o, &blocks[o->id]);
            lab_count_begin();
            perform(o, &blocks[o->id]);
            lab_count_end();
        }
        lab_calling(lab, CALL_NONE, 0, 0);
        return;
    }
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < lab->num_ops; i++)
        perform(&ops[i], &blocks[ops[i].id]);
    lab->timing_ns = now_ns() - start;
}

static void attach(void)
{
    ops = (struct op *)((char *)lab + lab->ops_offset);
    series = (uint64_t *)((char *)lab + lab->series_offset);
    addrs = (uint64_t *)((char *)lab + lab->addrs_offset);
    blocks = (struct block *)((char *)lab + lab->blocks_offset);
    lab_ranges_init((struct range *)((char *)lab + lab->nodes_offset), lab->max_nodes, pool_full);
}

int main(int argc, char **argv)
{
    lab_relocate();                  /* first: a static PIE's pointers in data */
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
    attach();
    mem_init();
    emu_mmap_observer = observe_mapping;     /* after mem_init: its heap is not a mapping */
    lab->pass = 1;
    if (!lab_init_heap(lab))
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

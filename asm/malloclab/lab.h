/* lab.h -- what the malloc-lab driver's files share: the lab image the host
 * writes (emu/malloclab/image.py packs it), the allocator's interface, and how
 * the driver calls it (calls.c).
 */
#ifndef LAB_H
#define LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memlib.h"

extern const char mm_name[] __attribute__((weak));   /* the project's allocators name themselves */
int mm_init(void);
void *mm_malloc(size_t size);
void mm_free(void *ptr);
void *mm_realloc(void *ptr, size_t size);
void *mm_calloc(size_t nmemb, size_t size) __attribute__((weak));
int mm_checkheap(int arg) __attribute__((weak));

#define LAB_MAGIC 0x4C414246u        /* "FBAL" little-endian: the host's trace, version 2 */
enum { OP_ALLOC = 0, OP_FREE = 1, OP_REALLOC = 2 };
enum { STATUS_RUNNING = 0, STATUS_OK = 1, STATUS_FAILED = 2,
       STATUS_CAUGHT = 3, STATUS_MISSED = 4, STATUS_FALSE_ALARM = 5 };   /* LAB_CORRUPT's verdicts */
enum { LAB_CHECK_HEAP = 1, LAB_COUNT = 2, LAB_CORRUPT = 4 };                       /* lab->flags */
enum { RET_INT = 0, RET_BOOL = 1, RET_VOID = 2 };                 /* lab->*_returns */
enum { CALL_NONE, CALL_INIT, CALL_MALLOC, CALL_FREE, CALL_REALLOC, CALL_CALLOC, CALL_CHECKHEAP };
#define NO_OP (~(uint64_t)0)

struct op {                          /* 16 bytes, written by the host */
    uint8_t kind, pad[3];
    uint32_t id;
    uint64_t size;
};

struct lab {                         /* emu/malloclab/image.py packs it */
    uint32_t magic, num_ids, num_ops, sample_every;
    uint64_t ops_offset, series_offset, blocks_offset;   /* from the struct's address */
    uint64_t nodes_offset, max_nodes;                     /* room for the treaps */
    uint64_t addrs_offset;                                /* per op: the address it returned */
    uint32_t align, flags, init_returns, checkheap_returns;
    uint64_t debug_op;                                    /* lab_debug_stop() before it */
    /* results, written here */
    uint64_t status, failed_op, peak_payload, peak_footprint, final_heap, timing_ns;
    uint64_t pass, op, call, call_arg0, call_arg1;        /* the call in progress */
    char message[256];
};

struct block { char *p; uint64_t size; };     /* per id, at blocks_offset */


/* Every fourth allocation (by id) goes through mm_calloc when there is one. */
static inline bool by_calloc(uint32_t id) { return mm_calloc && id % 4 == 3; }

/* Make op `o`'s call, and nothing else (the counted span holds this). */
static inline void perform(struct op *o, struct block *b)
{
    if (o->kind == OP_ALLOC)
        b->p = by_calloc(o->id) ? mm_calloc(1, o->size) : mm_malloc(o->size);
    else if (o->kind == OP_FREE)
        mm_free(b->p);
    else
        b->p = mm_realloc(b->p, o->size);
}

/* calls.c: the allocator's calls as it declared them, each noted in the lab
 * first (the call in progress, for a crash report). */
void lab_calling(struct lab *lab, uint64_t call, uint64_t arg0, uint64_t arg1);
void lab_note_call(struct lab *lab, struct op *o, struct block *b);
bool lab_init_heap(struct lab *lab);
const char *lab_heap_problem(struct lab *lab, uint32_t line);

#endif

/* calls.c -- calling the allocator as it declared itself.
 *
 * mm_init returns int (CS:APP: -1 on error) or bool (CMU 15-213: false on
 * error); mm_checkheap returns bool (false: broken), int (nonzero: broken) or
 * nothing. The host reads which from the debug information and says so in the
 * lab header; the calls go through function pointers of those types, because a
 * bool comes back in al alone. Before each call the lab notes which it is, so
 * a crash report can say "in mm_malloc(29978)".
 */
#include <stdio.h>

#include "lab.h"

void lab_calling(struct lab *lab, uint64_t call, uint64_t arg0, uint64_t arg1)
{
    lab->call = call, lab->call_arg0 = arg0, lab->call_arg1 = arg1;
}

/* mm_init as the allocator declared it: true when it succeeded. */
bool lab_init_heap(struct lab *lab)
{
    lab_calling(lab, CALL_INIT, 0, 0);
    bool ok = true;
    if (lab->init_returns == RET_BOOL)
        ok = ((bool (*)(void))(void *)mm_init)();
    else if (lab->init_returns == RET_VOID)
        ((void (*)(void))(void *)mm_init)();
    else
        ok = mm_init() >= 0;
    lab_calling(lab, CALL_NONE, 0, 0);
    return ok;
}

/* Say which call op `o` is about to make, for a crash report. */
void lab_note_call(struct lab *lab, struct op *o, struct block *b)
{
    if (o->kind == OP_ALLOC && by_calloc(o->id))
        lab_calling(lab, CALL_CALLOC, 1, o->size);
    else if (o->kind == OP_ALLOC)
        lab_calling(lab, CALL_MALLOC, o->size, 0);
    else if (o->kind == OP_FREE)
        lab_calling(lab, CALL_FREE, (uint64_t)b->p, 0);
    else
        lab_calling(lab, CALL_REALLOC, (uint64_t)b->p, o->size);
}

/* mm_checkheap as the allocator declared it: 0 when the heap is consistent,
 * else why not. The bool form gets the trace line, the int and void forms 0
 * (CS:APP's `verbose`). A void checker can only complain by exiting. */
const char *lab_heap_problem(struct lab *lab, uint32_t line)
{
    static char why[64];
    const char *problem = 0;
    lab_calling(lab, CALL_CHECKHEAP, lab->checkheap_returns == RET_BOOL ? line : 0, 0);
    if (lab->checkheap_returns == RET_BOOL) {
        if (!((bool (*)(int))(void *)mm_checkheap)((int)line))
            problem = "returned false";
    } else if (lab->checkheap_returns == RET_VOID) {
        ((void (*)(int))(void *)mm_checkheap)(0);
    } else {
        int status = mm_checkheap(0);
        if (status) {
            snprintf(why, sizeof why, "returned %d (an int checker returns 0 when all is well)", status);
            problem = why;
        }
    }
    lab_calling(lab, CALL_NONE, 0, 0);
    return problem;
}


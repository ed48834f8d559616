/* icount.c -- an exact guest instruction counter: a native UC_HOOK_CODE callback.
 *
 * Unicorn has no instruction counter that can be read without a per-instruction
 * hook, and a hook in Python costs ~470x the plain run. This one is C: built
 * with the bundled zig as a host shared library (emu/icount.py) and registered
 * through libunicorn's uc_hook_add, it costs ~4x. emu/icount.py holds the
 * Python reference it is tested against (the same three lines, in Python).
 *
 * Besides the total it measures spans: the instructions from each execution of
 * the `begin_at` address to the next execution of `end_at`, both counted at
 * the hook (before the instruction runs), stored in order into `spans`; when
 * the two are one address, each span runs from one execution to the next. The
 * malloc lab marks the allocator's call in each op with two empty functions.
 */
#include <stdint.h>

struct icount {
    uint64_t count;        /* instructions since the hook was added */
    uint64_t begin_at;     /* address that opens a span (0: no spans) */
    uint64_t end_at;       /* address that closes it */
    uint64_t opened;       /* count when the open span began */
    uint64_t *spans;       /* room for `capacity` spans, filled in order */
    uint64_t nspans;
    uint64_t capacity;
};

void icount_on_code(void *uc, uint64_t address, uint32_t size, void *data)
{
    struct icount *c = data;
    (void)uc, (void)size;
    c->count++;
    if (address == c->end_at && c->opened && c->nspans < c->capacity)
        c->spans[c->nspans++] = c->count - c->opened;
    if (address == c->begin_at)
        c->opened = c->count;
}

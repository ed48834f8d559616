/* ranges.c -- the treap of address ranges behind ranges.h. */
#include "ranges.h"

static struct range *pool, *free_nodes;
static uint64_t pool_used, pool_size;
static void (*pool_full)(uint64_t);
static uint32_t rng = 2463534242u;          /* xorshift32: priorities, deterministic */

void lab_ranges_init(struct range *nodes, uint64_t count, void (*full)(uint64_t))
{
    pool = nodes, pool_size = count, pool_used = 0, free_nodes = 0, pool_full = full;
}

struct range *lab_range_new(uint64_t start, uint64_t end, uint32_t id)
{
    struct range *n = free_nodes;
    if (n)
        free_nodes = n->left;
    else if (pool_used < pool_size)
        n = &pool[pool_used++];
    else
        pool_full(pool_size);             /* does not return */
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    *n = (struct range){start, end, id, rng, 0, 0};
    return n;
}

static struct range *rotate_right(struct range *t) { struct range *l = t->left; t->left = l->right; l->right = t; return l; }
static struct range *rotate_left(struct range *t) { struct range *r = t->right; t->right = r->left; r->left = t; return r; }

struct range *lab_range_insert(struct range *t, struct range *n)
{
    if (!t)
        return n;
    if (n->start < t->start) {
        t->left = lab_range_insert(t->left, n);
        if (t->left->prio > t->prio)
            t = rotate_right(t);
    } else {
        t->right = lab_range_insert(t->right, n);
        if (t->right->prio > t->prio)
            t = rotate_left(t);
    }
    return t;
}

struct range *lab_range_erase(struct range *t, uint64_t start)
{
    if (!t)
        return 0;
    if (start < t->start) {
        t->left = lab_range_erase(t->left, start);
    } else if (start > t->start) {
        t->right = lab_range_erase(t->right, start);
    } else if (!t->left || !t->right) {
        struct range *child = t->left ? t->left : t->right;
        t->left = free_nodes;                   /* back to the pool */
        free_nodes = t;
        return child;
    } else if (t->left->prio > t->right->prio) {
        t = rotate_right(t);
        t->right = lab_range_erase(t->right, start);
    } else {
        t = rotate_left(t);
        t->left = lab_range_erase(t->left, start);
    }
    return t;
}

struct range *lab_range_floor(struct range *t, uint64_t addr)
{
    struct range *best = 0;
    while (t) {
        if (t->start <= addr)
            best = t, t = t->right;
        else
            t = t->left;
    }
    return best;
}

struct range *lab_range_above(struct range *t, uint64_t addr)
{
    struct range *best = 0;
    while (t) {
        if (t->start > addr)
            best = t, t = t->left;
        else
            t = t->right;
    }
    return best;
}

/* ranges.h -- sets of address ranges [start, end) for the malloc-lab driver:
 * the live blocks (to find overlaps) and the allocator's mappings (to tell
 * "inside a mapping" from "outside the heap").
 *
 * A treap (a binary search tree by start, a heap by random priority), so every
 * operation is O(log n) expected whatever order the allocator hands out
 * addresses in. Nodes come from a pool the host reserves in the lab region,
 * never from the heap under test. The names carry a lab_ prefix because they
 * are linked with a student's mm.c, which may well have an `insert`.
 */
#ifndef LAB_RANGES_H
#define LAB_RANGES_H

#include <stdint.h>

struct range {
    uint64_t start, end;
    uint32_t id, prio;
    struct range *left, *right;
};

/* Use `nodes` (room for `count`) as the pool; `full` is called when it runs out. */
void lab_ranges_init(struct range *nodes, uint64_t count, void (*full)(uint64_t count));
struct range *lab_range_new(uint64_t start, uint64_t end, uint32_t id);
struct range *lab_range_insert(struct range *tree, struct range *node);
struct range *lab_range_erase(struct range *tree, uint64_t start);   /* node goes back */
struct range *lab_range_floor(struct range *tree, uint64_t addr);    /* greatest start <= addr */
struct range *lab_range_above(struct range *tree, uint64_t addr);    /* least start > addr */

#endif

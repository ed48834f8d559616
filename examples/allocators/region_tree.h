/* region_tree.h -- an AVL tree of address ranges, for buddy.c.
 *
 * Each node describes one mapping (a pool or a LARGE block) and lives in that
 * mapping's own first bytes, so the tree costs no memory of its own. Nodes
 * are keyed by `start`, the first byte the mapping hands out; the ranges
 * [start, start + length) never overlap, so the node whose range holds an
 * address is the one with the greatest start at or below it.
 *
 * AVL rather than red-black: a free() looks a pointer up, while a pool is
 * mapped or unmapped far more rarely, and AVL's stricter balance (height at
 * most about 1.44 log2 n) makes the lookups the cheaper ones.
 *
 *           [0x7ff0_0000]            every node: left subtree < start <
 *           /           \            right subtree; heights of the two
 *   [0x7fe0_0000]   [0x7ff8_0000]     subtrees differ by at most 1
 *
 * tree_insert and tree_remove take the root and return the new one; a node
 * is relinked, never copied (it is the header of its mapping).
 */
#ifndef REGION_TREE_H
#define REGION_TREE_H

#include <stddef.h>
#include <stdint.h>

enum kind { TINY, SMALL, LARGE };         /* what a mapping holds (buddy.c) */

/* A node of the address tree: the first bytes of every mapping. */
struct region {
    uintptr_t start;                          /* first byte handed out: the key */
    size_t length;                            /* bytes handed out from start */
    size_t mapped;                            /* the whole mapping, header included */
    struct region *left, *right;
    int height;
    enum kind kind;
};

static inline int height(struct region *r) { return r ? r->height : 0; }
static inline int max_int(int a, int b) { return a > b ? a : b; }
static inline void update_height(struct region *r) { r->height = 1 + max_int(height(r->left), height(r->right)); }
static inline int balance(struct region *r) { return height(r->left) - height(r->right); }

static inline struct region *rotate_right(struct region *r)
{
    struct region *l = r->left;
    r->left = l->right;
    l->right = r;
    update_height(r);
    update_height(l);
    return l;
}

static inline struct region *rotate_left(struct region *r)
{
    struct region *g = r->right;
    r->right = g->left;
    g->left = r;
    update_height(r);
    update_height(g);
    return g;
}

/* Restore the AVL property at r (its subtrees have it); returns the new subtree root. */
static inline struct region *rebalance(struct region *r)
{
    update_height(r);
    if (balance(r) > 1) {
        if (balance(r->left) < 0)
            r->left = rotate_left(r->left);
        return rotate_right(r);
    }
    if (balance(r) < -1) {
        if (balance(r->right) > 0)
            r->right = rotate_right(r->right);
        return rotate_left(r);
    }
    return r;
}

static inline struct region *tree_insert(struct region *root, struct region *node)
{
    if (root == NULL) {
        node->left = node->right = NULL;
        node->height = 1;
        return node;
    }
    if (node->start < root->start)
        root->left = tree_insert(root->left, node);
    else
        root->right = tree_insert(root->right, node);
    return rebalance(root);
}

/* Unlink the leftmost node of r into *min; returns what is left of r. */
static inline struct region *tree_remove_min(struct region *r, struct region **min)
{
    if (r->left == NULL) {
        *min = r;
        return r->right;
    }
    r->left = tree_remove_min(r->left, min);
    return rebalance(r);
}

/* Unlink `node` (which must be in the tree); returns the new root. Nodes are
 * relinked, never copied: each is the header of its own mapping. */
static inline struct region *tree_remove(struct region *root, struct region *node)
{
    if (root == node) {
        if (node->right == NULL)
            return node->left;
        struct region *min;
        struct region *right = tree_remove_min(node->right, &min);
        min->left = node->left;
        min->right = right;
        return rebalance(min);
    }
    if (node->start < root->start)
        root->left = tree_remove(root->left, node);
    else
        root->right = tree_remove(root->right, node);
    return rebalance(root);
}

/* The region of the tree at root whose range holds `address`, or NULL. */
static inline struct region *tree_find(struct region *root, uintptr_t address)
{
    struct region *best = NULL;
    for (struct region *r = root; r != NULL; )
        if (address < r->start) {
            r = r->left;
        } else {
            best = r;
            r = r->right;
        }
    return best != NULL && address - best->start < best->length ? best : NULL;
}

#endif

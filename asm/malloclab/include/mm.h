/* mm.h -- the malloc lab's interface, as the handouts' mm.h has it.
 *
 * Students hand in mm.c alone; it includes "mm.h" and "memlib.h". The lab puts
 * this file and asm/runtime/memlib.h on the include path of every allocator
 * build, compiled with -DDRIVER. Two handouts, one file
 * (emu/malloclab/conventions.py tells them apart and defines EMU_HANDOUT_CMU):
 *
 *   CS:APP (and CMU 15-213 before 2016): int mm_init, mm_malloc/mm_free/
 *     mm_realloc, and a team_t the student fills in (`team_t team = {...}`).
 *   CMU 15-213, F16 and later: bool mm_init, bool mm_checkheap(int lineno),
 *     and mm.c defines malloc/free/realloc/calloc, which it renames to
 *     mm_malloc... itself (`#ifdef DRIVER / #define malloc mm_malloc`).
 *
 * A student's own mm.h beside mm.c wins: "mm.h" is looked for there first.
 */
#ifndef EMU_LAB_MM_H
#define EMU_LAB_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef EMU_HANDOUT_CMU

bool mm_init(void);
bool mm_checkheap(int lineno);
#ifdef DRIVER
void *mm_malloc(size_t size);
void mm_free(void *ptr);
void *mm_realloc(void *ptr, size_t size);
void *mm_calloc(size_t nmemb, size_t size);
/* mm.c makes these aliases itself; the same definitions here are allowed,
 * and keep an mm.c that forgot them linking. */
#define malloc mm_malloc
#define free mm_free
#define realloc mm_realloc
#define calloc mm_calloc
#else
void *malloc(size_t size);
void free(void *ptr);
void *realloc(void *ptr, size_t size);
void *calloc(size_t nmemb, size_t size);
#endif

#else   /* CS:APP */

int mm_init(void);
void *mm_malloc(size_t size);
void mm_free(void *ptr);
void *mm_realloc(void *ptr, size_t size);

/* Who wrote the allocator: mm.c defines `team_t team = {...}`. The lab
 * accepts it and does not look at it. */
typedef struct {
    char *teamname;      /* ID1+ID2 or ID1 */
    char *name1;         /* full name of the first member */
    char *id1;           /* login ID of the first member */
    char *name2;         /* full name of the second member, if any */
    char *id2;           /* login ID of the second member */
} team_t;

extern team_t team;

#endif
#endif

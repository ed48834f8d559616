/* mmu.h -- what mmu.c (the TLB fill, the demand-zero assist, unmapping) and
 * anon_maps.c (private anonymous mmap and munmap) share. Both are built into
 * one library (emu/hostlib.py); emu/native_mmu.py mirrors the structures
 * with ctypes: keep the two in step.
 */
#ifndef EMU_MMU_H
#define EMU_MMU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_4K       4096ULL
#define CHUNK_SIZE    (2ULL << 20)       /* a 2 MiB chunk of the os_MemoryMap */
#define CHUNK_FRAMES  512
#define MAX_SEGMENTS  16                 /* chunks lent at once */
#define PTE_P         (1ULL << 0)
#define PTE_RW        (1ULL << 1)
#define PTE_US        (1ULL << 2)
#define PTE_A         (1ULL << 5)
#define PTE_D         (1ULL << 6)
#define PTE_PS        (1ULL << 7)
#define PTE_NX        (1ULL << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ULL

/* Unicorn's access kinds and permissions (unicorn.h: uc_mem_type, uc_prot) */
#define UC_MEM_READ   16
#define UC_MEM_WRITE  17
#define UC_MEM_FETCH  18
#define PROT_READ     1
#define PROT_WRITE    2
#define PROT_EXEC     4

typedef struct {
    uint64_t paddr;
    uint32_t perms;
} uc_tlb_entry;                          /* unicorn.h's struct uc_tlb_entry */

typedef struct {
    uint64_t key;                        /* virtual page | 1; 0 marks an empty slot */
    uint64_t value;                      /* physical page | perms */
} tlb_slot;

typedef struct {
    tlb_slot *slots;
    uint64_t mask;                       /* slots - 1 (a power of two) */
    uint64_t count;
} tlb;

/* A VMA whose not-present pages the assist may map (kernel/assist.py). */
typedef struct {
    uint64_t root;                       /* the address space: its PML4 */
    uint64_t start, end;                 /* [start, end), page-aligned */
    uint64_t flags;                      /* leaf flags of a new page (P added) */
    uint64_t write_flags;                /* flags from the first write on, when that write
                                            gives the VMA its anon_vma; 0 when it has one */
    uint64_t allow;                      /* PROT_READ|WRITE|EXEC: the accesses the VMA allows */
    uint64_t written;                    /* 0, or when a write gave it its anon_vma (a clock) */
} emu_region;

/* One VMA of the mirrored address space (anon_maps.c). */
enum { VMA_OTHER, VMA_ANON };
typedef struct {
    uint64_t start, end;                 /* [start, end), page-aligned */
    uint64_t anon;                       /* its anon_vma's number, 0 for none yet */
    uint64_t kind;                       /* VMA_ANON: "[anon]" rw-p that C may change;
                                            VMA_OTHER: anything else, left to Python */
} emu_vma;

/* A system call made in C, for the process's log. */
typedef struct {
    uint64_t number, args[6], result;
} emu_call;

/* The address space whose private anonymous mmap and munmap C makes
 * (anon_maps.c), as the kernel exported it (kernel/anon_maps.py). */
typedef struct {
    uint64_t root;                       /* its PML4; 0: none */
    uint64_t valid;                      /* 0 once the kernel changed it (C then declines) */
    uint64_t changed;                    /* 1 once C changed it (the kernel imports it) */
    uint64_t dirty_lo, dirty_hi;         /* what C changed lies in [dirty_lo, dirty_hi) */
    emu_vma *vmas;                       /* sorted by start, not overlapping */
    uint64_t count, cap;
    uint64_t next_anon;                  /* the number of the next new anon_vma */
    uint64_t available;                  /* frames the allocator could hand out */
    uint64_t data_limited;               /* 1 when RLIMIT_DATA is set */
    int64_t data_room;                   /* the bytes it leaves (below 0: over it already) */
    uint64_t file_lo, file_hi;           /* pages that come back from the program's file */
    uint64_t mmap_base, mmap_min, user_top;
    emu_call *calls;                     /* the calls made here since the last import */
    uint64_t call_count, call_cap;
    uint64_t made;                       /* calls made here since the machine booted */
} emu_space;

/* Shared with emu/native_mmu.py (class _State): keep the two in step. */
typedef struct {
    uint8_t *ram;                        /* host address of guest physical 0 */
    uint64_t ram_size;
    uint64_t cr3;
    uint64_t user;                       /* 1: US is enforced */
    uint8_t *code_map;
    uint64_t code_count;                 /* bytes of code_map set */
    uint64_t fills;                      /* walks (software TLB misses) */
    uint64_t refills;                    /* fills served by the software TLB */
    int (*refused)(uint64_t vaddr, int access, int retry);
    uint64_t reason;                     /* why the last walk refused */
    uint64_t leaf;                       /* its leaf entry, 0 when no leaf maps the page */
    tlb tlbs[2];                         /* [0] supervisor, [1] user */
    /* the frames lent by the kernel's allocator: the free lists of the first
       chunks alloc() takes from, stacked, the first on top, each taken from
       its end (pool[pool_count - 1] is the next frame alloc() gives):

         pool  [ segment n-1 | ... | segment 1 | segment 0 ]
               0             seg_lo[1]  seg_lo[0]         pool_count     */
    uint64_t *pool;
    uint64_t pool_count;
    uint64_t seg_count;                  /* chunks lent; 0: nothing is */
    uint64_t seg_base[MAX_SEGMENTS];     /* each one's physical base */
    uint64_t seg_lo[MAX_SEGMENTS];       /* where each starts; it ends where the one
                                            before starts (segment 0 at pool_count) */
    uint64_t pool_shared;                /* 1 while any frame is shared (refs > 1): one
                                            chunk is lent, and no frame is freed into it */
    uint64_t pool_changes;               /* frames taken or given back since the loan */
    emu_region *regions;
    uint64_t region_count, region_cap;
    uint64_t assisted;                   /* faults handled here since the kernel looked */
    uint64_t write_clock;                /* ticks at each `written` */
    /* Unicorn's own TLB, flushed by emu_invalidate: page by page through
       flush_page(cpu, page) (QEMU's tlb_flush_page; NULL when emu/page_flush.py
       found none), or whole through uc_ctl(uc, flush) */
    void *uc;
    int (*uc_ctl)(void *uc, int control, ...);
    uint64_t flush;                      /* UC_CTL_TLB_FLUSH as a write, encoded */
    void *cpu;
    void (*flush_page)(void *cpu, uint64_t page);
    uint64_t flush_page_max;             /* longer ranges are flushed whole */
    emu_space *space;                    /* anon_maps.c's address space, or NULL */
    /* frames the C munmap may free into chunks taken after the pool's: there
       they change no allocation while the pool lasts */
    uint16_t *later;                     /* per chunk: its frames in use, 0 when not such */
    uint64_t chunks;                     /* entries of later[] */
    uint64_t *elsewhere;                 /* frames freed into them since the loan, in order */
    uint64_t elsewhere_count, elsewhere_cap;
    uint64_t refills_at_flush;           /* `refills` at Unicorn's last whole flush */
    uint64_t retune_refills;             /* refills after which emu_tlb_retune flushes; 0 never */
} emu_mmu;

static inline uint64_t read_entry(const emu_mmu *m, uint64_t paddr)
{
    uint64_t entry;
    memcpy(&entry, m->ram + paddr, 8);
    return entry;
}

static inline void write_entry(emu_mmu *m, uint64_t paddr, uint64_t entry)
{
    memcpy(m->ram + paddr, &entry, 8);
}

/* mmu.c */
/* The end of segment i of the pool (one past its top frame). */
static inline uint64_t segment_end(const emu_mmu *m, uint64_t i)
{
    return i == 0 ? m->pool_count : m->seg_lo[i - 1];
}

/* The segment that lends frame's chunk, or -1. */
static inline int64_t segment_of(const emu_mmu *m, uint64_t frame)
{
    for (uint64_t i = 0; i < m->seg_count; i++)
        if (m->seg_base[i] == (frame & ~(CHUNK_SIZE - 1)))
            return (int64_t)i;
    return -1;
}

int emu_region_set(emu_mmu *m, uint64_t root, uint64_t start, uint64_t end, uint64_t flags,
                   uint64_t write_flags, uint64_t allow);
void emu_region_drop(emu_mmu *m, uint64_t root, uint64_t start, uint64_t end);
emu_region *region_of(emu_mmu *m, uint64_t vaddr);
void emu_invalidate(emu_mmu *m, uint64_t first, uint64_t end);
/* Call visit(m, slot, entry, data) for each present 4 KiB leaf of [start, end)
 * under root, in address order; false (nothing visited) when a large page or
 * a table outside RAM lies there. visit returns false to stop early. */
bool each_leaf(emu_mmu *m, uint64_t root, uint64_t start, uint64_t end,
               bool (*visit)(emu_mmu *m, uint64_t vaddr, uint64_t slot, uint64_t entry,
                             void *data),
               void *data);

void emu_tlb_retune(emu_mmu *m);

/* anon_maps.c */
/* A first write to `region` at vaddr, which gives its VMA an anon_vma: done
 * in the mirror when it holds the VMA; false when Python must do it. */
enum { GIVEN_BY_PYTHON, GIVEN_HERE, DECLINED };
int anon_first_write(emu_mmu *m, uint64_t vaddr);

#endif

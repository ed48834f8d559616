/* mmu.c -- the MMU's TLB fill in C (built by emu/hostlib.py with zig's clang).
 *
 * The same walk as emu/mmu.py's Python walker, which stays the reference: on a
 * miss of Unicorn's TLB (UC_TLB_VIRTUAL), emu_tlb_fill() looks in a second,
 * software TLB per privilege, and on a miss there walks the 4-level tables under
 * CR3 in guest RAM:
 *
 *    63      48 47     39 38     30 29     21 20     12 11          0
 *   +----------+---------+---------+---------+---------+-------------+
 *   | sign ext | PML4    | PDPT    | PD      | PT      | offset      |
 *   +----------+---------+---------+---------+---------+-------------+
 *
 *   - P, RW, US and NX are combined over the levels and checked against the
 *     access (read 16, write 17, fetch 18) and the privilege (US is enforced
 *     while `user` is set; RW binds supervisor writes too: CR0.WP);
 *   - A is set in every entry used and D in the leaf on a write, in place in
 *     guest RAM, only when the access is allowed; a clean page is filled
 *     without write permission, so its first write comes back for D;
 *   - a refused access goes to Python (`refused`), which offers it to the
 *     kernel (demand paging, copy-on-write) and records the fault. `reason`
 *     and `leaf` tell it why, so it needs no walk of its own.
 *
 * The software TLB maps a virtual page to (physical page | perms), like the
 * Python walker's dict: it never evicts, it is emptied on CR3 changes and
 * flushes, and pages are dropped by invalidate (INVLPG). A guest kernel routine
 * that edits tables without invlpg keeps its stale translations, as on
 * hardware and as in the Python walker. It is an open-addressing hash table
 * with linear probing and backward-shift deletion.
 *
 * `code_map` has one byte per physical page: 1 once the page has been filled
 * executable since translated code was last dropped (Machine._code_written).
 *
 * The demand-zero assist (below) maps a first touch of private anonymous
 * memory here, without Python, where the kernel has said how.
 */

#include "mmu.h"

/* Why a walk refused: the order of emu/paging.py's refusal() */
enum { OK, NOT_PRESENT, BAD_PHYSICAL, NON_CANONICAL, SUPERVISOR, READ_ONLY, NO_EXECUTE };

#define TLB_MIN_SLOTS 256

/* -- the software TLB --------------------------------------------------------- */

static uint64_t tlb_home(const tlb *t, uint64_t key)
{
    return ((key >> 12) * 0x9E3779B97F4A7C15ULL >> 20) & t->mask;
}

static int tlb_alloc(tlb *t, uint64_t slots)
{
    t->slots = calloc(slots, sizeof(tlb_slot));
    t->mask = slots - 1;
    t->count = 0;
    return t->slots != NULL;
}

static bool tlb_get(const tlb *t, uint64_t vpage, uint64_t *value)
{
    uint64_t key = vpage | 1;
    for (uint64_t i = tlb_home(t, key);; i = (i + 1) & t->mask) {
        if (t->slots[i].key == key) {
            *value = t->slots[i].value;
            return true;
        }
        if (t->slots[i].key == 0)
            return false;
    }
}

static void tlb_insert(tlb *t, uint64_t key, uint64_t value)
{
    uint64_t i = tlb_home(t, key);
    while (t->slots[i].key != 0 && t->slots[i].key != key)
        i = (i + 1) & t->mask;
    if (t->slots[i].key == 0)
        t->count++;
    t->slots[i].key = key;
    t->slots[i].value = value;
}

/* Put vpage -> value; the table doubles at half full. False when out of memory
 * (the translation is then simply not cached). */
static bool tlb_put(tlb *t, uint64_t vpage, uint64_t value)
{
    if ((t->count + 1) * 2 > t->mask + 1) {
        tlb old = *t;
        if (!tlb_alloc(t, (old.mask + 1) * 2)) {
            *t = old;
            return false;
        }
        for (uint64_t i = 0; i <= old.mask; i++)
            if (old.slots[i].key)
                tlb_insert(t, old.slots[i].key, old.slots[i].value);
        free(old.slots);
    }
    tlb_insert(t, vpage | 1, value);
    return true;
}

/* Remove the slot at i, shifting later members of its probe run back. */
static void tlb_remove_at(tlb *t, uint64_t i)
{
    uint64_t j = i;
    for (;;) {
        t->slots[i].key = 0;
        for (;;) {
            j = (j + 1) & t->mask;
            if (t->slots[j].key == 0) {
                t->count--;
                return;
            }
            uint64_t home = tlb_home(t, t->slots[j].key);
            /* the entry at j may move to i unless its home lies cyclically in (i, j] */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        t->slots[i] = t->slots[j];
        i = j;
    }
}

static void tlb_drop(tlb *t, uint64_t vpage)
{
    uint64_t key = vpage | 1;
    for (uint64_t i = tlb_home(t, key); t->slots[i].key; i = (i + 1) & t->mask)
        if (t->slots[i].key == key) {
            tlb_remove_at(t, i);
            return;
        }
}

static void tlb_clear(tlb *t)
{
    if (t->mask + 1 > TLB_MIN_SLOTS) {   /* a big table goes back to the small size */
        tlb old = *t;
        if (tlb_alloc(t, TLB_MIN_SLOTS)) {
            free(old.slots);
            return;
        }
        *t = old;
    }
    memset(t->slots, 0, (t->mask + 1) * sizeof(tlb_slot));
    t->count = 0;
}

/* Drop every page of [first, end) (first page-aligned). */
static void tlb_invalidate(tlb *t, uint64_t first, uint64_t end)
{
    uint64_t pages = (end - first + PAGE_4K - 1) / PAGE_4K;
    if (pages <= t->count) {
        for (uint64_t page = first; page < end; page += PAGE_4K)
            tlb_drop(t, page);
        return;
    }
    tlb old = *t;                        /* fewer entries than pages: keep the others */
    if (!tlb_alloc(t, old.mask + 1)) {
        *t = old;
        for (uint64_t page = first; page < end; page += PAGE_4K)
            tlb_drop(t, page);
        return;
    }
    for (uint64_t i = 0; i <= old.mask; i++) {
        uint64_t page = old.slots[i].key & ~1ULL;
        if (old.slots[i].key && !(first <= page && page < end))
            tlb_insert(t, old.slots[i].key, old.slots[i].value);
    }
    free(old.slots);
}

/* -- the walk ----------------------------------------------------------------- */

/* Walk for `vaddr` (page-aligned) and `access`. On success returns true with
 * *value = physical page | perms, having set A (and D on a write); else sets
 * m->reason and m->leaf and changes nothing. */
static bool translate(emu_mmu *m, uint64_t vaddr, int access, uint64_t *value)
{
    static const int shifts[4] = {39, 30, 21, 12};
    uint64_t slots[4], entries[4], top = vaddr >> 47, table = m->cr3, paddr = 0;
    uint64_t limit = m->ram_size - PAGE_4K;
    bool writable = true, user = true, executable = true, straddles = false;
    bool write = access == UC_MEM_WRITE;
    int used = 0;
    m->leaf = 0;
    if (top && top != 0x1FFFF) {
        m->reason = NON_CANONICAL;
        return false;
    }
    for (int level = 0; level < 4; level++) {
        if (table > limit) {
            m->reason = BAD_PHYSICAL;    /* the entry above pointed outside RAM */
            return false;
        }
        uint64_t slot = table + ((vaddr >> shifts[level]) & 0x1FF) * 8;
        uint64_t e = read_entry(m, slot);
        if (!(e & PTE_P)) {
            m->reason = NOT_PRESENT;
            return false;
        }
        slots[used] = slot;
        entries[used++] = e;
        writable = writable && (e & PTE_RW);
        user = user && (e & PTE_US);
        executable = executable && !(e & PTE_NX);
        if (level == 3 || ((e & PTE_PS) && level != 0)) {
            uint64_t size = 1ULL << shifts[level], base = (e & PTE_ADDR_MASK) & ~(size - 1);
            paddr = base | (vaddr & (size - 1));
            if (paddr > limit) {
                m->reason = BAD_PHYSICAL;
                return false;
            }
            straddles = base + size > m->ram_size;   /* a large page past the end of RAM */
            break;
        }
        table = e & PTE_ADDR_MASK;
    }
    m->leaf = straddles ? 0 : entries[used - 1];
    if (m->user && !user)
        m->reason = SUPERVISOR;
    else if (write && !writable)
        m->reason = READ_ONLY;
    else if (access == UC_MEM_FETCH && !executable)
        m->reason = NO_EXECUTE;
    else
        m->reason = OK;
    if (m->reason != OK) {
        if (straddles)                   /* the full walk stops there first */
            m->reason = BAD_PHYSICAL;
        return false;
    }
    for (int i = 0; i < used; i++) {
        uint64_t wanted = entries[i] | PTE_A | (write && i == used - 1 ? PTE_D : 0);
        if (wanted != entries[i])
            write_entry(m, slots[i], wanted);
    }
    uint64_t perms = PROT_READ;
    if (writable && (write || (entries[used - 1] & PTE_D)))
        perms |= PROT_WRITE;
    if (executable)
        perms |= PROT_EXEC;
    *value = paddr | perms;
    return true;
}

static int needed(int access)
{
    return access == UC_MEM_WRITE ? PROT_WRITE : access == UC_MEM_FETCH ? PROT_EXEC : PROT_READ;
}

static void give(emu_mmu *m, uint64_t value, uc_tlb_entry *out)
{
    out->paddr = value & ~(PAGE_4K - 1);
    out->perms = (uint32_t)(value & 7);
    if ((value & PROT_EXEC) && !m->code_map[out->paddr / PAGE_4K]) {
        m->code_map[out->paddr / PAGE_4K] = 1;
        m->code_count++;
    }
}

/* -- the demand-zero assist -----------------------------------------------------
 *
 * The kernel's commonest fault, a first touch of private anonymous memory,
 * done without Python. The kernel (kernel/assist.py) lists regions, VMAs whose
 * not-present pages are fresh zeroed frames with fixed leaf flags, and lends a
 * pool of free frames in the order its allocator would hand them out (the
 * free lists of the first chunks it takes from, whole, mmu.h). A
 * not-present user access inside a region takes the pool's next frame for the
 * page and the ones after it for missing tables (kernel/address_space.py's
 * _map_new_page allocates in that order), zeroes them and maps the page as the
 * kernel's fault() would, tables with P|RW|US. The kernel accounts for the
 * frames taken and given back (what is left in the pool), the faults
 * (assisted) and the anon_vmas given the next time it runs: a first write
 * gives its VMA one here when anon_maps.c holds the VMA, else the region is
 * marked `written` and Python gives it. Anything else is left to Python: a
 * frame that may hold translated code, a pool too short, a large page in the
 * way, an access the VMA does not allow.
 */

emu_region *region_of(emu_mmu *m, uint64_t vaddr)
{
    for (uint64_t i = 0; i < m->region_count; i++) {
        emu_region *r = &m->regions[i];
        if (r->root == m->cr3 && r->start <= vaddr && vaddr < r->end)
            return r;
    }
    return NULL;
}

/* The pool's next frame, as alloc() would hand it out; 0 when it is empty
 * (the kernel's alloc() takes from the pool this way while a loan is out). */
uint64_t emu_pool_take(emu_mmu *m)
{
    if (m->pool_count == 0)
        return 0;
    uint64_t frame = m->pool[--m->pool_count];
    m->pool_changes++;
    for (uint64_t i = 0; i < m->seg_count && m->seg_lo[i] > m->pool_count; i++)
        m->seg_lo[i] = m->pool_count;    /* the segments above are empty now */
    if (m->space != NULL && m->space->available)
        m->space->available--;           /* what FrameAllocator.available() counts */
    return frame;
}

static uint64_t take_frame(emu_mmu *m)
{
    uint64_t frame = emu_pool_take(m);
    memset(m->ram + frame, 0, PAGE_4K);
    return frame;
}

/* Map the not-present page `vaddr` as a demand-zero fault; false (nothing
 * changed) when Python must handle it. */
static bool assist(emu_mmu *m, uint64_t vaddr, int access)
{
    static const int shifts[4] = {39, 30, 21, 12};
    emu_region *r = region_of(m, vaddr);
    if (r == NULL || !(r->allow & needed(access)))
        return false;
    uint64_t limit = m->ram_size - PAGE_4K, table = m->cr3, wanted = 1;
    for (int level = 0; level < 4; level++) {      /* what is missing on the way down */
        uint64_t e = read_entry(m, table + ((vaddr >> shifts[level]) & 0x1FF) * 8);
        if (!(e & PTE_P)) {
            wanted += 3 - level;
            break;
        }
        if (level == 3 || (e & PTE_PS))
            return false;                /* mapped after all, or a large page */
        table = e & PTE_ADDR_MASK;
        if (table > limit)
            return false;
    }
    if (m->pool_count < wanted)
        return false;
    for (uint64_t i = m->pool_count - wanted; i < m->pool_count; i++)
        if (m->code_map[m->pool[i] / PAGE_4K])
            return false;                /* translated code must be dropped first */
    int anon = GIVEN_BY_PYTHON;
    if (access == UC_MEM_WRITE && r->write_flags && (anon = anon_first_write(m, vaddr)) == DECLINED)
        return false;
    uint64_t page = take_frame(m), flags = r->flags;
    table = m->cr3;
    for (int level = 0; level < 3; level++) {
        uint64_t slot = table + ((vaddr >> shifts[level]) & 0x1FF) * 8, e = read_entry(m, slot);
        if (!(e & PTE_P))
            e = take_frame(m) | PTE_P | PTE_RW | PTE_US;
        else
            e |= PTE_US;
        write_entry(m, slot, e);
        table = e & PTE_ADDR_MASK;
    }
    if (access == UC_MEM_WRITE && r->write_flags) {   /* the write gives it its anon_vma */
        flags = r->flags = r->write_flags;
        r->write_flags = 0;
        if (anon == GIVEN_BY_PYTHON)
            r->written = ++m->write_clock;
    }
    write_entry(m, table + ((vaddr >> 12) & 0x1FF) * 8, page | flags | PTE_P);
    m->assisted++;
    return true;
}

/* Add a region (false when the table is full: its faults then go to Python). */
int emu_region_add(emu_mmu *m, uint64_t root, uint64_t start, uint64_t end, uint64_t flags,
                   uint64_t write_flags, uint64_t allow)
{
    if (m->region_count == m->region_cap)
        return 0;
    m->regions[m->region_count++] = (emu_region){root, start, end, flags, write_flags, allow, 0};
    return 1;
}

/* 1 when a region of `root` holds vaddr. */
int emu_region_holds(emu_mmu *m, uint64_t root, uint64_t vaddr)
{
    for (uint64_t i = 0; i < m->region_count; i++)
        if (m->regions[i].root == root && m->regions[i].start <= vaddr &&
                vaddr < m->regions[i].end)
            return 1;
    return 0;
}

/* Drop the regions of `root` that share a byte with [start, end). */
void emu_region_drop(emu_mmu *m, uint64_t root, uint64_t start, uint64_t end)
{
    uint64_t kept = 0;
    for (uint64_t i = 0; i < m->region_count; i++) {
        emu_region *r = &m->regions[i];
        if (!(r->root == root && r->start < end && start < r->end))
            m->regions[kept++] = *r;
    }
    m->region_count = kept;
}

/* Drop the regions of `root` that share a byte with [start, end), then add
 * [start, end) as a region (what a changed VMA needs, in one call); false when
 * the table is full. */
int emu_region_set(emu_mmu *m, uint64_t root, uint64_t start, uint64_t end, uint64_t flags,
                   uint64_t write_flags, uint64_t allow)
{
    emu_region_drop(m, root, start, end);
    return emu_region_add(m, root, start, end, flags, write_flags, allow);
}

/* The regions a write gave an anon_vma since the last call, oldest first:
 * their starts into `starts` (at most `room`), their roots into `roots`;
 * returns how many, and forgets them. */
uint64_t emu_region_written(emu_mmu *m, uint64_t *roots, uint64_t *starts, uint64_t room)
{
    uint64_t found = 0;
    for (uint64_t tick = 1; tick <= m->write_clock && found < room; tick++)
        for (uint64_t i = 0; i < m->region_count; i++)
            if (m->regions[i].written == tick) {
                roots[found] = m->regions[i].root;
                starts[found++] = m->regions[i].start;
                m->regions[i].written = 0;
            }
    m->write_clock = 0;
    return found;
}

/* -- unmapping: kernel/page_tables.py's unmap, for ranges of 4 KiB pages ----------- */

/* What page_table_of() found on the way to a page table. */
enum { NO_TABLE, TABLE, LEFT_TO_PYTHON };

/* The page table (PT) that maps `vaddr` under `root`: TABLE and its address in
 * *table; NO_TABLE when a level above has no entry there (*reach is then how
 * far that missing entry reaches); LEFT_TO_PYTHON when a large page maps it or
 * a table lies outside RAM (Python's unmap splits the page or reports the
 * table). */
static int page_table_of(const emu_mmu *m, uint64_t root, uint64_t vaddr, uint64_t *table,
                         uint64_t *reach)
{
    static const int shifts[3] = {39, 30, 21};
    uint64_t at = root;
    for (int level = 0; level < 3; level++) {
        if (at > m->ram_size - PAGE_4K)
            return LEFT_TO_PYTHON;
        uint64_t e = read_entry(m, at + ((vaddr >> shifts[level]) & 0x1FF) * 8);
        *reach = 1ULL << shifts[level];
        if (!(e & PTE_P))
            return NO_TABLE;
        if ((e & PTE_PS) && level != 0)
            return LEFT_TO_PYTHON;
        at = e & PTE_ADDR_MASK;
    }
    *table = at;
    return at > m->ram_size - PAGE_4K ? LEFT_TO_PYTHON : TABLE;
}

/* The start of the next `reach`-sized block after vaddr's, or `end` when that
 * is past it (or past the top of the address space). */
static uint64_t next_block(uint64_t vaddr, uint64_t reach, uint64_t end)
{
    uint64_t next = (vaddr & ~(reach - 1)) + reach;
    return next <= vaddr || next > end ? end : next;
}

bool each_leaf(emu_mmu *m, uint64_t root, uint64_t start, uint64_t end,
               bool (*visit)(emu_mmu *m, uint64_t vaddr, uint64_t slot, uint64_t entry,
                             void *data),
               void *data)
{
    uint64_t reach, vaddr, table;
    for (vaddr = start; vaddr < end; vaddr = next_block(vaddr, reach, end))
        if (page_table_of(m, root, vaddr, &table, &reach) == LEFT_TO_PYTHON)
            return false;
    for (vaddr = start; vaddr < end; ) {
        if (page_table_of(m, root, vaddr, &table, &reach) == NO_TABLE) {
            vaddr = next_block(vaddr, reach, end);
            continue;
        }
        for (uint64_t stop = next_block(vaddr, PAGE_4K * 512, end); vaddr < stop;
                vaddr += PAGE_4K) {
            uint64_t slot = table + ((vaddr >> 12) & 0x1FF) * 8, e = read_entry(m, slot);
            if ((e & PTE_P) && !visit(m, vaddr, slot, e, data))
                return true;
        }
    }
    return true;
}

typedef struct {
    uint64_t *vaddrs, *entries, room, found, next;
} cleared;

static bool clear_leaf(emu_mmu *m, uint64_t vaddr, uint64_t slot, uint64_t entry, void *data)
{
    cleared *c = data;
    if (c->found == c->room) {
        c->next = vaddr;                 /* full: go on from here next time */
        return false;
    }
    write_entry(m, slot, 0);
    c->vaddrs[c->found] = vaddr;
    c->entries[c->found++] = entry;
    return true;
}

/* Clear the present leaves of [start, end) under `root` (page-aligned, user
 * half), in address order, as PageTables.unmap does: each one's virtual page
 * into `vaddrs` and its entry into `entries`, at most `room` of them. Returns
 * how many, with *next where to go on from (end when done); or -1, having
 * changed nothing, when a 2 MiB or 1 GiB page, or a table outside RAM, lies in
 * [start, end): those are left to Python. */
int64_t emu_unmap_leaves(emu_mmu *m, uint64_t root, uint64_t start, uint64_t end,
                         uint64_t *vaddrs, uint64_t *entries, uint64_t room, uint64_t *next)
{
    cleared c = {vaddrs, entries, room, 0, end};
    if (!each_leaf(m, root, start, end, clear_leaf, &c))
        return -1;
    *next = c.next;
    return (int64_t)c.found;
}

/* -- what emu/native_mmu.py calls --------------------------------------------------- */

/* The UC_HOOK_TLB_FILL callback; `data` is the emu_mmu. */
bool emu_tlb_fill(void *uc, uint64_t vaddr, int access, uc_tlb_entry *out, void *data)
{
    emu_mmu *m = data;
    tlb *t = &m->tlbs[m->user ? 1 : 0];
    uint64_t value;
    (void)uc;
    if (tlb_get(t, vaddr, &value) && (value & needed(access))) {
        m->refills++;
        give(m, value, out);
        return true;
    }
    m->fills++;
    if (!translate(m, vaddr, access, &value)) {
        bool demand_zero = m->reason == NOT_PRESENT && m->leaf == 0 && m->user;
        if (!(demand_zero && assist(m, vaddr, access)) && !m->refused(vaddr, access, 0))
            return false;                /* refused: Python recorded why */
        if (!translate(m, vaddr, access, &value)) {
            m->refused(vaddr, access, 1);
            return false;
        }
    }
    tlb_put(t, vaddr, value);
    give(m, value, out);
    return true;
}

/* The walk alone, for tests against the Python walker: 1 and *value, or 0
 * (m->reason says why). Sets A/D as a fill does; caches nothing. */
int emu_translate(emu_mmu *m, uint64_t vaddr, int access, uint64_t *value)
{
    return translate(m, vaddr, access, value);
}

int emu_mmu_init(emu_mmu *m)
{
    return tlb_alloc(&m->tlbs[0], TLB_MIN_SLOTS) && tlb_alloc(&m->tlbs[1], TLB_MIN_SLOTS);
}

void emu_mmu_free(emu_mmu *m)
{
    free(m->tlbs[0].slots);
    free(m->tlbs[1].slots);
    m->tlbs[0].slots = m->tlbs[1].slots = NULL;
}

void emu_tlb_flush(emu_mmu *m)
{
    tlb_clear(&m->tlbs[0]);
    tlb_clear(&m->tlbs[1]);
}

void emu_tlb_invalidate(emu_mmu *m, uint64_t first, uint64_t end)
{
    tlb_invalidate(&m->tlbs[0], first, end);
    tlb_invalidate(&m->tlbs[1], first, end);
}

/* INVLPG over [first, end), `first` page-aligned: drop the pages from both software
 * TLBs, then from Unicorn's, page by page when it can be done so and the range
 * is short, else all of Unicorn's TLB (its API has only the whole flush). */
void emu_invalidate(emu_mmu *m, uint64_t first, uint64_t end)
{
    emu_tlb_invalidate(m, first, end);
    if (m->flush_page != NULL && first < end && (end - first) / PAGE_4K <= m->flush_page_max) {
        for (uint64_t page = first; page < end; page += PAGE_4K)
            m->flush_page(m->cpu, page);
    } else {
        m->uc_ctl(m->uc, (int)m->flush);
        m->refills_at_flush = m->refills;
    }
}

/* Unicorn's TLB (QEMU's) is sized again only when it is flushed whole: it
 * starts with 256 entries and doubles at a whole flush that finds it more
 * than 70% used (cputlb.c's tlb_mmu_resize_locked). With invalidations page
 * by page, a program whose pages outnumber its entries would refill them
 * from the software TLB for ever (the glibc churn: 866,000 refills); so once
 * `retune_refills` refills have come since the last whole flush, the next
 * call here (at a system call: an instruction boundary) flushes it whole,
 * and it grows to the program's working set (12,000). */
void emu_tlb_retune(emu_mmu *m)
{
    if (m->retune_refills && m->refills - m->refills_at_flush > m->retune_refills) {
        m->uc_ctl(m->uc, (int)m->flush);
        m->refills_at_flush = m->refills;
    }
}

uint64_t emu_tlb_count(emu_mmu *m, int user)
{
    return m->tlbs[user ? 1 : 0].count;
}

/* Translated code was dropped: mark again the pages both TLBs can still fetch
 * from (the caller has cleared code_map). */
void emu_tlb_mark_code(emu_mmu *m)
{
    uc_tlb_entry ignored;
    for (int u = 0; u < 2; u++)
        for (uint64_t i = 0; i <= m->tlbs[u].mask; i++)
            if (m->tlbs[u].slots[i].key && (m->tlbs[u].slots[i].value & PROT_EXEC))
                give(m, m->tlbs[u].slots[i].value, &ignored);
}

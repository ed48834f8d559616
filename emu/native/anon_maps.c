/* anon_maps.c -- private anonymous mmap and munmap in C.
 *
 * A malloc that maps each large block (musl's, glibc's above its threshold)
 * makes an mmap and a munmap per block. The Python kernel
 * (kernel/syscalls/mman.py) stays the reference; this does the two commonest
 * calls the same way without leaving C:
 *
 *     mmap(hint, length, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, fd, 0)
 *     munmap(addr, length)      over "[anon]" rw-p memory only
 *
 * The kernel (kernel/anon_maps.py) exports the VMAs of the running address
 * space into an emu_space: every VMA, each either VMA_ANON (private
 * anonymous read-write memory as mmap makes it: "[anon]", VM_ACCOUNT, page
 * offset start / 4 KiB, no guard page, no file page) with its anon_vma's
 * number, or VMA_OTHER, which C never changes and declines to touch or
 * join. C then changes the VMAs as kernel/vma.py would (top-down placement,
 * merging with the VMA before first, splitting on munmap, anon_vma given at
 * the first write and shared with a neighbour), keeps the assist's regions
 * in step, and frees frames into the assist's pool, which holds the whole
 * free lists of the first chunks the allocator takes from: a freed frame
 * goes on the end of its chunk's list, as FrameAllocator.free puts it
 * there. A frame of a chunk taken after all of them goes on a list of its
 * own (`elsewhere`), which the allocator appends to that chunk's list when
 * it settles the loan: while the pool lasts no allocation comes from there. The kernel imports the VMAs and
 * the calls (for the process's log) at its next entry.
 *
 * A call C cannot make exactly as Python would goes to Python, unchanged:
 * anything but the forms above, an address space that was not exported or
 * was changed since, a VMA_OTHER in the way or next door, a frame of a chunk
 * taken before one the pool lends but not lent (alloc() would hand it out
 * before the pool's next ones), a shared frame
 * or one that held code (or any lent frame while some frame is shared), a chunk
 * that would go back to the os_MemoryMap, a
 * full table, a mapping over the file's pages, a request over the memory or
 * RLIMIT_DATA left (Python gives ENOMEM).
 */
#include "mmu.h"

#define SYS_MMAP      9
#define SYS_MUNMAP    11
#define MAP_PRIVATE_ANON 0x22            /* MAP_PRIVATE | MAP_ANONYMOUS */
#define PROT_RW       (PROT_READ | PROT_WRITE)
#define POISON        0xDEADBEEFDEADBEEFULL

/* The leaf flags of a new page of an "[anon]" rw-p VMA (address_space.py's
 * vma_pte_flags): read-only until the VMA has an anon_vma. */
#define ANON_FLAGS    (PTE_US | PTE_RW | PTE_NX)

static uint64_t page_up(uint64_t length)
{
    return (length + PAGE_4K - 1) & ~(PAGE_4K - 1);
}

/* The index of the first VMA that ends after `addr` (count when none). */
static uint64_t first_ending_after(const emu_space *s, uint64_t addr)
{
    uint64_t lo = 0, hi = s->count;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (s->vmas[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* List `v` as the assist's region, with the flags fault() would give. */
static void list_region(emu_mmu *m, const emu_space *s, const emu_vma *v)
{
    emu_region_set(m, s->root, v->start, v->end, v->anon ? ANON_FLAGS : ANON_FLAGS & ~PTE_RW,
                   v->anon ? 0 : ANON_FLAGS, PROT_RW);
}

static bool over_file(const emu_space *s, uint64_t start, uint64_t end)
{
    return s->file_lo < end && start < s->file_hi;
}

/* C changed the VMAs of [lo, hi). */
static void touched(emu_space *s, uint64_t lo, uint64_t hi)
{
    if (!s->changed || lo < s->dirty_lo)
        s->dirty_lo = lo;
    if (!s->changed || hi > s->dirty_hi)
        s->dirty_hi = hi;
    s->changed = 1;
}

static bool log_call(emu_space *s, uint64_t number, const uint64_t *in, int args,
                     uint64_t result)
{
    emu_call *c = &s->calls[s->call_count++];
    c->number = number;
    for (int i = 0; i < 6; i++)
        c->args[i] = i < args ? in[1 + i] : 0;
    c->result = result;
    s->made++;
    return true;
}

/* No VMA shares a byte with [start, end). */
static bool is_free(const emu_space *s, uint64_t start, uint64_t end)
{
    uint64_t i = first_ending_after(s, start);
    return i == s->count || s->vmas[i].start >= end;
}

/* vma.py's free_gap_below(top, length, floor): the highest start s with
 * [s, s + length) free, floor <= s and s + length <= top; false if none. */
static bool gap_below(const emu_space *s, uint64_t top, uint64_t length, uint64_t floor,
                      uint64_t *start)
{
    uint64_t window_end = top;
    for (uint64_t i = s->count; i-- > 0; ) {
        const emu_vma *v = &s->vmas[i];
        if (v->start >= window_end)
            continue;
        if (window_end >= length && v->end <= window_end - length)
            break;
        window_end = v->start;
    }
    if (window_end < length || window_end - length < floor)
        return false;
    *start = window_end - length;
    return true;
}

/* -- mmap ------------------------------------------------------------------------------ */

static bool mmap_anon(emu_mmu *m, emu_space *s, const uint64_t *in, uint64_t *result)
{
    uint64_t hint = in[1] & ~(PAGE_4K - 1), length = in[2], prot = in[3], flags = in[4];
    if (prot != PROT_RW || flags != MAP_PRIVATE_ANON || in[6] || !length)
        return false;
    uint64_t size = page_up(length), start;
    if (size < length || size > s->user_top || size / PAGE_4K > s->available ||
            (s->data_limited && (s->data_room < 0 || size > (uint64_t)s->data_room)) ||
            s->count + 1 > s->cap)
        return false;
    /* mman.py's mmap_range and placement: the hint (raised to mmap_min_addr)
       if the range is free there, else the highest gap below the mmap base */
    if (hint && hint < s->mmap_min)
        hint = s->mmap_min;
    if (hint && hint <= s->user_top - size && is_free(s, hint, hint + size))
        start = hint;
    else if (!gap_below(s, s->mmap_base, size, s->mmap_min, &start))
        return false;
    uint64_t end = start + size, i = first_ending_after(s, start);
    emu_vma *before = i > 0 && s->vmas[i - 1].end == start ? &s->vmas[i - 1] : NULL;
    emu_vma *after = i < s->count && s->vmas[i].start == end ? &s->vmas[i] : NULL;
    if ((before && before->kind != VMA_ANON) || (after && after->kind != VMA_ANON))
        return false;                    /* whether it would join them is Python's call */
    uint64_t lo = before ? before->start : start, hi = after ? after->end : end;
    if (over_file(s, lo, hi))
        return false;
    /* vma.py's insert and _merge_around: the one before first, then the one
       after if their anon_vmas allow (the new VMA has none yet) */
    emu_vma *v;
    if (before) {
        v = before;
        v->end = end;
    } else {
        memmove(&s->vmas[i + 1], &s->vmas[i], (s->count - i) * sizeof(emu_vma));
        s->count++;
        v = &s->vmas[i];
        *v = (emu_vma){start, end, 0, VMA_ANON};
        after = after ? v + 1 : NULL;
    }
    if (after && (!v->anon || !after->anon || v->anon == after->anon)) {
        v->end = after->end;
        v->anon = v->anon ? v->anon : after->anon;
        uint64_t j = (uint64_t)(after - s->vmas);
        memmove(&s->vmas[j], &s->vmas[j + 1], (s->count - j - 1) * sizeof(emu_vma));
        s->count--;
    }
    list_region(m, s, v);
    touched(s, v->start, v->end);
    s->data_room -= (int64_t)size;
    *result = start;
    return log_call(s, SYS_MMAP, in, 6, start);
}

/* -- munmap ---------------------------------------------------------------------------- */

typedef struct {
    uint64_t pool[MAX_SEGMENTS];         /* frames found for each segment of the pool */
    uint64_t elsewhere;                  /* and for chunks taken after them */
    bool refused;                        /* a frame C cannot free as Python would */
} survey;

/* Where the frame at `entry` would go: the pool, a later chunk, or nowhere
 * (NULL: Python must free it). */
static uint16_t *later_chunk(emu_mmu *m, uint64_t frame)
{
    uint64_t chunk = frame / CHUNK_SIZE;
    return chunk < m->chunks && m->later[chunk] ? &m->later[chunk] : NULL;
}

static bool check_leaf(emu_mmu *m, uint64_t vaddr, uint64_t slot, uint64_t entry, void *data)
{
    survey *w = data;
    uint64_t frame = entry & PTE_ADDR_MASK;
    uint16_t *in_use;
    (void)vaddr, (void)slot;
    int64_t segment = frame < m->ram_size ? segment_of(m, frame) : -1;
    if (frame >= m->ram_size || m->code_map[frame / PAGE_4K]) {
        w->refused = true;
    } else if (segment >= 0) {
        w->refused = m->pool_shared;     /* is this one shared? the allocator knows */
        w->pool[segment]++;
    } else if ((in_use = later_chunk(m, frame)) != NULL && *in_use > 1) {
        --*in_use;                       /* taken back by restore_leaf if refused */
        w->elsewhere++;
    } else {
        w->refused = true;               /* an earlier chunk, or its last frame in use */
    }
    return !w->refused;
}

/* Undo check_leaf's counts for the first `elsewhere` frames of later chunks. */
static bool restore_leaf(emu_mmu *m, uint64_t vaddr, uint64_t slot, uint64_t entry, void *data)
{
    uint64_t *left = data, frame = entry & PTE_ADDR_MASK;
    uint16_t *in_use;
    (void)vaddr, (void)slot;
    if (*left && frame < m->ram_size && segment_of(m, frame) < 0 &&
            (in_use = later_chunk(m, frame)) != NULL) {
        ++*in_use;
        --*left;
    }
    return *left > 0;
}

/* Clear the leaf, poison its frame and put the frame back on the pool's end
 * (FrameAllocator.free_many: poisoned, then appended to its chunk's list). */
static bool free_leaf(emu_mmu *m, uint64_t vaddr, uint64_t slot, uint64_t entry, void *data)
{
    uint64_t frame = entry & PTE_ADDR_MASK, poison = POISON;
    (void)vaddr, (void)data;
    write_entry(m, slot, 0);
    for (uint64_t at = 0; at < PAGE_4K; at += 8)
        memcpy(m->ram + frame + at, &poison, 8);
    int64_t segment = segment_of(m, frame);
    if (segment >= 0) {                  /* on the end of its chunk's list */
        uint64_t at = segment_end(m, (uint64_t)segment);
        memmove(&m->pool[at + 1], &m->pool[at], (m->pool_count - at) * sizeof(uint64_t));
        m->pool[at] = frame;
        m->pool_count++;
        for (int64_t i = 0; i < segment; i++)
            m->seg_lo[i]++;
    } else {
        m->elsewhere[m->elsewhere_count++] = frame;
    }
    m->pool_changes++;
    return true;
}

static bool munmap_anon(emu_mmu *m, emu_space *s, const uint64_t *in, uint64_t *result)
{
    uint64_t start = in[1], length = in[2];
    if (start % PAGE_4K || !length || length > s->user_top || start > s->user_top - length)
        return false;                    /* EINVAL: Python says so */
    uint64_t end = page_up(start + length), first = first_ending_after(s, start), last = first;
    for (; last < s->count && s->vmas[last].start < end; last++)
        if (s->vmas[last].kind != VMA_ANON)
            return false;
    survey w = {{0}, 0, false};
    bool whole = each_leaf(m, s->root, start, end, check_leaf, &w);
    uint64_t frames = w.elsewhere;
    for (uint64_t i = 0; i < m->seg_count; i++) {
        frames += w.pool[i];             /* a chunk with every frame free goes back */
        if (segment_end(m, i) - m->seg_lo[i] + w.pool[i] >= CHUNK_FRAMES)
            w.refused = true;
    }
    if (!whole || w.refused || m->elsewhere_count + w.elsewhere > m->elsewhere_cap ||
            s->count + 1 > s->cap) {
        uint64_t left = w.elsewhere;
        if (left)
            each_leaf(m, s->root, start, end, restore_leaf, &left);
        return false;
    }
    if (first < last) {
        /* vma.py's remove: the parts outside [start, end) stay, with their anon_vma */
        emu_vma left = s->vmas[first], right = s->vmas[last - 1];
        touched(s, left.start < start ? left.start : start, right.end > end ? right.end : end);
        bool keep_left = left.start < start, keep_right = end < right.end;
        uint64_t removed = 0;            /* bytes: RLIMIT_DATA counts them */
        for (uint64_t i = first; i < last; i++) {
            uint64_t lo = s->vmas[i].start > start ? s->vmas[i].start : start;
            uint64_t hi = s->vmas[i].end < end ? s->vmas[i].end : end;
            removed += hi - lo;
        }
        uint64_t kept = (uint64_t)keep_left + (uint64_t)keep_right;
        memmove(&s->vmas[first + kept], &s->vmas[last], (s->count - last) * sizeof(emu_vma));
        s->count = s->count - (last - first) + kept;
        uint64_t at = first;
        if (keep_left) {
            left.end = start;
            s->vmas[at++] = left;
        }
        if (keep_right) {
            right.start = end;
            s->vmas[at] = right;
        }
        emu_region_drop(m, s->root, start, end);
        for (uint64_t i = first; i < first + kept; i++)
            list_region(m, s, &s->vmas[i]);
        s->data_room += (int64_t)removed;
    } else {
        touched(s, start, start);        /* no VMA there: only the call to log */
    }
    if (frames) {                        /* leaves with no VMA over them go too, as in Python */
        each_leaf(m, s->root, start, end, free_leaf, NULL);
        s->available += frames;
        emu_invalidate(m, start, end);
    }
    *result = 0;
    return log_call(s, SYS_MUNMAP, in, 2, 0);
}

/* -- what mmu.c and syscall.c call -------------------------------------------------------- */

/* syscall.c's `fast` hook: in[] = rax, rdi, rsi, rdx, r10, r8, r9. 1 when the
 * call was made here (*result is its rax), 0 when Python makes it. */
int emu_fast_syscall(void *data, const uint64_t *in, uint64_t *result)
{
    emu_mmu *m = data;
    emu_space *s = m->space;
    emu_tlb_retune(m);
    if (s == NULL || !s->valid || s->root != m->cr3 || !m->user || s->call_count == s->call_cap)
        return 0;
    if (m->write_clock)
        return 0;                        /* Python has anon_vmas to give first, with the
                                            neighbours the writes saw (kernel/assist.py) */
    if (in[0] == SYS_MMAP)
        return mmap_anon(m, s, in, result);
    if (in[0] == SYS_MUNMAP)
        return munmap_anon(m, s, in, result);
    return 0;
}

/* address_space.py's _give_anon for the VMA holding vaddr: the next VMA's
 * anon_vma, else the one before's, when it could share it, else a new one. */
int anon_first_write(emu_mmu *m, uint64_t vaddr)
{
    emu_space *s = m->space;
    if (s == NULL || !s->valid || s->root != m->cr3)
        return GIVEN_BY_PYTHON;
    uint64_t i = first_ending_after(s, vaddr);
    if (i == s->count || s->vmas[i].start > vaddr || s->vmas[i].kind != VMA_ANON)
        return GIVEN_BY_PYTHON;
    emu_vma *v = &s->vmas[i];
    emu_vma *after = i + 1 < s->count && s->vmas[i + 1].start == v->end ? v + 1 : NULL;
    emu_vma *before = i > 0 && s->vmas[i - 1].end == v->start ? v - 1 : NULL;
    if ((after && after->kind != VMA_ANON) || (before && before->kind != VMA_ANON) ||
            v->anon)
        return DECLINED;                 /* a neighbour only Python can judge */
    v->anon = after && after->anon ? after->anon : before && before->anon ? before->anon
                                                                          : s->next_anon++;
    touched(s, v->start, v->end);
    return GIVEN_HERE;
}

/* The union of [lo, hi) and the VMAs that share a byte with it, as [*lo, *hi). */
void emu_space_span(emu_space *s, uint64_t *lo, uint64_t *hi)
{
    uint64_t i = first_ending_after(s, *lo);
    if (i < s->count && s->vmas[i].start < *hi && s->vmas[i].start < *lo)
        *lo = s->vmas[i].start;
    for (; i < s->count && s->vmas[i].start < *hi; i++)
        if (s->vmas[i].end > *hi)
            *hi = s->vmas[i].end;
}

/* The index of the first VMA that ends after addr (count when none). */
uint64_t emu_space_find(emu_space *s, uint64_t addr)
{
    return first_ending_after(s, addr);
}

/* Put `vmas` (n, sorted) in place of the VMAs that share a byte with
 * [lo, hi), which must hold them all; false (nothing changed) when there is
 * no room. */
int emu_space_splice(emu_space *s, uint64_t lo, uint64_t hi, const emu_vma *vmas, uint64_t n)
{
    uint64_t first = first_ending_after(s, lo), last = first;
    while (last < s->count && s->vmas[last].start < hi)
        last++;
    if (s->count - (last - first) + n > s->cap)
        return 0;
    memmove(&s->vmas[first + n], &s->vmas[last], (s->count - last) * sizeof(emu_vma));
    memcpy(&s->vmas[first], vmas, n * sizeof(emu_vma));
    s->count = s->count - (last - first) + n;
    return 1;
}

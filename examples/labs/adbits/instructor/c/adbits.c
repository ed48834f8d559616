/* adbits.c -- the adbits lab's reference solution in C (the asm one is
 * ../solution/adbits.asm; a test grades both). sys_pgaccess and sys_pgdirty
 * report the A (D) bits of npages pages from va as a bitmap, as they stood
 * when the call began, then clear them and invlpg each page changed. */
#include <stdint.h>
#include "emu_kernel.h"
#include "variant.h"

#define EINVAL 22
#define LEVEL_SHIFT_TOP 39
#define INDEX_MASK 511

/* The leaf entry that maps va (a PT entry, or a PD/PDPT entry with PS), reached
 * through the direct map; 0 when a level is not present. */
static uint64_t *leaf_of(uint64_t va) {
    uint64_t table = read_cr3() & PTE_ADDR;
    for (int shift = LEVEL_SHIFT_TOP; ; shift -= 9) {
        uint64_t *entry = (uint64_t *)phys_to_virt(table) + ((va >> shift) & INDEX_MASK);
        if (!(*entry & PTE_P))
            return 0;
        if (shift == 12 || (shift != LEVEL_SHIFT_TOP && (*entry & PTE_PS)))
            return entry;
        table = *entry & PTE_ADDR;
    }
}

/* Report, then clear, `bit` for npages pages from va. */
static long report_and_clear(uint64_t va, uint64_t npages, uint8_t *bitmap, uint64_t bit) {
    if ((va & (PAGE_SIZE - 1)) || npages == 0 || npages > PAGES_LIMIT)
        return -EINVAL;
    for (uint64_t i = 0; i < (npages + 7) / 8; i++)
        bitmap[i] = 0;
    for (uint64_t i = 0; i < npages; i++) {       /* first report: a 2 MiB page's */
        uint64_t *leaf = leaf_of(va + i * PAGE_SIZE);   /* bit stands for every piece */
        if (leaf && (*leaf & bit))
            bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    for (uint64_t i = 0; i < npages; i++) {       /* then clear, and drop the TLB's copy */
        uint64_t *leaf = leaf_of(va + i * PAGE_SIZE);
        if (leaf && (*leaf & bit)) {
            *leaf &= ~bit;
            invlpg(va + i * PAGE_SIZE);
        }
    }
    return 0;
}

long sys_pgaccess(uint64_t va, uint64_t npages, uint8_t *bitmap) {
    return report_and_clear(va, npages, bitmap, PTE_A);
}

long sys_pgdirty(uint64_t va, uint64_t npages, uint8_t *bitmap) {
    return report_and_clear(va, npages, bitmap, PTE_D);
}

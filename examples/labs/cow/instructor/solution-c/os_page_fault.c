/* os_page_fault.c -- the cow lab's reference handler in C (the asm one is the
 * reference the grader runs; this one shows a C submission works the same). */
#include "emu_kernel.h"

static uint64_t *entry_at(uint64_t table, uint64_t address, int shift) {
    uint64_t *entries = phys_to_virt(table);
    return &entries[(address >> shift) & 511];
}

/* The leaf entry of a present page, or 0 when a level is missing or a 2 MiB page. */
static uint64_t *leaf_of(uint64_t root, uint64_t address) {
    uint64_t table = root;
    for (int shift = 39; shift > 12; shift -= 9) {
        uint64_t entry = *entry_at(table, address, shift);
        if (!(entry & PTE_P) || entry & PTE_PS)
            return 0;
        table = entry & PTE_ADDR;
    }
    return entry_at(table, address, 12);
}

static void copy_frame(uint64_t to, uint64_t from) {
    uint64_t *dst = phys_to_virt(to), *src = phys_to_virt(from);
    for (int i = 0; i < 512; i++) dst[i] = src[i];
}

long os_page_fault(uint64_t address, uint64_t error, uint64_t root, uint64_t rip) {
    struct emu_vma vma;
    (void)rip;
    if (!(error & PF_PRESENT))
        return kernel_demand_page(address, error);     /* not present: the kernel's */
    if (!(error & PF_WRITE) || !kernel_find_vma(address, &vma) ||
        !(vma.prot & PROT_WRITE) || vma.flags & VMA_SHARED)
        return 1;
    uint64_t *leaf = leaf_of(root, address);
    if (!leaf || !(*leaf & PTE_P) || *leaf & PTE_RW)
        return 1;
    uint64_t shared = *leaf & PTE_ADDR;
    if (kernel_frame_refs(shared) > 1) {
        uint64_t copy = kernel_alloc_frame();
        if (!copy)
            return 1;
        copy_frame(copy, shared);
        *leaf = (*leaf & ~PTE_ADDR) | copy | PTE_RW;
        kernel_free_frame(shared);                     /* our reference to it goes */
    } else {
        *leaf |= PTE_RW;                               /* the last reference: ours again */
    }
    invlpg(address);
    return 0;
}

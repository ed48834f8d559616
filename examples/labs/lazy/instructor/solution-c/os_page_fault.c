/* os_page_fault.c -- the lazy lab's reference handler in C (the asm one is the
 * reference the grader runs; this one shows a C submission works the same). */
#include "emu_kernel.h"
#include "variant.h"

static void zero_frame(uint64_t frame) {
    void *at = phys_to_virt(frame);
    uint64_t count = PAGE_SIZE / 8;
    __asm__ volatile("rep stosq" : "+D"(at), "+c"(count) : "a"(0ull) : "memory");
}

static uint64_t zeroed_frame(void) {
    uint64_t frame = kernel_alloc_frame();
    if (frame)
        zero_frame(frame);
    return frame;
}

static uint64_t *entry_at(uint64_t table, uint64_t address, int shift) {
    uint64_t *entries = phys_to_virt(table);
    return &entries[(address >> shift) & 511];
}

long os_page_fault(uint64_t address, uint64_t error, uint64_t root, uint64_t rip) {
    struct emu_vma vma;
    (void)rip;
    if (error & PF_PRESENT || !kernel_find_vma(address, &vma) || vma.prot == 0)
        return 1;
    if ((error & PF_WRITE && !(vma.prot & PROT_WRITE)) ||
        (error & PF_FETCH && !(vma.prot & PROT_EXEC)))
        return 1;
    if (vma.end == STACK_TOP && address < STACK_TOP - STACK_LIMIT)
        return 1;
    uint64_t table = root;
    for (int shift = 39; shift > 12; shift -= 9) {
        uint64_t *entry = entry_at(table, address, shift);
        if (!(*entry & PTE_P)) {
            uint64_t frame = zeroed_frame();
            if (!frame)
                return 1;
            *entry = frame | PTE_P | PTE_RW | PTE_US;
        }
        table = *entry & PTE_ADDR;
    }
    uint64_t frame = zeroed_frame();
    if (!frame)
        return 1;
    uint64_t flags = PTE_P | PTE_US;
    if (vma.prot & PROT_WRITE) flags |= PTE_RW;
    if (!(vma.prot & PROT_EXEC)) flags |= PTE_NX;
    *entry_at(table, address, 12) = frame | flags;
    return 0;
}

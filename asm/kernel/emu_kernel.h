/* emu_kernel.h -- the contract of a guest kernel routine (emu run --kernel FILE).
 *
 * A --kernel file runs in kernel mode, in the kernel half of every address space
 * (0xffffffff80000000 + its physical address), on the kernel stack, under an
 * instruction budget. On the current process's CR3 it reaches that process's
 * memory at its user addresses and any physical address pa at DIRECT_MAP + pa.
 *
 * The page-fault handler (--on-fault SYMBOL), called for every page fault a user
 * process takes:
 *
 *     long os_page_fault(uint64_t address, uint64_t error, uint64_t root, uint64_t rip);
 *
 *     address  the virtual address the access faulted on (CR2)
 *     error    the x86 page-fault error code: PF_PRESENT (the page was present: a
 *              protection fault), PF_WRITE, PF_USER (always set here), PF_FETCH
 *     root     the physical address of the process's PML4 (CR3)
 *     rip      the faulting instruction
 *     returns  0: handled, the instruction is made again; anything else: the
 *              process gets SIGSEGV for `address`
 *
 * A system call (--syscall N=SYMBOL), called when a process makes system call N:
 *
 *     long sys_something(uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
 *                        uint64_t a5, uint64_t a6);
 *
 *     the arguments are the process's rdi, rsi, rdx, r10, r8, r9 (r10 is also in
 *     rcx, so a C function sees it as its 4th argument; rax holds N); returns the
 *     value the process finds in rax: a result or -errno.
 *
 * A routine may change any register; the process's own are saved and put back.
 * A fault inside a routine, or a routine that does not return within its budget,
 * is a kernel oops: the report names the routine, the instruction and the address,
 * and the process is killed (SIGKILL); the machine goes on.
 *
 * Translations are cached as on hardware: after changing an entry of the current
 * tables, `invlpg [address]` (or writing CR3) makes the CPU walk them again.
 * invlpg of any address in a 2 MiB page drops the whole page's translations.
 *
 * Frames have reference counts: fork shares a private page's frame between parent
 * and child (read-only in both, one reference each). kernel_free_frame drops one
 * reference; the frame goes back (poisoned) when the last one goes.
 */
#ifndef EMU_KERNEL_H
#define EMU_KERNEL_H

#include <stdint.h>

#define DIRECT_MAP   0xffff888000000000ull   /* DIRECT_MAP + pa reaches physical pa */
#define KERNEL_VIRT  0xffffffff80000000ull   /* the kernel's own code and data */
#define PAGE_SIZE    4096ull

#define PTE_P   (1ull << 0)                  /* present */
#define PTE_RW  (1ull << 1)                  /* writable */
#define PTE_US  (1ull << 2)                  /* user */
#define PTE_A   (1ull << 5)                  /* accessed (the CPU sets it) */
#define PTE_D   (1ull << 6)                  /* dirty (the CPU sets it on a write) */
#define PTE_PS  (1ull << 7)                  /* a 2 MiB page, in a PD entry */
#define PTE_NX  (1ull << 63)                 /* no execute */
#define PTE_ADDR 0x000ffffffffff000ull        /* bits 51..12: the next table or the page */

#define PF_PRESENT (1ull << 0)
#define PF_WRITE   (1ull << 1)
#define PF_USER    (1ull << 2)
#define PF_FETCH   (1ull << 4)

#define PROT_READ  1
#define PROT_WRITE 2
#define PROT_EXEC  4
#define VMA_SHARED 1

/* What kernel_find_vma fills in: the VMA containing an address. */
struct emu_vma {
    uint64_t start, end;      /* [start, end), page-aligned */
    uint64_t prot;            /* PROT_READ | PROT_WRITE | PROT_EXEC */
    uint64_t flags;           /* VMA_SHARED */
};

/* Kernel services, reached by `call` (the C calling convention; only rax changes). */
uint64_t kernel_alloc_frame(void);                 /* a zeroed 4 KiB frame's paddr, or 0 */
long     kernel_free_frame(uint64_t paddr);        /* 0, or -1: not a frame in use */
long     kernel_find_vma(uint64_t vaddr, struct emu_vma *out);   /* 1 found, 0 none */
long     kernel_signal(long signo);                /* to the current process */
long     kernel_log(const char *text);             /* a line on stderr: [kernel] text */
long     kernel_frame_refs(uint64_t paddr);        /* references to a frame; 0: not in use */
/* The built-in kernel's demand paging for a page that is not present (a zeroed
 * frame, a shared mapping's page, the program's file page), as if no handler were
 * loaded: 0 mapped, 1 refused (no VMA, an access it does not allow, or the page is
 * present: it never does copy-on-write). A lab may withhold it (the lazy lab). */
long     kernel_demand_page(uint64_t vaddr, uint64_t error);

static inline void *phys_to_virt(uint64_t pa) { return (void *)(DIRECT_MAP + pa); }

static inline void invlpg(uint64_t address) {
    __asm__ volatile("invlpg (%0)" : : "r"(address) : "memory");
}

static inline uint64_t read_cr3(void) {
    uint64_t root;
    __asm__ volatile("mov %%cr3, %0" : "=r"(root));
    return root;
}

#endif

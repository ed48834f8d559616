/* pie.c -- self-relocation for the lab program, built as a static PIE.
 *
 * The lab lays the program out as a 64-bit grader does: a PIE at
 * 0x555555554000 (Linux without address randomisation, as under gdb) with its
 * heap right after it, above 4 GiB, so a pointer kept in an int loses its top
 * bits here too. A static PIE must apply its own R_X86_64_RELATIVE
 * relocations before any code reads a pointer initialised in data (musl's
 * rcrt1 does this in _dlstart); the freestanding runtime has no such start,
 * so the driver's main() calls lab_relocate() first. The build defines
 * LAB_PIE (zig's clang does not always define __PIE__ for -fPIE).
 *
 * Everything here is reached RIP-relative (hidden symbols): it must work
 * before the relocations it applies.
 */
#if defined(LAB_PIE) && !defined(LAB_NATIVE)
#include <stddef.h>
#include <stdint.h>

enum { DT_NULL = 0, DT_RELA = 7, DT_RELASZ = 8, R_X86_64_RELATIVE = 8 };

struct dyn { int64_t tag; uint64_t value; };
struct rela { uint64_t offset, info; int64_t addend; };

extern const struct dyn _DYNAMIC[] __attribute__((visibility("hidden")));
extern const char __ehdr_start[] __attribute__((visibility("hidden")));   /* the load base */

void lab_relocate(void)
{
    uintptr_t base = (uintptr_t)__ehdr_start;
    const struct rela *rela = 0;
    size_t bytes = 0;
    for (const struct dyn *d = _DYNAMIC; d->tag != DT_NULL; d++) {
        if (d->tag == DT_RELA)
            rela = (const struct rela *)(base + d->value);
        else if (d->tag == DT_RELASZ)
            bytes = d->value;
    }
    for (size_t i = 0; rela && i < bytes / sizeof *rela; i++) {
        if ((uint32_t)rela[i].info == R_X86_64_RELATIVE)
            *(uint64_t *)(base + rela[i].offset) = base + rela[i].addend;
    }
}
#else
void lab_relocate(void) {}           /* linked at its addresses: nothing to do */
#endif

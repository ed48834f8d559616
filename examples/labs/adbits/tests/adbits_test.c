/* adbits_test.c -- the adbits lab's test program: it touches pages and asks your
 * system calls which of them were accessed or written.
 *
 *   adbits_test MODE BASE LOW OP...
 *
 * The region it works on starts at BASE (hex): LOW pages of 4 KiB, then the 2 MiB
 * page at BASE + LOW * 4096, whose 512 pieces of 4 KiB are pages LOW .. LOW + 511:
 *
 *     page 0        page LOW-1  page LOW                       page LOW+511
 *     +----+----+ .. +----+----+-----------------------------------------+
 *     | 4K | 4K |    | 4K | 4K |     one 2 MiB page (a PD entry with PS)  |
 *     +----+----+ .. +----+----+-----------------------------------------+
 *     BASE                     BASE + LOW * 4096 (2 MiB aligned)
 *
 * MODE "huge": the grader (emu lab check, emu lab repro) has mapped the 2 MiB
 * page before the program starts. MODE "4k": there is none (plain emu run), so
 * the program maps 512 pages of 4 KiB there instead.
 *
 * OPs, done in order:
 *   rN       read a byte of page N            wN       write a byte of page N
 *   aS:C     sys_pgaccess(BASE + S * 4096, C, bitmap)      (S may be negative)
 *   dS:C     sys_pgdirty(BASE + S * 4096, C, bitmap)
 *   aS+O:C   the same, O bytes past the page (an unaligned address)
 * Before each call every byte of `bitmap` (and the guard bytes after it) holds
 * 0x5a; after it, adbits_check() gets the call's number, result and bitmap (the
 * grader stops there to read them) and the line below is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "emu_syscall.h"

#define SYS_PGACCESS 451
#define SYS_PGDIRTY 452
#define PAGE 4096L
#define HUGE_PAGES 512L
#define BITMAP_BYTES 64                    /* 512 pages, the largest limit */
#define GUARD_BYTES 16
#define POISON 0x5a

unsigned char bitmap[BITMAP_BYTES + GUARD_BYTES];

/* The grader's stop after every call: what the call returned and wrote. */
__attribute__((noinline)) void adbits_check(long index, long number, long result,
                                            unsigned char *map, long bytes) {
    __asm__ volatile("" : : "r"(index), "r"(number), "r"(result), "r"(map), "r"(bytes)
                     : "memory");
}

static void touch(char *base, long page, int write) {
    volatile char *at = base + page * PAGE + (page * 8) % PAGE;
    if (write)
        *at = (char)page;
    else
        (void)*at;
}

static long call(long number, char *va, long pages) {
    memset(bitmap, POISON, sizeof bitmap);
    return emu_syscall3(number, va, pages, bitmap);
}

static void report(long index, long number, long start, long offset, long pages,
                   long result) {
    long bytes = pages > 0 ? (pages + 7) / 8 : 0;
    if (bytes > BITMAP_BYTES + GUARD_BYTES)
        bytes = BITMAP_BYTES + GUARD_BYTES;
    adbits_check(index, number, result, bitmap, bytes);
    printf("%ld %s(page %ld", index, number == SYS_PGACCESS ? "pgaccess" : "pgdirty", start);
    if (offset)
        printf(" + %ld bytes", offset);
    printf(", %ld) = %ld", pages, result);
    if (result == 0) {
        printf(" bitmap");
        for (long i = 0; i < bytes; i++)
            printf(" %02x", bitmap[i]);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: adbits_test huge|4k BASE LOW OP...\n");
        return 2;
    }
    int huge = strcmp(argv[1], "huge") == 0;
    char *base = (char *)strtoul(argv[2], 0, 16);
    long low = strtol(argv[3], 0, 10);
    long span = low * PAGE + (huge ? 0 : HUGE_PAGES * PAGE);
    if (mmap(base, span, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != base) {
        fprintf(stderr, "adbits_test: cannot map the region at %p\n", (void *)base);
        return 2;
    }
    long calls = 0;
    for (int i = 4; i < argc; i++) {
        char *op = argv[i], *rest;
        long page = strtol(op + 1, &rest, 10), offset = 0;
        if (op[0] == 'r' || op[0] == 'w') {
            touch(base, page, op[0] == 'w');
            continue;
        }
        if (*rest == '+')
            offset = strtol(rest + 1, &rest, 10);
        long pages = *rest == ':' ? strtol(rest + 1, 0, 10) : 1;
        long number = op[0] == 'a' ? SYS_PGACCESS : SYS_PGDIRTY;
        long result = call(number, base + page * PAGE + offset, pages);
        report(calls++, number, page, offset, pages, result);
    }
    return 0;
}

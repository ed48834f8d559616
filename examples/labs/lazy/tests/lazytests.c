/* lazytests.c -- the lazy lab's scenarios, one per run (xv6's lazytests and
 * Pintos' pt-grow tests in spirit). The grader builds this file and runs
 *
 *     lazytests SCENARIO SEED [N]
 *
 * under your os_page_fault, and under the reference handler, and compares:
 * the exit status, what it printed, the page faults, the pages mapped, and
 * that every frame came back after the exit. The README lists the public
 * runs of your variant; the hidden ones use other seeds.
 *
 *   heap      SEED N       N sbrk calls of seeded sizes, seeded writes, then
 *                          sums what it wrote and what it never wrote (zeros)
 *   sparse    SEED N       one big mmap, N seeded pages read or written
 *   stack     SEED PAGES   recursion that uses about PAGES pages of stack
 *   mprotect  SEED N       write some of N pages, mprotect them read-only, read
 *                          them all, then write a page never touched: must die
 *   munmap    SEED N       write N pages, munmap some, touch one: must die
 *   dontneed  SEED N       write N pages, MADV_DONTNEED some: they read zeros
 *   nx        SEED N       write a `ret` into data and call it: must die
 *   wild      SEED N       write N pages of a mapping, then read past its end:
 *                          no mapping covers that address, must die
 *
 * Lines go out with write(2) as they are made, so a run that dies still
 * shows what it did first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096L

static unsigned long lcg_state;

static unsigned long next(void) {           /* Knuth's MMIX LCG: the same everywhere */
    lcg_state = lcg_state * 6364136223846793005UL + 1442695040888963407UL;
    return lcg_state >> 33;
}

static void say(const char *format, long a, long b, long c) {
    char line[160];
    int length = snprintf(line, sizeof line, format, a, b, c);
    write(1, line, length);
}

static char *area(long pages) {
    char *p = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        say("mmap of %ld pages failed\n", pages, 0, 0);
        exit(2);
    }
    return p;
}

static int heap(long n) {
    char *blocks[64];
    long sizes[64], written = 0, zeros = 0;
    if (n > 64) n = 64;
    char *start = sbrk(0);
    for (long i = 0; i < n; i++) {
        sizes[i] = 1 + next() % (3 * PAGE);
        blocks[i] = sbrk(sizes[i]);
        if (blocks[i] == (char *)-1) {
            say("sbrk(%ld) failed at call %ld\n", sizes[i], i, 0);
            return 2;
        }
    }
    for (long i = 0; i < n; i++)
        if (next() % 3 == 0)                     /* a third of the blocks are written */
            for (long j = 0; j < sizes[i]; j += 1 + next() % 2048) {
                blocks[i][j] = (char)(i + j);
                written += (unsigned char)(i + j);
            }
    long sum = 0;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < sizes[i]; j += 512)
            sum += (unsigned char)blocks[i][j];
    for (long i = 0; i < n; i++)
        zeros += blocks[i][sizes[i] - 1] == 0 || blocks[i][sizes[i] - 1] == (char)(i + sizes[i] - 1);
    say("heap: %ld bytes in %ld blocks, sum %ld", (char *)sbrk(0) - start, n, sum);
    say(", written %ld, %ld ends as expected\n", written, zeros, 0);
    return 0;
}

static int sparse(long n) {
    long pages = 512, sum = 0;
    char *p = area(pages);
    for (long i = 0; i < n; i++) {
        long page = next() % pages, offset = next() % PAGE;
        if (next() % 2)
            p[page * PAGE + offset] = (char)(1 + i);
        else
            sum += p[page * PAGE + offset];
    }
    say("sparse: %ld touches of %ld pages, sum %ld\n", n, pages, sum);
    return 0;
}

static long recurse(long depth, volatile char *caller) {
    volatile char frame[1000];                  /* about a quarter page per call */
    frame[0] = (char)depth;
    frame[999] = (char)(caller[0] * 31 + 7);    /* the callee sees this frame: it stays */
    if (depth == 0) return frame[0] + frame[999];
    long below = recurse(depth - 1, frame);
    return below + frame[0] + frame[999];
}

static int stack(long pages) {
    long depth = pages * PAGE / 1100;
    say("stack: %ld calls deep\n", depth, 0, 0);
    char salt = (char)next();
    say("stack: sum %ld\n", recurse(depth, &salt), 0, 0);
    return 0;
}

static int protect(long n) {
    char *p = area(n + 1);
    long sum = 0, untouched = n;                 /* page n is never written */
    for (long i = 0; i < n; i++)
        if (next() % 2) p[i * PAGE + 256 * (next() % 16)] = (char)(i + 1);
        else untouched = i;
    if (mprotect(p, (n + 1) * PAGE, PROT_READ) != 0) return 2;
    for (long i = 0; i <= n; i++)
        for (long j = 0; j < PAGE; j += 256) sum += p[i * PAGE + j];
    say("mprotect: read %ld pages, sum %ld; now a write to page %ld\n", n + 1, sum, untouched);
    p[untouched * PAGE + 8] = 1;                 /* must fault: SIGSEGV */
    say("mprotect: the write went through\n", 0, 0, 0);
    return 0;
}

static int unmap(long n) {
    char *p = area(n);
    for (long i = 0; i < n; i++) p[i * PAGE] = (char)i;
    long first = 1 + next() % (n / 2), count = 1 + next() % (n / 2 - 1);
    if (munmap(p + first * PAGE, count * PAGE) != 0) return 2;
    long sum = 0;
    for (long i = 0; i < n; i++)
        if (i < first || i >= first + count) sum += p[i * PAGE];
    long victim = first + next() % count;
    say("munmap: pages %ld+%ld gone, sum %ld", first, count, sum);
    say("; now a read of page %ld\n", victim, 0, 0);
    sum += p[victim * PAGE + 16];                /* must fault: SIGSEGV */
    say("munmap: read %ld from an unmapped page\n", sum, 0, 0);
    return 0;
}

static int dontneed(long n) {
    char *p = area(n);
    long before = 0, after = 0;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < PAGE; j += 512) { p[i * PAGE + j] = (char)(i + j / 512 + 1); before += p[i * PAGE + j]; }
    long first = next() % (n / 2), count = 1 + next() % (n / 2);
    if (madvise(p + first * PAGE, count * PAGE, MADV_DONTNEED) != 0) return 2;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < PAGE; j += 512) after += p[i * PAGE + j];
    say("dontneed: sum %ld before, %ld after dropping pages %ld", before, after, first);
    say("+%ld\n", count, 0, 0);
    return 0;
}

static int execute(long n) {
    char *p = area(n);
    long page = next() % n;
    p[page * PAGE] = (char)0xc3;                 /* ret */
    say("nx: calling a ret on data page %ld\n", page, 0, 0);
    ((void (*)(void))(p + page * PAGE))();       /* must fault: the VMA is not PROT_EXEC */
    say("nx: the data ran\n", 0, 0, 0);
    return 0;
}

static int wild(long n) {
    char *p = area(n);
    long sum = 0;
    for (long i = 0; i < n; i++) p[i * PAGE + next() % PAGE] = 1;
    for (long i = 0; i < n * PAGE; i += 64) sum += p[i];
    long offset = next() % PAGE;
    say("wild: wrote %ld pages (sum %ld); now a read %ld bytes past the end\n", n, sum, offset);
    volatile char *target = p + n * PAGE + offset;   /* nothing is mapped above the first mmap */
    say("wild: read %ld\n", *target, 0, 0);      /* must fault: SIGSEGV */
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        say("usage: lazytests SCENARIO SEED N\n", 0, 0, 0);
        return 2;
    }
    lcg_state = strtoul(argv[2], 0, 0);
    long n = strtol(argv[3], 0, 0);
    const char *s = argv[1];
    if (!strcmp(s, "heap")) return heap(n);
    if (!strcmp(s, "sparse")) return sparse(n);
    if (!strcmp(s, "stack")) return stack(n);
    if (!strcmp(s, "mprotect")) return protect(n);
    if (!strcmp(s, "munmap")) return unmap(n);
    if (!strcmp(s, "dontneed")) return dontneed(n);
    if (!strcmp(s, "nx")) return execute(n);
    if (!strcmp(s, "wild")) return wild(n);
    say("unknown scenario\n", 0, 0, 0);
    return 2;
}

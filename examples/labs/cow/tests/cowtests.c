/* cowtests.c -- the cow lab's scenarios (xv6's cowtest in spirit). The
 * grader builds this file and runs
 *
 *     cowtests SCENARIO SEED N
 *
 * under your os_page_fault and under the reference handler. It does not read
 * what this program prints: at every cow_checkpoint(tag, region, pages) it
 * stops the machine and reads the calling process's memory through its page
 * tables (a digest of the region), the frames in use, and the page-table
 * entries; after the run, every process's exit status and the frames left.
 *
 *   simple    SEED N   a parent fills N pages, forks; the child rewrites half
 *                      of them; the parent must still see its own data
 *   three     SEED N   three children, each rewriting its own share of the pages
 *   pipe      SEED N   one child sends the parent's pages through a pipe to
 *                      another child, which reads them into its copy
 *   loop      SEED N   fork N times in a row; each child writes one page and
 *                      exits: the frames in use must not grow
 *   first     SEED N   the parent writes first, then the child reads the old data
 *   readonly  SEED N   the child writes its pages, then a PROT_READ page: it
 *                      must die (SIGSEGV) and the parent goes on
 *
 * Tags: the parent's checkpoints are 1..99, child k's are 100*k + step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "emu_syscall.h"

#define PAGE 4096L
#define SYS_PIPE 22
#define SYS_FORK 57
#define SYS_EXIT 60
#define SYS_WAIT4 61
#define SYS_CLOSE 3

static unsigned long lcg_state;

static unsigned long next(void) {           /* Knuth's MMIX LCG: the same everywhere */
    lcg_state = lcg_state * 6364136223846793005UL + 1442695040888963407UL;
    return lcg_state >> 33;
}

/* Where the grader looks. noinline and a memory clobber: the stores before a
 * call are in memory when it runs. */
__attribute__((noinline)) void cow_checkpoint(long tag, char *region, long pages) {
    __asm__ volatile("" : : "r"(tag), "r"(region), "r"(pages) : "memory");
}

static long fork_(void) { return emu_syscall1(SYS_FORK, 0); }
static void close(int fd) { emu_syscall1(SYS_CLOSE, fd); }
static void exit_(long code) { emu_syscall1(SYS_EXIT, code); }
static long wait_(void) {
    int status = 0;
    emu_syscall6(SYS_WAIT4, -1, (long)&status, 0, 0, 0, 0);
    return status;
}

static char *region(long pages) {
    char *p = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) exit_(2);
    return p;
}

static void fill(char *p, long pages, char salt) {   /* every 256th byte of every page */
    for (long i = 0; i < pages * PAGE; i += 256) p[i] = (char)(salt + i / 256);
}

static void rewrite(char *p, long pages, long share, long shares, char salt) {
    for (long page = 0; page < pages; page++)
        if (page % shares == share && next() % 4)    /* three in four of its share */
            p[page * PAGE + 8 * (next() % 512)] = salt;
}

static int simple(long n) {
    char *p = region(n);
    fill(p, n, 'P');
    if (fork_() == 0) {
        cow_checkpoint(100, p, n);
        rewrite(p, n, 0, 2, 'c');
        cow_checkpoint(101, p, n);
        exit_(0);
    }
    wait_();
    cow_checkpoint(1, p, n);                      /* the child's writes are not here */
    fill(p, n, 'Q');                              /* the last reference: no copies */
    cow_checkpoint(2, p, n);
    return 0;
}

static int three(long n) {
    char *p = region(n);
    fill(p, n, 'T');
    for (long k = 1; k <= 3; k++)
        if (fork_() == 0) {
            cow_checkpoint(100 * k, p, n);
            rewrite(p, n, k - 1, 3, (char)('0' + k));
            cow_checkpoint(100 * k + 1, p, n);
            exit_(k);
        }
    for (int k = 0; k < 3; k++) wait_();
    cow_checkpoint(1, p, n);
    fill(p, n, 'U');
    cow_checkpoint(2, p, n);
    return 0;
}

static int pipe_through(long n) {
    char *p = region(n);
    int fds[2];
    fill(p, n, 'S');
    if (emu_syscall1(SYS_PIPE, fds) != 0) return 2;
    if (fork_() == 0) {                           /* the sender: its copy, rewritten */
        close(fds[0]);
        rewrite(p, n, 0, 1, 's');
        cow_checkpoint(100, p, n);
        for (long page = 0; page < n; page++) write(fds[1], p + page * PAGE, PAGE);
        exit_(0);
    }
    if (fork_() == 0) {                           /* the receiver: into its copy */
        close(fds[1]);
        for (long page = 0; page < n; page++) {
            p[page * PAGE + 16] = 'r';            /* a write fault first: a copy */
            long got = 0;
            while (got < PAGE) {
                long r = read(fds[0], p + page * PAGE + got, PAGE - got);
                if (r <= 0) exit_(3);
                got += r;
            }
        }
        cow_checkpoint(200, p, n);                /* the sender's pages, exactly */
        exit_(0);
    }
    close(fds[0]);
    close(fds[1]);
    wait_();
    wait_();
    cow_checkpoint(1, p, n);                      /* the parent's own, untouched */
    return 0;
}

static int loop(long n) {
    long pages = 16;
    char *p = region(pages);
    fill(p, pages, 'L');
    for (long i = 0; i < n; i++) {
        if (fork_() == 0) {
            p[(i % pages) * PAGE + 32] = (char)i;
            exit_(0);
        }
        wait_();
        cow_checkpoint(1 + i % 90, p, pages);     /* frames in use stay flat */
    }
    return 0;
}

static int first(long n) {
    char *p = region(n);
    fill(p, n, 'F');
    long child = fork_();
    if (child == 0) {
        for (volatile long spin = 0; spin < 200000; spin++) {}   /* the parent goes first */
        cow_checkpoint(100, p, n);                /* still the old data */
        exit_(0);
    }
    fill(p, n, 'G');                              /* copies: the child holds the old frames */
    cow_checkpoint(1, p, n);
    wait_();
    cow_checkpoint(2, p, n);
    return 0;
}

static int readonly(long n) {
    char *p = region(n);
    char *ro = mmap(0, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(p, n, 'R');
    long sum = ro[100];                           /* present, read-only */
    if (fork_() == 0) {
        rewrite(p, n, 0, 1, 'w');
        cow_checkpoint(100, p, n);
        ro[8] = (char)sum;                        /* must die: SIGSEGV */
        cow_checkpoint(101, p, n);
        exit_(0);
    }
    wait_();
    cow_checkpoint(1, p, n);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        printf("usage: cowtests SCENARIO SEED N\n");
        return 2;
    }
    lcg_state = strtoul(argv[2], 0, 0);
    long n = strtol(argv[3], 0, 0);
    const char *s = argv[1];
    if (!strcmp(s, "simple")) return simple(n);
    if (!strcmp(s, "three")) return three(n);
    if (!strcmp(s, "pipe")) return pipe_through(n);
    if (!strcmp(s, "loop")) return loop(n);
    if (!strcmp(s, "first")) return first(n);
    if (!strcmp(s, "readonly")) return readonly(n);
    printf("unknown scenario %s\n", s);
    return 2;
}

/* fork_heap.c -- for bench/fork_bench.py. Touches a heap of MIB MiB, then forks
 * FORKS children that exit at once (the cost of fork and exit), then one child
 * that writes every page (copy-on-write faults). Usage: fork_heap MIB FORKS WRITE */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long mib = atol(argv[1]), forks = atol(argv[2]), write_all = atol(argv[3]);
    long pages = (mib << 20) / 4096;
    volatile char *heap = malloc(mib << 20);
    for (long p = 0; p < pages; p++) heap[p * 4096] = 1;
    for (long i = 0; i < forks; i++) {
        pid_t child = fork();
        if (child == 0) _exit(0);
        waitpid(child, NULL, 0);
    }
    if (write_all) {
        pid_t child = fork();
        if (child == 0) {
            for (long p = 0; p < pages; p++) heap[p * 4096] = 2;
            _exit(0);
        }
        waitpid(child, NULL, 0);
    }
    printf("%ld pages\n", pages);
    return 0;
}

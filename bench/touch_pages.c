/* touch_pages.c -- for bench/fork_bench.py: map MIB MiB and write one byte of every page. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    long size = atol(argv[1]) << 20;
    volatile char *area = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (long at = 0; at < size; at += 4096) area[at] = 1;
    printf("%ld pages\n", size / 4096);
    return 0;
}

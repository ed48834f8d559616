/* faults.c -- the page-fault workload of `make bench`: map MIB MiB of anonymous
 * memory, write one byte of every 4 KiB page (one demand fault each), unmap it;
 * ROUNDS times. Prints the page count so the runs can be compared. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 256;
    int rounds = argc > 2 ? atoi(argv[2]) : 2;
    long size = mib << 20, touched = 0;
    for (int round = 0; round < rounds; round++) {
        volatile char *area = mmap(0, size, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED)
            return 1;
        for (long at = 0; at < size; at += 4096, touched++)
            area[at] = 1;
        munmap((void *)area, size);
    }
    printf("%d x %ld MiB, %ld pages touched\n", rounds, mib, touched);
    return 0;
}

/* stores.c -- the stores workload of `make bench`: memset and memcpy over two
 * MIB-MiB buffers, PASSES times, so libc's bulk-store routines (whichever
 * the CPU's features make it pick) dominate. The first pass also faults every
 * page in. Prints a checksum of a few bytes so the runs can be compared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 64;
    int passes = argc > 2 ? atoi(argv[2]) : 4;
    size_t size = (size_t)mib << 20;
    unsigned char *a = malloc(size), *b = malloc(size);
    unsigned long checksum = 0;
    if (!a || !b)
        return 1;
    for (int pass = 0; pass < passes; pass++) {
        memset(a, 0x41 + pass, size);
        a[(size_t)pass * 4099 % size] = (unsigned char)pass;
        memcpy(b, a, size);
        for (size_t at = 0; at < size; at += size / 16)
            checksum += b[at + pass];
    }
    printf("%ld MiB x %d passes, checksum %lu\n", mib, passes, checksum);
    return 0;
}

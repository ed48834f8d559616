/* hash.c -- the compute workload of `make bench`: a multiply-xor hash loop that
 * stays in registers (no loads or stores, no system calls). Prints the hash so
 * the runs can be checked against each other. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 100000000;
    unsigned long h = 0xcbf29ce484222325UL;          /* FNV-1a's offset basis */
    for (long i = 0; i < rounds; i++) {
        h ^= (unsigned long)i;
        h *= 0x100000001b3UL;                        /* FNV's prime */
        h ^= h >> 29;
    }
    printf("%ld rounds, hash %016lx\n", rounds, h);
    return 0;
}

/* churn.c -- a deterministic malloc/free/realloc churn for `make bench`.
 * Prints a checksum so the runs can be checked against each other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 200000;
    char *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    unsigned long state = 12345, checksum = 0;
    for (long i = 0; i < ops; i++) {
        state = state * 6364136223846793005UL + 1442695040888963407UL;
        int k = (int)(state >> 33) % SLOTS;
        size_t want = (state >> 20) % 1024 + 1;
        if ((state >> 45) % 8 == 0)
            want *= 64;                         /* now and then a big one */
        if (slot[k] && (state >> 50) % 2) {
            checksum += (unsigned char)slot[k][size[k] - 1];
            free(slot[k]);
            slot[k] = 0;
        } else if (slot[k]) {
            slot[k] = realloc(slot[k], want);
            size[k] = want;
            slot[k][want - 1] = (char)i;
        } else {
            slot[k] = malloc(want);
            size[k] = want;
            memset(slot[k], (int)i, want < 64 ? want : 64);
            slot[k][want - 1] = (char)i;
        }
    }
    for (int k = 0; k < SLOTS; k++)
        free(slot[k]);
    printf("%ld ops, checksum %lu\n", ops, checksum);
    return 0;
}

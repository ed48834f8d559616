/* emu run: --libc musl -- 100    exit: 7
 * mallocfun.c -- malloc, free, realloc and printf from a real libc.
 *
 * Built with gcc -static (glibc) or zig cc -static (musl), it prints the same
 * thing natively and under `emu run`: the acceptance test compares the two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    char *words[64] = {0};
    unsigned long checksum = 0;
    for (int i = 0; i < rounds; i++) {
        int slot = (i * 37) % 64;
        size_t size = (size_t)(i * 131) % 3000 + 1;
        if (words[slot] && i % 3 == 0) {
            words[slot] = realloc(words[slot], size);
        } else {
            free(words[slot]);
            words[slot] = malloc(size);
        }
        memset(words[slot], 'a' + i % 26, size);
        checksum = checksum * 31 + (unsigned char)words[slot][size - 1] + size;
    }
    char *big = malloc(1 << 20);            /* past the mmap threshold in both libcs */
    snprintf(big, 64, "%d rounds", rounds);
    printf("%s, checksum %lu\n", big, checksum);
    free(big);
    for (int i = 0; i < 64; i++)
        free(words[i]);
    printf("argv[1]=%s done\n", argc > 1 ? argv[1] : "(none)");
    return 7;
}

/* syscalls.c -- for `make bench`: COUNT getppid() system calls, which do no work
 * in any kernel, so the time per call is the cost of entering and leaving it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 100000, sum = 0;
    for (long i = 0; i < count; i++)
        sum += syscall(SYS_getppid);
    printf("%ld calls, sum %ld\n", count, sum > 0);
    return 0;
}

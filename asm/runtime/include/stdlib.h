/* stdlib.h -- the freestanding runtime. There is no malloc here: allocators
 * (examples/allocators/) provide mm_malloc and friends on top of mem_sbrk. */
#ifndef _EMU_STDLIB_H
#define _EMU_STDLIB_H
#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
#define RAND_MAX 0x7fffffff

void exit(int status) __attribute__((noreturn));
void _Exit(int status) __attribute__((noreturn));
void abort(void) __attribute__((noreturn));
int atexit(void (*fn)(void));
int atoi(const char *s);
long atol(const char *s);
long strtol(const char *s, char **end, int base);
unsigned long strtoul(const char *s, char **end, int base);
long long strtoll(const char *s, char **end, int base);
unsigned long long strtoull(const char *s, char **end, int base);
int abs(int x);
long labs(long x);
int rand(void);
void srand(unsigned seed);
void *malloc(size_t size);           /* not provided: link an allocator */
void free(void *p);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
#endif

#ifndef _EMU_UNISTD_H
#define _EMU_UNISTD_H
#include <stddef.h>
#include <stdint.h>
typedef long ssize_t;
typedef long off_t;
ssize_t write(int fd, const void *buf, size_t n);
ssize_t read(int fd, void *buf, size_t n);
void _exit(int status) __attribute__((noreturn));
int brk(void *addr);
void *sbrk(intptr_t incr);
int getpagesize(void);
#endif

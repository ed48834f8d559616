/* libc.c -- the freestanding runtime: a small libc over raw system calls.
 *
 * Just enough for allocator experiments and lab programs: process start and
 * exit, write/read, brk/sbrk/mmap, the string functions the compiler may call,
 * number parsing, a reproducible rand(), and printf without floating point.
 * Built with -ffreestanding, so the compiler does not turn printf into puts
 * behind our back; it may still emit calls to memcpy and memset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "emu_syscall.h"
#include "include/errno.h"
#include "include/stdio.h"
#include "include/stdlib.h"
#include "include/string.h"
#include "include/sys/mman.h"
#include "include/unistd.h"

int errno;
char **environ;

static long check(long ret)
{
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}

/* -- start and exit ------------------------------------------------------- */

int main(int argc, char **argv, char **envp);

#define MAX_ATEXIT 32
static void (*atexit_fns[MAX_ATEXIT])(void);
static int atexit_count;

int atexit(void (*fn)(void))
{
    if (atexit_count == MAX_ATEXIT)
        return -1;
    atexit_fns[atexit_count++] = fn;
    return 0;
}

void __emu_start(long *sp) __attribute__((noreturn, used));
void __emu_start(long *sp)
{
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    environ = argv + argc + 1;
    exit(main(argc, argv, environ));
}

void _exit(int status)
{
    for (;;)
        emu_syscall1(EMU_SYS_exit_group, status);
}

void _Exit(int status) { _exit(status); }

void exit(int status)
{
    while (atexit_count > 0)
        atexit_fns[--atexit_count]();
    fflush(stdout);
    _exit(status);
}

void abort(void)
{
    fflush(stdout);
    fputs("abort() called\n", stderr);
    _exit(134);
}

void __assert_fail(const char *expr, const char *file, unsigned line, const char *func)
{
    fflush(stdout);
    fprintf(stderr, "%s:%u: %s: assertion '%s' failed\n", file, line, func, expr);
    _exit(134);
}

/* -- system calls ---------------------------------------------------------- */

ssize_t write(int fd, const void *buf, size_t n) { return check(emu_syscall3(EMU_SYS_write, fd, buf, n)); }
ssize_t read(int fd, void *buf, size_t n) { return check(emu_syscall3(EMU_SYS_read, fd, buf, n)); }
int getpagesize(void) { return 4096; }

static char *current_brk;

int brk(void *addr)
{
    char *got = (char *)emu_syscall1(EMU_SYS_brk, addr);
    current_brk = got;
    if (got != addr) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void *sbrk(intptr_t incr)
{
    if (current_brk == 0)
        current_brk = (char *)emu_syscall1(EMU_SYS_brk, 0);
    char *old = current_brk;
    if (incr != 0 && brk(old + incr) != 0)
        return (void *)-1;
    return old;
}

/* Told about every successful mmap/munmap/mremap, when set: the malloc lab's
 * driver watches the mappings an allocator makes (kind 1 = mapped, 2 = unmapped). */
void (*emu_mmap_observer)(void *addr, size_t len, int kind);

static void observe(void *addr, size_t len, int kind)
{
    if (emu_mmap_observer)
        emu_mmap_observer(addr, len, kind);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
    long ret = emu_syscall6(EMU_SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
    if (check(ret) == -1)
        return MAP_FAILED;
    observe((void *)ret, len, 1);
    return (void *)ret;
}

int munmap(void *addr, size_t len)
{
    int ret = (int)check(emu_syscall2(EMU_SYS_munmap, addr, len));
    if (ret == 0)
        observe(addr, len, 2);
    return ret;
}
int mprotect(void *addr, size_t len, int prot) { return (int)check(emu_syscall3(EMU_SYS_mprotect, addr, len, prot)); }
int madvise(void *addr, size_t len, int advice) { return (int)check(emu_syscall3(EMU_SYS_madvise, addr, len, advice)); }

void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    void *new_addr = (flags & MREMAP_FIXED) ? va_arg(ap, void *) : 0;
    va_end(ap);
    long ret = emu_syscall6(EMU_SYS_mremap, (long)old, (long)old_len, (long)new_len, flags,
                            (long)new_addr, 0);
    if (check(ret) == -1)
        return MAP_FAILED;
    observe(old, old_len, 2);
    observe((void *)ret, new_len, 1);
    return (void *)ret;
}

/* -- memory and strings ----------------------------------------------------
 * no_builtin keeps the compiler from turning these loops back into calls to
 * themselves. */

__attribute__((no_builtin))
void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

__attribute__((no_builtin))
void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

__attribute__((no_builtin))
void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    if (dp < sp) {
        while (n--)
            *dp++ = *sp++;
    } else {
        while (n--)
            dp[n] = sp[n];
    }
    return d;
}

__attribute__((no_builtin))
int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}

char *strcpy(char *restrict d, const char *restrict s)
{
    char *r = d;
    while ((*d++ = *s++))
        ;
    return r;
}

char *strncpy(char *restrict d, const char *restrict s, size_t n)
{
    size_t i = 0;
    for (; i < n && s[i]; i++)
        d[i] = s[i];
    for (; i < n; i++)
        d[i] = 0;
    return d;
}

char *strcat(char *restrict d, const char *restrict s)
{
    strcpy(d + strlen(d), s);
    return d;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return 0;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = 0;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}

/* -- numbers --------------------------------------------------------------- */

unsigned long long strtoull(const char *s, char **end, int base)
{
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    int negative = 0;
    if (*s == '+' || *s == '-')
        negative = *s++ == '-';
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = s[0] == '0' ? 8 : 10;
    }
    unsigned long long value = 0;
    for (;; s++) {
        int digit;
        if (*s >= '0' && *s <= '9')
            digit = *s - '0';
        else if (*s >= 'a' && *s <= 'z')
            digit = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'Z')
            digit = *s - 'A' + 10;
        else
            break;
        if (digit >= base)
            break;
        value = value * base + digit;
    }
    if (end)
        *end = (char *)s;
    return negative ? -value : value;
}

long long strtoll(const char *s, char **end, int base) { return (long long)strtoull(s, end, base); }
unsigned long strtoul(const char *s, char **end, int base) { return strtoull(s, end, base); }
long strtol(const char *s, char **end, int base) { return (long)strtoull(s, end, base); }
int atoi(const char *s) { return (int)strtol(s, 0, 10); }
long atol(const char *s) { return strtol(s, 0, 10); }
int abs(int x) { return x < 0 ? -x : x; }
long labs(long x) { return x < 0 ? -x : x; }

static unsigned long long rand_state = 1;
void srand(unsigned seed) { rand_state = seed; }
int rand(void)
{
    rand_state = rand_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)(rand_state >> 33);
}

/* -- output ----------------------------------------------------------------- */

struct emu_file {
    int fd;
    int line_buffered;
    size_t used;
    char buf[1024];
};

static struct emu_file files[3] = {{0, 0, 0, {0}}, {1, 1, 0, {0}}, {2, 0, 0, {0}}};
FILE *const stdin = &files[0];
FILE *const stdout = &files[1];
FILE *const stderr = &files[2];

int fflush(FILE *f)
{
    if (f == 0)
        return fflush(stdout);
    size_t done = 0;
    while (done < f->used) {
        ssize_t n = write(f->fd, f->buf + done, f->used - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    f->used = 0;
    return 0;
}

int fputc(int c, FILE *f)
{
    f->buf[f->used++] = (char)c;
    if (f->used == sizeof f->buf || f->fd == 2 || (f->line_buffered && c == '\n'))
        fflush(f);
    return (unsigned char)c;
}

int putchar(int c) { return fputc(c, stdout); }

int fputs(const char *s, FILE *f)
{
    while (*s)
        fputc(*s++, f);
    return 0;
}

int puts(const char *s)
{
    fputs(s, stdout);
    return fputc('\n', stdout);
}

int getchar(void)
{
    unsigned char c;
    return read(0, &c, 1) == 1 ? c : EOF;
}

/* The formatter writes through a sink: a FILE or a bounded buffer. */
struct sink {
    FILE *file;
    char *buf;
    size_t cap, len;
};

static void emit(struct sink *s, char c)
{
    if (s->file)
        fputc(c, s->file);
    else if (s->len + 1 < s->cap)
        s->buf[s->len] = c;
    s->len++;
}

static void emit_padded(struct sink *s, const char *text, size_t len, int width, int left, char pad)
{
    int fill = width > (int)len ? width - (int)len : 0;
    if (!left && pad == '0' && len && (text[0] == '-' || text[0] == '+' || text[0] == ' ')) {
        emit(s, *text++);
        len--;
    }
    if (!left)
        while (fill--)
            emit(s, pad);
    while (len--)
        emit(s, *text++);
    if (left)
        while (fill-- > 0)
            emit(s, ' ');
}

static int format(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            emit(s, *fmt);
            continue;
        }
        int left = 0, plus = 0, space = 0, alt = 0, width = 0, precision = -1, size = 0;
        char pad = ' ';
        for (;; fmt++) {
            if (fmt[1] == '-') left = 1;
            else if (fmt[1] == '0') pad = '0';
            else if (fmt[1] == '+') plus = 1;
            else if (fmt[1] == ' ') space = 1;
            else if (fmt[1] == '#') alt = 1;
            else break;
        }
        fmt++;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            precision = 0;
            if (*fmt == '*') {
                precision = va_arg(ap, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    precision = precision * 10 + (*fmt++ - '0');
            }
        }
        while (*fmt == 'l' || *fmt == 'h' || *fmt == 'z' || *fmt == 'j' || *fmt == 't') {
            if (*fmt == 'l' || *fmt == 'z' || *fmt == 'j' || *fmt == 't')
                size = 1;
            fmt++;
        }
        char tmp[72];
        char *end = tmp + sizeof tmp, *p = end;
        unsigned long long u = 0;
        int negative = 0, base = 10, upper = 0;
        switch (*fmt) {
        case '%':
            emit(s, '%');
            continue;
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            emit_padded(s, tmp, 1, width, left, ' ');
            continue;
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            size_t len = strlen(str);
            if (precision >= 0 && (size_t)precision < len)
                len = (size_t)precision;
            emit_padded(s, str, len, width, left, ' ');
            continue;
        }
        case 'd':
        case 'i': {
            long long v = size ? va_arg(ap, long) : va_arg(ap, int);
            negative = v < 0;
            u = negative ? -(unsigned long long)v : (unsigned long long)v;
            break;
        }
        case 'u':
            u = size ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            break;
        case 'X':
            upper = 1;
            /* fall through */
        case 'x':
            base = 16;
            u = size ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            break;
        case 'o':
            base = 8;
            u = size ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            break;
        case 'p':
            base = 16;
            alt = 1;
            u = (uintptr_t)va_arg(ap, void *);
            break;
        default:          /* unsupported conversion: show it as written */
            emit(s, '%');
            emit(s, *fmt);
            continue;
        }
        const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
        do {
            *--p = digits[u % base];
            u /= base;
        } while (u);
        while (precision > 0 && end - p < precision)
            *--p = '0';
        if (alt && base == 16)
            *--p = upper ? 'X' : 'x', *--p = '0';
        if (negative)
            *--p = '-';
        else if (plus)
            *--p = '+';
        else if (space)
            *--p = ' ';
        emit_padded(s, p, (size_t)(end - p), width, left, precision >= 0 ? ' ' : pad);
    }
    return (int)s->len;
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    struct sink s = {f, 0, 0, 0};
    return format(&s, fmt, ap);
}

int vprintf(const char *fmt, va_list ap) { return vfprintf(stdout, fmt, ap); }

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct sink s = {0, buf, n, 0};
    int len = format(&s, fmt, ap);
    if (n)
        buf[s.len < n ? s.len : n - 1] = 0;
    return len;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vprintf(fmt, ap);
    va_end(ap);
    return r;
}

int fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

int sprintf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, (size_t)-1 >> 1, fmt, ap);
    va_end(ap);
    return r;
}

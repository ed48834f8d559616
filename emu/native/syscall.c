/* syscall.c -- the `syscall` instruction's hook in C (built by emu/hostlib.py).
 *
 * The kernel is Python, so every system call ends there; this hook makes the
 * crossing one call. On `syscall` Unicorn calls emu_syscall_hook(), which
 * reads the registers of the call into `in` with one uc_reg_read_batch:
 *
 *     in[0..8] = rax, rdi, rsi, rdx, r10, r8, r9, rip, rflags
 *
 * then calls the kernel (`enter`, a Python function through ctypes). When it
 * returns 1, the call is over and the hook does what the instruction leaves
 * for the return to user mode, with one uc_reg_write_batch:
 *
 *     rax = out[0] (the result), rcx = rip + 2 (the return address),
 *     r11 = rflags
 *
 * 0 means the call does not return now (the process blocks or exits, or a
 * kernel routine takes the call) and no register is written.
 *
 * When `fast` is set (anon_maps.c's emu_fast_syscall) it is offered the call
 * first: 1 means it made the call in C and out[0] is the result.
 *
 * The binding's own hook wrapper and register calls cost ~5 us a call
 * (emu/syscall_entry.py has the Python version, which is the fallback).
 */
#include <stdint.h>

#define SYSCALL_SIZE 2                   /* 0f 05 */

/* Shared with emu/syscall_entry.py (class _Entry): keep the two in step. */
typedef struct {
    void *uc;
    int (*reg_read_batch)(void *uc, int *ids, void **values, int count);
    int (*reg_write_batch)(void *uc, int *ids, void *const *values, int count);
    int (*enter)(void);                  /* the kernel: 1 when out[0] is the result */
    int in_ids[9];
    uint64_t in[9];
    void *in_values[9];                  /* &in[i], for uc_reg_read_batch */
    int out_ids[3];
    uint64_t out[3];                     /* rax, rcx, r11 */
    void *out_values[3];
    uint64_t status;                     /* the last register call's error, or 0 */
    int (*fast)(void *data, const uint64_t *in, uint64_t *result);
    void *fast_data;
} emu_syscall;

void emu_syscall_hook(void *uc, void *data)
{
    emu_syscall *s = data;
    s->status = (uint64_t)s->reg_read_batch(uc, s->in_ids, s->in_values, 9);
    if (s->status) {                     /* the kernel sees the failed read and stops */
        s->enter();
        return;
    }
    if (!(s->fast && s->fast(s->fast_data, s->in, &s->out[0])) && !s->enter())
        return;
    s->out[1] = s->in[7] + SYSCALL_SIZE;
    s->out[2] = s->in[8];
    s->status = (uint64_t)s->reg_write_batch(uc, s->out_ids, s->out_values, 3);
}

# A first session on a failed walk(). Run it with:
#   emu lab repro walk-4k -x tests/walk.gdb
# Each line is an emu debug command; lines starting with # are comments. The session
# starts at walk's first instruction with the failing call's registers.
info registers rdi rsi rdx
# The PML4 index of the address, and the PML4 entry it picks (physical = virtual here):
print/x ($rsi >> 39) & 511
x/gx $rdi + 8 * (($rsi >> 39) & 511)
stepi 12
info registers rax rcx r8 r9
reverse-stepi 4
info registers rax
finish

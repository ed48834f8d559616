# A first debugging session on a failed call. Run it with:
#   emu lab repro dirty -x tests/walkthrough.gdb
# Each line is an emu debug command (gdb's names); lines starting with # are comments.
# The session starts at the first instruction of the call that failed: va, npages and
# the bitmap's address are in rdi, rsi and rdx.
info registers rdi rsi rdx
# The MMU's own walk of the first page: every level's entry, with its A and D bits.
pt $rdi
# Step through your routine; an empty line repeats the last command.
stepi 10
info registers rax rcx rdx
# Step back: registers and memory come back as they were.
reverse-stepi 4
info registers rax rcx rdx
# Stepping back puts you in the recorded past; as in gdb, replay forward stops at the
# end of the history, so come back to the present before `continue` runs on.
stepi 4
# Run to the program's stop after the call: rdx is your result, and the bitmap is
# what you wrote (every byte held 0x5a before the call).
break adbits_check
continue
info registers rdx
x/8bx &bitmap

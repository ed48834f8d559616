# A first debugging session on a failed call. Run it with:
#   emu lab repro allocate-matches-model -x tests/walkthrough.gdb
# Each line is an emu debug command (gdb's names); lines starting with # are comments.
# The session starts at the first instruction of the routine, with the test's registers.
info registers rcx rax
memmap
x/16bx os_MemoryMap
stepi 8
info registers rcx rsi rdi
reverse-stepi 3
info registers rsi
# Stepping back puts you in the recorded past; as in gdb, replay forward stops at the
# end of the history, so come back to the present before `finish` runs on.
stepi 3
finish
memmap

# The user program on your tables. Run it with:
#   emu lab repro map-user-program -x tests/program.gdb
# The session starts at the program's first instruction, in user mode, with CR3 = your root.
pt $rip
stepi 3
info registers rsp rsi rdi
pt $rsi
pt $rdi
continue

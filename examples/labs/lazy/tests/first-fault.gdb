# Your handler at its first page faults, step by step. After a failed
# `emu lab check`:   emu lab repro heap-sbrk -x tests/first-fault.gdb
# or from scratch:   emu debug tests/lazytests.c --kernel os_page_fault.asm \
#                      --on-fault os_page_fault --junk-frames -x tests/first-fault.gdb -- heap 1 20
# (the repro session has already stopped at os_page_fault; from scratch,
# uncomment the two lines below)
# break os_page_fault
# run
info registers rdi rsi rdx rcx
vmmap
pt $rdi
stepi 12
info registers rax
continue
pt $rdi
reverse-stepi
info registers rip

# Your handler at its first page faults, step by step. After a failed
# `emu lab check`:   emu lab repro heap-sbrk -x tests/first-fault.gdb
# or from scratch:   emu debug tests/lazytests.c --kernel os_page_fault.asm \
#                      --on-fault os_page_fault --junk-frames -x tests/first-fault.gdb -- heap 1 20
# (the repro session has already stopped at os_page_fault; from scratch,
# uncomment the two lines below)
# break os_page_fault
# run
# rdi = the address, rsi = the error code (6: a user write, not present)
info registers rdi rsi rdx rcx
vmmap
pt $rdi
# into your handler: after kernel_find_vma, rax says whether a VMA holds rdi
stepi 12
info registers rax
# the next fault; walk its page before your handler maps it
continue
pt $rdi
stepi 8
# one step too far? go back
reverse-stepi 2
info registers rip

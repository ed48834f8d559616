# Your handler at a copy-on-write fault, step by step. After a failed
# `emu lab check`:   emu lab repro simple-fork -x tests/cow-fault.gdb
# or from scratch:   emu debug tests/cowtests.c --kernel os_page_fault.asm \
#                      --on-fault os_page_fault -x tests/cow-fault.gdb -- simple 1 8
# (from scratch, the `continue` below starts the program instead: use `run`)
# The first faults are pages that are not present (rsi = 6 or 4): the kernel's.
# Stop only where the starter's `.present:` label is: the present faults.
delete
break os_page_fault.present
continue
# rsi = 7: PF_PRESENT | PF_WRITE | PF_USER, the parent's first write after fork
info registers rdi rsi
pt $rdi
vmmap
stepi 20
info registers rax rbx
reverse-stepi 5
info registers rip

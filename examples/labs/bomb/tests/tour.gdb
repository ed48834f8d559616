# A tour of emu debug's tools on parts of the bomb the questions do not ask about.
#   emu debug bomb.asm -x tests/tour.gdb
# Each line is a command you can also type at the (emu) prompt.
break phase_2
run
# where bomb_slots lives: the walk through the page tables, and the physical address
pt bomb_slots
# the allocator's two variables, before the first bomb_malloc
x/2gx bomb_heap_start
# stop after every store that changes bomb_heap_end (the heap growing)
watch *(long *)bomb_heap_end
continue
continue
# one instruction back, and forward again
reverse-stepi
stepi
delete
# the system calls so far, and the mappings
syscalls 5
vmmap

# A walk through one op of your allocator in emu debug.
#   emu lab repro public-correctness -x tests/walkthrough.gdb
# The session starts at the first instruction of the allocator call the op
# makes (mm_malloc, mm_free or mm_realloc). Each line can be typed at (emu).
# who called us, and with what (rdi: the size or the pointer)
bt
info registers rdi rsi
# the heap before the call, block by block (your mm.layout.toml says how)
heap
# run the call to its end and look again: which block changed?
finish
heap
# one instruction back through the recorded history, and forward again
reverse-stepi
stepi

; project_os_mem.asm -- the project's own kernel routines (asm/os_mem_*.asm),
; with the kernel symbols a Machine gives them written as constants, so NASM
; can assemble them exactly as our front end does.

os_SystemVariables  equ 0x1000
os_MemAmount        equ 0x1000
os_MemoryMap        equ 0x10000
CHUNK_SIZE          equ 0x200000
CHUNK_SHIFT         equ 21
CHUNK_FREE          equ 1
CHUNK_USED          equ 2

%include "../../../asm/os_mem_allocate.asm"
%include "../../../asm/os_mem_release.asm"
%include "../../../asm/os_mem_get_free.asm"

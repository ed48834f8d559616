"""A tour of the Python API: build a user address space, run code in it, look at
the page tables it touched. Run it with: .venv/bin/python examples/mmu_tour.py"""

from emu import ASM_DIR, Budget, GuestFault, Machine
from emu.assembler import assemble
from emu.paging import PAGE_2M, PAGE_4K, PTE_NX, PTE_RW, PTE_US
from emu.views import walk_lines

m = Machine(ram_mib=64)
m.load(ASM_DIR / "os_mem_allocate.asm")
chunk = m.call("os_mem_allocate", rcx=1)["rax"]          # a 2 MiB chunk, from the guest
print(f"os_mem_allocate gave chunk {chunk:#x}")

root = m.page_tables.new_root()                          # an empty PML4
code = m.frames.alloc()                                  # zeroed 4 KiB frames
data = m.frames.alloc()
m.page_tables.map(root, 0x400000, code, PAGE_4K, PTE_US)         # user, read + execute
m.page_tables.map(root, 0x600000, data, PAGE_4K, PTE_US | PTE_RW | PTE_NX)
m.page_tables.map(root, 0x40000000, chunk, PAGE_2M, PTE_US | PTE_RW | PTE_NX, page_size=PAGE_2M)

program = assemble("""
        mov rax, [0x600000]          ; read the 4 KiB data page
        mov qword [0x40000010], rax  ; write into the 2 MiB page
        mov qword [0x600008], 1      ; write the data page: sets its Dirty bit
done:   nop
""", base=0x400000)
m.ram.write(code, program.image())
m.mmu.write_virtual(0x600000, (0x1234).to_bytes(8, "little"), root=root)
m.run(0x400000, until=program.symbols["done"], budget=Budget(instructions=1000),
      root=root, user=True)

print(f"the guest wrote {int.from_bytes(m.ram.read(chunk + 0x10, 8), 'little'):#x} "
      f"at physical {chunk + 0x10:#x}")
for line in walk_lines(m.mmu.walk(0x600008, root=root)):
    print(line)

try:                                                     # the code page is read-only
    bad = assemble("mov byte [0x400000], 0x90\ndone: nop", base=0x400100)
    m.ram.write(code + 0x100, bad.image())
    m.run(0x400100, until=bad.symbols["done"], budget=Budget(instructions=10),
          root=root, user=True)
except GuestFault as fault:
    print(fault)

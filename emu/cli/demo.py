"""emu demo: boot a machine, run os_mem_allocate in the guest, show what it did."""

from __future__ import annotations

from .. import ASM_DIR
from ..machine import Machine
from ..views import memmap_lines, size_text, walk_lines
from .common import add_ram_option, print_lines

ROUTINES = ("os_mem_allocate.asm", "os_mem_release.asm", "os_mem_get_free.asm")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="a short tour: os_mem_allocate in the guest, the memory map, a page walk",
        description="Boot a machine, run asm/os_mem_allocate.asm in the guest a few times, "
                    "and show the os_MemoryMap and a page walk.")
    add_ram_option(p)
    p.set_defaults(run=run, ram_mib=64)   # small, so the whole map fits on a line


def run(args) -> int:
    machine = Machine(ram_mib=args.ram_mib)
    out = [f"Booted a machine with {args.ram_mib} MiB of RAM. The kernel owns chunk 0.", ""]
    out += memmap_lines(machine.memory_map)
    for name in ROUTINES:
        machine.load(ASM_DIR / name)
    out += ["", f"Loaded {', '.join(ROUTINES)} into the kernel at "
                f"{machine.resolve('os_mem_allocate'):#x}.", ""]
    kept = {}
    for count in (1, 4, 2):
        kept[count] = _allocate(machine, count, out)
    released = machine.call("os_mem_release", rax=kept[4], rcx=4)["rcx"]
    out.append(_step(f"os_mem_release  rax={kept[4]:#x} rcx=4", f"rcx = {released} released"))
    again = machine.call("os_mem_release", rax=kept[4], rcx=4)["rcx"]
    out.append(_step("os_mem_release  (the same again)",
                     f"rcx = {again}: refused, those chunks are free now"))
    reused = _allocate(machine, 3, out)
    _allocate(machine, 1000, out)
    free = machine.call("os_mem_get_free")["rcx"]
    out += [_step("os_mem_get_free", f"rcx = {free} free chunks"), ""]
    out += memmap_lines(machine.memory_map)
    out += [""] + walk_lines(machine.mmu.walk(reused + 0x1234),
                             f"Page walk of {reused + 0x1234:#x} (inside the 3 chunks just "
                             f"allocated) in the kernel address space:")
    out += [""] + walk_lines(machine.mmu.walk(0),
                             "Page walk of 0x0: the kernel leaves the null page unmapped:")
    out += ["", "Try: emu call asm/os_mem_allocate.asm os_mem_allocate --reg rcx=3 "
                "--show memmap", "     emu pt os_MemoryMap      emu memmap --ram-mib 256"]
    print_lines(out)
    return 0


def _allocate(machine: Machine, count: int, out: list[str]) -> int:
    address = machine.call("os_mem_allocate", rcx=count)["rax"]
    what = f"{size_text(count * 2 << 20)} at {address:#x}" if address else "0: no run that large"
    out.append(_step(f"os_mem_allocate rcx={count}", f"rax = {what}"))
    return address


def _step(call: str, result: str) -> str:
    return f"  {call:<38} -> {result}"

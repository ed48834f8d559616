"""emu pt VADDR: the kernel page walk for one virtual address."""

from __future__ import annotations

import argparse

from ..machine import Machine
from ..views import walk_json, walk_lines
from .common import add_json_option, add_ram_option, address, print_json, print_lines


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "pt", help="show the kernel page walk for an address",
        description="Boot a machine and walk the kernel's 4-level page tables for VADDR: "
                    "one line per level with the entry, its flags and where it leads.",
        epilog="Examples:\n  emu pt 0x3a00123\n  emu pt os_MemoryMap\n  emu pt 0 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("vaddr", help="virtual address (0x..., decimal) or kernel symbol")
    add_ram_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    machine = Machine(ram_mib=args.ram_mib)
    result = machine.mmu.walk(address(machine, args.vaddr))
    if args.json:
        print_json(walk_json(result))
    else:
        print_lines(walk_lines(result, f"page walk of {result.vaddr:#x} in the kernel address "
                                       f"space (CR3 {result.root:#x})"))
    return 0

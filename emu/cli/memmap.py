"""emu memmap: the os_MemoryMap of a freshly booted machine."""

from __future__ import annotations

import argparse

from ..machine import Machine
from ..views import memmap_json, memmap_lines
from .common import add_json_option, add_ram_option, print_json, print_lines


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "memmap", help="show the os_MemoryMap after boot",
        description="Boot a machine and show its os_MemoryMap as runs of free and used "
                    "2 MiB chunks with their physical addresses.",
        epilog="Examples:\n  emu memmap\n  emu memmap --ram-mib 64 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_ram_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    machine = Machine(ram_mib=args.ram_mib)
    if args.json:
        print_json(memmap_json(machine.memory_map))
    else:
        print_lines(memmap_lines(machine.memory_map))
    return 0

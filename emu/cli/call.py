"""emu call FILE SYMBOL: run one kernel routine and show the registers it left."""

from __future__ import annotations

import argparse

from ..errors import BudgetExceeded, GuestFault
from ..machine import Budget, Machine
from ..registers import GPRS, parse_assignment
from ..views import memmap_lines, register_lines
from .common import (MAX_INSTRUCTIONS, add_json_option, add_ram_option, int_in, print_json,
                     print_lines)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "call", help="run a kernel asm routine and show its registers",
        description="Assemble FILE into the kernel, call SYMBOL in kernel mode on the kernel "
                    "address space, and show the registers when it returns.",
        epilog="Examples:\n"
               "  emu call asm/os_mem_allocate.asm os_mem_allocate --reg rcx=3 --show memmap\n"
               "  emu call asm/os_mem_get_free.asm os_mem_get_free --ram-mib 256 --json\n"
               "Exit status: 0 when the routine returns, 128+signal on a guest fault "
               "(139 for SIGSEGV), 124 when the budget runs out, 2 for bad input.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="NASM-syntax asm file to load")
    p.add_argument("symbol", help="label to call")
    p.add_argument("--reg", action="append", default=[], metavar="NAME=VALUE",
                   help="set a register before the call (repeatable), e.g. --reg rcx=3")
    p.add_argument("--load", action="append", default=[], metavar="FILE",
                   help="load another asm file first (repeatable), e.g. routines FILE calls")
    p.add_argument("--show", action="append", default=[], choices=["memmap"],
                   help="also show the os_MemoryMap after the call")
    p.add_argument("--max-insns", type=int_in(1, MAX_INSTRUCTIONS), default=100_000_000,
                   metavar="N",
                   help="instruction budget (default 100,000,000)")
    add_ram_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    regs = dict(parse_assignment(text, allowed=tuple(r for r in GPRS if r != "rsp"))
                for text in args.reg)
    machine = Machine(ram_mib=args.ram_mib)
    for path in args.load:
        machine.load(path)
    machine.load(args.file)
    address = machine.resolve(args.symbol)
    fault, status = None, 0
    try:
        machine.call(address, budget=Budget(instructions=args.max_insns), **regs)
    except (GuestFault, BudgetExceeded) as exc:
        fault, status = exc, exc.exit_status
    registers = machine.registers()
    if args.json:
        print_json({"registers": registers, "memory_map": machine.memory_map.summary(),
                    "fault": fault.to_json() if isinstance(fault, GuestFault) else None,
                    "budget_exceeded": isinstance(fault, BudgetExceeded)})
        return status
    if fault is None:
        lines = [f"{args.symbol} returned:"]
    else:
        lines = [str(fault), "registers at the stop:"]
    lines += ["  " + line for line in register_lines(registers)]
    if "memmap" in args.show:
        lines += memmap_lines(machine.memory_map)
    print_lines(lines)
    return status

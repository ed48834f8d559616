"""emu run FILE [-- ARGS]: run a program as a process and report what it did."""

from __future__ import annotations

import argparse
import sys

from ..machine import Budget, Machine
from ..program import load_program
from ..runner import Session
from ..toolchain import FLAVOURS
from ..views import maps_lines
from .common import (add_json_option, add_ram_option, check_budget, echo_output, print_json,
                     print_lines)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="run a program (.asm, .c or a static ELF) as a process",
        description="Load FILE as a user process on a fresh machine and run it. .asm files "
                    "are assembled, .c files compiled (static, x86-64 Linux); anything else "
                    "must be a static x86-64 ELF. Arguments after -- go to the program.",
        epilog="Examples:\n"
               "  emu run examples/hello.asm --strace\n"
               "  emu run examples/allocators/firstfit.c -- 1000\n"
               "  emu run ./prog --strace --maps        (gcc -static or zig cc -static)\n"
               "  emu run prog.c --libc musl --json\n"
               "Exit status: the program's; 128+signal when it faults (139 for SIGSEGV); "
               "137 when it runs the machine out of memory; 124 when the budget runs out; "
               "2 for bad input or a compiler error.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="program to run: .asm, .c, or a static ELF")
    p.add_argument("--strace", action="store_true", help="print each system call to stderr")
    p.add_argument("--maps", action="store_true",
                   help="print the address space (like /proc/self/maps) when it ends")
    p.add_argument("--libc", choices=FLAVOURS, default="runtime",
                   help="for .c files: our small runtime (default) or full musl")
    p.add_argument("--cc", metavar="CC", help="C compiler command (default: zig's clang)")
    p.add_argument("--link", action="append", default=[], metavar="FILE.asm",
                   help="for .c files: link an asm file with it, e.g. an asm allocator")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="time budget (default 60)")
    p.add_argument("--max-insns", type=int, metavar="N", help="instruction budget (default none)")
    p.add_argument("--stdin", type=argparse.FileType("rb"), metavar="FILE",
                   help="bytes the program reads from fd 0 (default: nothing)")
    add_ram_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    check_budget(args.timeout, args.max_insns)
    image = load_program(args.file, libc=args.libc, cc=args.cc, link=args.link)
    machine = Machine(ram_mib=args.ram_mib)
    stdin = args.stdin.read() if args.stdin else b""
    trace = (lambda line: sys.stderr.write(line + "\n")) if args.strace else None
    echo = None if args.json else echo_output
    session = Session(machine, image, [args.file, *args.guest_args], stdin=stdin,
                      trace=trace, echo=echo)
    result = session.run(Budget(instructions=args.max_insns, seconds=args.timeout))
    if args.json:
        print_json(result.to_json())
        return result.status
    sys.stdout.flush()
    if result.message:
        sys.stderr.write(result.message + "\n")
    if args.maps:
        print_lines(maps_lines(result))
    return result.status

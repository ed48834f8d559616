"""emu run FILE [-- ARGS]: run a program as a process and report what it did."""

from __future__ import annotations

import argparse
import sys
import time

from ..loader import load_program
from ..machine import Budget, Machine
from ..runner import ProcessRunner
from ..toolchain import FLAVOURS
from ..views import maps_lines
from .common import (MAX_INSTRUCTIONS, MAX_SECONDS, add_json_option, add_kernel_options,
                     add_ram_option, echo_output, guest_kernel, int_in, print_json, print_lines,
                     seconds_up_to)


DEFAULT_TIMEOUT = 60.0                 # seconds of running when --timeout is not given


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
               "  emu run prog.c --kernel pager.asm --on-fault os_page_fault\n"
               "Exit status: the program's; 128+signal when it faults (139 for SIGSEGV); "
               "137 when it runs the machine out of memory or a --kernel routine oopses; "
               "124 when the budget runs out or every process waits (a deadlock); "
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
    p.add_argument("--timeout", type=seconds_up_to(MAX_SECONDS), metavar="SECONDS",
                   help="time budget, building included (default: 60 s of running, and "
                        "building as long as a first musl build takes)")
    p.add_argument("--max-insns", type=int_in(1, MAX_INSTRUCTIONS), metavar="N",
                   help="instruction budget (default none)")
    p.add_argument("--stdin", type=argparse.FileType("rb"), metavar="FILE",
                   help="bytes the program reads from fd 0 (default: nothing)")
    add_kernel_options(p)
    add_ram_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    # An explicit --timeout covers building too. The default bounds the run only,
    # so a first musl build (zig compiles musl once, about 40 s) is never cut short.
    started = time.monotonic()
    image = load_program(args.file, libc=args.libc, cc=args.cc, link=args.link,
                         seconds=args.timeout)
    deadline = (started + args.timeout) if args.timeout else time.monotonic() + DEFAULT_TIMEOUT
    machine = Machine(ram_mib=args.ram_mib)
    kernel = guest_kernel(args, machine)
    stdin = args.stdin.read() if args.stdin else b""
    trace = (lambda line: sys.stderr.write(line + "\n")) if args.strace else None
    echo = None if args.json else echo_output
    runner = ProcessRunner(machine, image, [args.file, *args.guest_args], stdin=stdin,
                           trace=trace, echo=echo, quantum=args.quantum, kernel=kernel)
    left = max(deadline - time.monotonic(), 0.001)
    result = runner.run(Budget(instructions=args.max_insns, seconds=left))
    if args.json:
        print_json(result.to_json())
        return result.status
    sys.stdout.flush()
    if result.message:
        sys.stderr.write(result.message + "\n")
    if args.maps:
        print_lines(maps_lines(result))
    return result.status

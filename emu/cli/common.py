"""Arguments and output shared by several subcommands."""

from __future__ import annotations

import argparse
import math
import sys

from kernel import layout

from ..errors import UsageError
from ..paging import U64


MAX_INSTRUCTIONS = 1 << 62          # Unicorn's count is 64 bits; nobody waits longer
MAX_SECONDS = 10 ** 7                # about 115 days


def int_in(low: int, high: int):
    """argparse type: a whole number in [low, high] ('0x' and '_' allowed)."""
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""), 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low}..{high})")
        return value
    return parse


def seconds_up_to(high: float):
    """argparse type: a positive, finite number of seconds up to `high`."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
        if not (math.isfinite(value) and 0 < value <= high):
            raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds "
                                             f"up to {high:g}")
        return value
    return parse


def positive_number(text: str) -> float:
    """argparse type: a positive, finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a positive finite number")
    return value


def ram_mib(text: str) -> int:
    """argparse type for --ram-mib: a whole number of MiB that a machine can have."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of MiB") from None
    problem = layout.validate_ram_mib(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def add_ram_option(parser) -> None:
    parser.add_argument("--ram-mib", type=ram_mib, default=1024, metavar="N",
                        help="guest RAM in MiB: a multiple of 2, at most 131072 (default 1024)")


def add_json_option(parser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of text (for scripts and graders)")


def address(machine, text: str) -> int:
    """A virtual address from '0x1000', '4096' or a symbol name."""
    try:
        return int(text.replace("_", ""), 0) & U64
    except ValueError:
        pass
    value = machine.symbols.get(text)
    if value is None:
        raise UsageError(f"'{text}' is neither an address nor a known symbol")
    return value


def print_lines(lines) -> None:
    sys.stdout.write("".join(line + "\n" for line in lines))


def print_json(data) -> None:
    import json
    sys.stdout.write(json.dumps(data) + "\n")


def echo_output(fd: int, data: bytes) -> None:
    """Pass the guest's stdout/stderr through as it writes, unbuffered."""
    stream = sys.stdout if fd == 1 else sys.stderr
    stream.flush()
    stream.buffer.write(data)
    stream.buffer.flush()


def add_kernel_options(parser) -> None:
    """--kernel FILE, --on-fault SYMBOL, --syscall N=SYMBOL, --junk-frames, --kernel-budget,
    --quantum."""
    parser.add_argument("--kernel", metavar="FILE.asm|FILE.c",
                        help="kernel routines to load into the kernel half (see --on-fault, "
                             "--syscall and asm/kernel/emu_kernel.h)")
    parser.add_argument("--on-fault", metavar="SYMBOL",
                        help="the --kernel routine that takes every user page fault")
    parser.add_argument("--syscall", action="append", default=[], metavar="N=SYMBOL",
                        help="system call N goes to the --kernel routine SYMBOL (repeatable)")
    parser.add_argument("--junk-frames", action="store_true",
                        help="kernel_alloc_frame gives frames full of junk (0x05), as xv6's "
                             "kalloc: the routine must zero them (the lazy lab)")
    parser.add_argument("--kernel-budget", type=int_in(1, MAX_INSTRUCTIONS), default=10_000_000,
                        metavar="N", help="instructions a routine may run per call "
                                          "(default 10,000,000)")
    parser.add_argument("--quantum", type=int_in(1, MAX_INSTRUCTIONS), default=100_000,
                        metavar="N", help="instructions in a time slice when several "
                                          "processes can run (default 100,000)")


def guest_kernel(args, machine):
    """The GuestKernel the --kernel options ask for, or None. UsageError for
    --on-fault/--syscall without --kernel or a malformed N=SYMBOL."""
    if not args.kernel:
        if args.on_fault or args.syscall:
            raise UsageError("--on-fault and --syscall name routines of a --kernel file")
        return None
    from ..guest_kernel import GuestKernel
    syscalls = {}
    for text in args.syscall:
        number, sep, symbol = text.partition("=")
        try:
            syscalls[int(number, 0)] = symbol.strip()
        except ValueError:
            raise UsageError(f"--syscall {text}: expected N=SYMBOL, e.g. 451=sys_pgaccess") \
                from None
        if not sep or not symbol.strip():
            raise UsageError(f"--syscall {text}: expected N=SYMBOL, e.g. 451=sys_pgaccess")
    return GuestKernel.load(machine, args.kernel, on_fault=args.on_fault, syscalls=syscalls,
                            budget=args.kernel_budget, cc=args.cc,
                            junk_frames=getattr(args, "junk_frames", False))

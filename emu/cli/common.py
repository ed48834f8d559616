"""Arguments and output shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import math
import sys

from kernel import layout

from ..errors import UsageError


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
        return int(text.replace("_", ""), 0) & ((1 << 64) - 1)
    except ValueError:
        pass
    value = machine.symbols.get(text)
    if value is None:
        raise UsageError(f"'{text}' is neither an address nor a known symbol")
    return value


def print_lines(lines) -> None:
    sys.stdout.write("".join(line + "\n" for line in lines))


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data) + "\n")


def echo_output(fd: int, data: bytes) -> None:
    """Pass the guest's stdout/stderr through as it writes, unbuffered."""
    stream = sys.stdout if fd == 1 else sys.stderr
    stream.flush()
    stream.buffer.write(data)
    stream.buffer.flush()


def check_budget(seconds: float | None, instructions: int | None) -> None:
    """A time budget must be a positive number of seconds, an instruction
    budget a positive count (None means no limit)."""
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"--timeout must be a positive number of seconds, got {seconds}")
    if instructions is not None and instructions < 1:
        raise UsageError(f"--max-insns must be at least 1, got {instructions}")

"""The `emu` command line: one module per subcommand, registered here explicitly.

Every subcommand module has add_parser(subparsers) and run(args) -> exit status.
Bad input is one line on stderr and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import AssemblyError, CompileError, ELFLoadError, EmuError, UsageError
from . import call, debug, demo, gdbserver, malloclab, memmap, pt, run

COMMANDS = (run, debug, gdbserver, malloclab, call, pt, memmap, demo)
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage dump)."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="emu", description="An x86-64 machine with real paging and an "
                     "OS memory layer (os_MemoryMap, brk/mmap), for watching allocators work.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=_Parser)
    subparsers.required = True
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    guest_args = []
    if "--" in argv:                      # everything after -- goes to the guest
        cut = argv.index("--")
        argv, guest_args = argv[:cut], argv[cut + 1:]
    args = build_parser().parse_args(argv)
    args.guest_args = guest_args
    try:
        return args.run(args)
    except CompileError as exc:           # the compiler's own diagnostics, as they are
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    except (UsageError, AssemblyError, ELFLoadError) as exc:
        sys.stderr.write(f"emu {args.command}: {exc}\n")
        return EXIT_USAGE
    except EmuError as exc:
        sys.stderr.write(f"emu {args.command}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("emu: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0

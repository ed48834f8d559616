"""The `emu` command line: one module per subcommand, registered here explicitly.

Every subcommand module has add_parser(subparsers) and run(args) -> exit status.

Errors end a command the same way everywhere:
  * bad input (a flag, a file, assembly, C, an ELF) is one line on stderr,
    saying what was wrong and where, and exit status 2;
  * any other EmuError is its message and its class's exit_status (124 for a
    budget, 137 for out of memory, 128+signal for a guest fault);
  * anything else is a bug in emu: one line naming the exception and asking
    for a report, exit status 70; EMU_DEBUG=1 prints the whole traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from importlib import import_module

from ..errors import EXIT_SOFTWARE, EXIT_USAGE, CompileError, EmuError

# The subcommands, each the module of that name in this package. Only the one
# named on the command line is imported: `emu run` must not pay for the
# debugger, the gdb stub or the labs (measured: 0.3 s of a 0.66 s start).
COMMANDS = ("run", "debug", "gdbserver", "gdb", "malloclab", "lab", "call", "pt", "memmap",
            "demo")
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage dump)."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of `only` that one (what main()
    needs when the command line names it)."""
    parser = _Parser(prog="emu", description="An x86-64 machine with real paging and an "
                     "OS memory layer (os_MemoryMap, brk/mmap), for watching allocators work.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=_Parser)
    subparsers.required = True
    for name in COMMANDS:
        if only is None or name == only:
            import_module(f".{name}", __name__).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    guest_args = []
    if "--" in argv:                      # everything after -- goes to the guest
        cut = argv.index("--")
        argv, guest_args = argv[:cut], argv[cut + 1:]
    named = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(named).parse_args(argv)
    args.guest_args = guest_args
    try:
        return args.run(args)
    except CompileError as exc:           # the compiler's own diagnostics, as they are
        sys.stderr.write(f"{exc}\n")
        return exc.exit_status
    except EmuError as exc:
        sys.stderr.write(f"emu {args.command}: {exc}\n")
        return exc.exit_status
    except KeyboardInterrupt:
        sys.stderr.write("emu: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:              # a bug in emu, never the user's fault
        return report_bug(args.command, exc)


def report_bug(command: str, exc: BaseException) -> int:
    """One line for a person, the traceback only when EMU_DEBUG is set."""
    if os.environ.get("EMU_DEBUG"):
        import traceback
        traceback.print_exception(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    sys.stderr.write(f"emu {command}: internal error: {type(exc).__name__}"
                     f"{': ' + first[:200] if first else ''} (a bug in emu: please report it "
                     f"with the command you ran; EMU_DEBUG=1 shows the traceback)\n")
    return EXIT_SOFTWARE

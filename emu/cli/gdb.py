"""emu gdb FILE [-- ARGS]: real gdb attached to the program, with the OS views as commands.

Serves the program from a thread of this process (as `emu gdbserver` does,
on a free port of 127.0.0.1) and starts gdb with emu's gdb commands loaded
(emu/gdbstub/gdb_commands.py: vmmap, pt, memmap, heap, syscalls), the
program's ELF as gdb's file, and `target remote` done. gdb's own options go
after --gdb-args; the program's arguments after --.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..errors import UsageError
from ..gdbstub import HOST, listen, serve
from ..toolchain import FLAVOURS
from .common import add_kernel_options, add_ram_option
from .gdbserver import add_record_options, start_debugger

COMMANDS_SCRIPT = Path(__file__).resolve().parent.parent / "gdbstub" / "gdb_commands.py"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "gdb", help="debug a program with real gdb, emu's OS views included",
        description="Start gdb attached to FILE (.asm, .c or a static ELF) running on the "
                    "emu machine, with the OS views as gdb commands: vmmap, pt ADDR, "
                    "memmap, heap, syscalls (each is `monitor NAME`).",
        epilog="Examples:\n"
               "  emu gdb examples/allocators/implicit.c -- 200\n"
               "  emu gdb prog.c -ex 'break main' -ex continue -ex vmmap\n"
               "  emu gdb prog.c --batch -ex 'break mm_malloc' -ex c -ex bt -ex heap",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="program to debug: .asm, .c, or a static ELF")
    p.add_argument("-ex", dest="commands", action="append", default=[], metavar="CMD",
                   help="a gdb command to run after connecting (repeatable)")
    p.add_argument("-x", dest="command_file", metavar="FILE", help="gdb commands from FILE")
    p.add_argument("--batch", action="store_true", help="exit after the commands (gdb --batch)")
    p.add_argument("--gdb", default="gdb", metavar="PATH", help="the gdb to run (default gdb)")
    p.add_argument("--libc", choices=FLAVOURS, default="runtime")
    p.add_argument("--cc", metavar="CC")
    p.add_argument("--link", action="append", default=[], metavar="FILE.asm")
    add_record_options(p)
    add_kernel_options(p)
    add_ram_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    gdb = shutil.which(args.gdb)
    if gdb is None:
        raise UsageError(f"{args.gdb} not found: install gdb (apt-get install gdb), or use "
                         f"`emu debug` or `emu gdbserver` with another client")
    dbg = start_debugger(args)
    listener = listen(0)
    port = listener.getsockname()[1]
    server = threading.Thread(target=serve, args=(dbg, listener, _log),
                              name="emu-gdbserver", daemon=True)
    server.start()
    try:
        status = _run_gdb(gdb, args, dbg, port)
    finally:
        server.join(timeout=5)
        listener.close()
        if not server.is_alive():          # else it still holds the machine: leave it be
            dbg.runner.finish()
    return status


def _log(line: str) -> None:
    """What the stub has to say (an internal error it answered with E): on
    stderr, apart from gdb's own output."""
    sys.stderr.write(f"emu gdb: {line}\n")
    sys.stderr.flush()


def gdb_command(gdb: str, args, elf: str | None, port: int) -> list[str]:
    """gdb's argv: quiet, emu's commands, the program, the connection, then
    the user's -x and -ex."""
    argv = [gdb, "-q", "-nx", "-x", str(COMMANDS_SCRIPT)]
    if args.batch:
        argv.append("--batch")
    if elf:
        argv += ["-ex", f"file {elf}"]
    argv += ["-ex", f"target remote {HOST}:{port}"]
    if args.command_file:
        argv += ["-x", args.command_file]
    for command in args.commands:
        argv += ["-ex", command]
    return argv


def _run_gdb(gdb: str, args, dbg, port: int) -> int:
    """Run gdb in this terminal; Ctrl-C belongs to gdb (it interrupts the
    program through the stub), so this process ignores it meanwhile."""
    previous = signal.signal(signal.SIGINT, _ignore)
    try:
        sys.stdout.flush()
        return subprocess.call(gdb_command(gdb, args, dbg.image.elf_path, port))
    finally:
        signal.signal(signal.SIGINT, previous)


def _ignore(_signum, _frame) -> None:
    pass

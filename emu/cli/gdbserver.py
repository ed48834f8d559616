"""emu gdbserver FILE [-- ARGS]: serve a process to real gdb over the remote protocol."""

from __future__ import annotations

import argparse
import sys

from ..debug.debugger import Debugger
from ..debug.history import DEFAULT_LIMIT, MAX_HISTORY
from ..gdbstub import DEFAULT_PORT, HOST, listen, serve
from ..toolchain import FLAVOURS
from .common import add_kernel_options, add_ram_option, echo_output, guest_kernel, int_in


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "gdbserver", help="let gdb debug a program: the gdb remote protocol on 127.0.0.1",
        description="Load FILE (.asm, .c or a static ELF) as a process stopped at its entry "
                    "point and serve it to one gdb over TCP. gdb's `monitor` runs the "
                    "debugger's OS views: monitor pt $rsp, monitor vmmap, monitor memmap, "
                    "monitor heap, monitor syscalls. Ends when gdb detaches, kills or quits.",
        epilog="Examples:\n"
               "  emu gdbserver examples/programs/mallocfun.c --libc musl -- 100\n"
               "  gdb -ex 'file ELF' -ex 'target remote :1234' -ex 'break main' -ex c\n"
               "  emu gdbserver prog.c --port 2345\n"
               "  emu gdbserver prog.c --record   (then reverse-next, reverse-finish across "
               "continue)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="program to debug: .asm, .c, or a static ELF")
    p.add_argument("--port", type=int_in(0, 65535), default=DEFAULT_PORT, metavar="PORT",
                   help=f"TCP port on {HOST} (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--libc", choices=FLAVOURS, default="runtime",
                   help="for .c files: our small runtime (default) or full musl")
    p.add_argument("--cc", metavar="CC", help="C compiler command (default: zig's clang)")
    p.add_argument("--link", action="append", default=[], metavar="FILE.asm",
                   help="for .c files: link an asm file with it, e.g. an asm allocator")
    add_record_options(p)
    add_kernel_options(p)
    add_ram_option(p)
    p.set_defaults(run=run)


def add_record_options(p) -> None:
    p.add_argument("--record", action="store_true",
                   help="record every resume, continue included (gdb's reverse-* then reach "
                        "back across it; ~4 us an instruction); `monitor record` turns it "
                        "on from gdb")
    p.add_argument("--history", type=int_in(1, MAX_HISTORY), default=DEFAULT_LIMIT,
                   metavar="N", help=f"instructions kept for reverse execution "
                                     f"(default {DEFAULT_LIMIT})")


def start_debugger(args):
    """The Debugger `emu gdbserver` and `emu gdb` serve, from their arguments."""
    dbg = Debugger.start(args.file, [args.file, *args.guest_args], ram_mib=args.ram_mib,
                         libc=args.libc, cc=args.cc, link=args.link, echo=echo_output,
                         history=args.history, kernel=lambda m: guest_kernel(args, m),
                         quantum=args.quantum)
    dbg.target.recording = args.record
    return dbg


def run(args) -> int:
    listener = listen(args.port)
    try:
        dbg = start_debugger(args)
        port = listener.getsockname()[1]
        print(f"Listening on {HOST}:{port}; {_gdb_hint(dbg, port)}", flush=True)
        why = serve(dbg, listener, log=_log)
    finally:
        listener.close()
    result = dbg.runner.finish()
    if why == "detached":
        why += "; the program ran on to its end: " + (
            f"exit status {result.exit_code}" if result.exit_code is not None else result.message)
    _log(f"{why}; stopped serving")
    return 0


def _gdb_hint(dbg, port: int) -> str:
    if dbg.image.elf_path:
        return f"in gdb: file {dbg.image.elf_path} then target remote :{port}"
    return f"in gdb: target remote :{port} (an .asm program: no ELF symbols for gdb)"


def _log(line: str) -> None:
    sys.stderr.write(f"emu gdbserver: {line}\n")
    sys.stderr.flush()

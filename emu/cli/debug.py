"""emu debug FILE [-- ARGS]: an interactive debugger with gdb's commands."""

from __future__ import annotations

import argparse
import sys

from ..debug.debugger import Debugger
from ..debug.history import CONTEXT_BYTES, DEFAULT_LIMIT, MAX_HISTORY
from ..debug.lineedit import LineEditor
from ..debug.repl import Repl
from ..toolchain import FLAVOURS
from ..userfiles import read_user_text
from .common import add_kernel_options, add_ram_option, echo_output, guest_kernel, int_in


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "debug", help="debug a program: breakpoints, stepping, reverse stepping, OS views",
        description="Load FILE (.asm, .c or a static ELF) as a process stopped at its entry "
                    "point and debug it with gdb's command names (type `help`).",
        epilog="Examples:\n"
               "  emu debug examples/allocators/implicit.c -- 200\n"
               "  emu debug prog.c -ex 'break main' -ex run -ex next -ex 'info locals' --batch\n"
               "  emu debug prog.c --link asm/allocators/firstfit.asm -ex 'break firstfit.asm:60'\n"
               "  emu debug prog.c -x lab1.gdb --batch\n"
               "The prompt keeps a history in ~/.emu_debug_history ($EMU_DEBUG_HISTORY).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="program to debug: .asm, .c, or a static ELF")
    p.add_argument("-x", dest="command_file", metavar="FILE",
                   help="run the commands in FILE first (one per line)")
    p.add_argument("-ex", dest="commands", action="append", default=[], metavar="CMD",
                   help="run CMD (repeatable, after -x)")
    p.add_argument("--batch", action="store_true",
                   help="exit after the -x/-ex commands instead of reading more")
    p.add_argument("--no-context", action="store_true",
                   help="do not print the context (registers, code, source, stack) after stops")
    p.add_argument("--history", type=int_in(1, MAX_HISTORY), default=DEFAULT_LIMIT, metavar="N",
                   help=f"instructions kept for reverse stepping (default {DEFAULT_LIMIT}; "
                        f"each costs about {CONTEXT_BYTES // 1000 + 1} KB)")
    p.add_argument("--record", action="store_true",
                   help="record continue too, as after gdb's `record` (slower: ~4 us an "
                        "instruction), so reverse execution reaches back across it")
    p.add_argument("--libc", choices=FLAVOURS, default="runtime")
    p.add_argument("--cc", metavar="CC")
    p.add_argument("--link", action="append", default=[], metavar="FILE.asm")
    add_kernel_options(p)
    add_ram_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    script = []
    if args.command_file:
        script = read_user_text(args.command_file, "-x").splitlines()
    dbg = Debugger.start(args.file, [args.file, *args.guest_args], ram_mib=args.ram_mib,
                         libc=args.libc, cc=args.cc, link=args.link, echo=echo_output,
                         history=args.history, kernel=lambda m: guest_kernel(args, m),
                         quantum=args.quantum)
    dbg.target.recording = args.record
    repl = Repl(dbg, show_context=not args.no_context)
    entry = dbg.target.rip
    print(f"Reading symbols from {args.file}... "
          f"{'(source lines found)' if dbg.info.has_lines else '(no source lines)'}")
    print(f"Process loaded, stopped at the entry point {entry:#x} <{dbg.describe(entry)}>. "
          f"Type `run`, `start`, or `help`.")
    sys.stdout.flush()
    repl.run_lines(script + args.commands)
    if not args.batch:
        repl.editor = LineEditor(repl.complete)
        repl.interact()
    dbg.runner.finish()
    return 0

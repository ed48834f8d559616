"""emu malloclab ALLOCATOR [TRACE...]: check, measure and score an allocator."""

from __future__ import annotations

import argparse
import sys

from .. import EXAMPLES_DIR
from ..errors import UsageError
from ..malloclab.build import BUILTIN
from ..malloclab.image import ALIGNMENTS, MAX_SAMPLE_EVERY, Settings
from ..malloclab.lab import HEAP_LIMIT, MAX_HEAP_LIMIT_MIB, Lab
from ..malloclab.report import DEFAULT_TREF, DEFAULT_TREF_INSNS, table_lines, to_json
from ..malloclab.traces import read_trace
from .common import int_in, positive_number, print_json, print_lines

DEFAULT_TRACES = EXAMPLES_DIR / "traces"
PLOT_FORMATS = ("svg", "png", "pdf")
BLOCK_VIEW_ROWS = 200           # heap walks per trace for the block view


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "malloclab", help="run an allocator on malloc-lab traces: check, measure, score",
        description="Replay CS:APP-format traces (.rep) against ALLOCATOR inside the machine, "
                    "one guest run per trace, checking every block like the CS:APP driver "
                    "(aligned, inside the heap, no overlap, contents kept, calloc zeroed), "
                    "then timing (or counting the instructions of) a second replay. "
                    "ALLOCATOR is a built-in name (" + ", ".join(BUILTIN) + "), a student's "
                    "mm.c as handed in (CS:APP or CMU 15-213 conventions; see the README), or "
                    "an asm file with the mm_* interface. With no TRACE, the project's traces "
                    "in examples/traces/ run.",
        epilog="Examples:\n"
               "  emu malloclab implicit\n"
               "  emu malloclab mm.c ../shared/malloclab-traces/*-bal.rep --align 8\n"
               "  emu malloclab mm.c traces/*.rep --throughput insns --check-heap\n"
               "  emu malloclab explicit examples/traces/phases.rep --plot plots/\n"
               "  emu malloclab mm.c random-bal.rep --debug 2104 -ex heap -ex bt\n"
               "Exit status: 0 when every trace is valid, 1 when one is not, 2 for bad input.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("allocator", help="built-in name, .c file or .asm file")
    p.add_argument("traces", nargs="*", help="trace files (.rep); default: examples/traces/*.rep")
    p.add_argument("--align", type=int, choices=ALIGNMENTS, default=16,
                   help="payload alignment: 16 (CMU 15-213 today, default) or 8 (the CS:APP "
                        "handout's config.h)")
    p.add_argument("--check-heap", action="store_true",
                   help="call the allocator's mm_checkheap after every op (mdriver -d 2)")
    p.add_argument("--throughput", choices=("secs", "insns"), default="secs",
                   help="secs: Kops from the timed replay (default); insns: exact "
                        "instructions per op, the same on every machine")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="DIR", help="write utilization and heap-map plots to DIR")
    p.add_argument("--plot-format", choices=PLOT_FORMATS, default="svg",
                   help="svg (default), png or pdf")
    p.add_argument("--layout", metavar="FILE",
                   help="the allocator's block format for the detailed heap view "
                        "(default: NAME.layout.toml beside NAME.c, if there is one)")
    p.add_argument("--sample-every", type=int_in(0, MAX_SAMPLE_EVERY), default=0, metavar="K",
                   help="heap walks every K ops for the detailed heap map (default: about "
                        f"{BLOCK_VIEW_ROWS} a trace, when the block format is known)")
    p.add_argument("--tref", type=positive_number, default=DEFAULT_TREF, metavar="KOPS",
                   help=f"reference throughput for the score (default {DEFAULT_TREF:g} Kops/s)")
    p.add_argument("--tref-insns", type=positive_number, default=DEFAULT_TREF_INSNS,
                   metavar="N", help="with --throughput insns: instructions per op that earn "
                                     f"the full throughput points (default {DEFAULT_TREF_INSNS:g})")
    p.add_argument("--heap-limit", type=int_in(1, MAX_HEAP_LIMIT_MIB), default=HEAP_LIMIT >> 20,
                   metavar="MIB",
                   help=f"heap plus mappings the allocator may use (default {HEAP_LIMIT >> 20})")
    p.add_argument("--debug", type=int_in(0, (1 << 32) - 1), metavar="OP",
                   help="replay the first TRACE and stop in emu debug at op OP, as it calls "
                        "the allocator (heap, watch, step, reverse-step from there)")
    p.add_argument("-ex", dest="commands", action="append", default=[], metavar="CMD",
                   help="with --debug: run CMD first (repeatable)")
    p.add_argument("--batch", action="store_true", help="with --debug: exit after the -ex commands")
    p.add_argument("--cc", metavar="CC", help="C compiler command (default: zig's clang)")
    p.set_defaults(run=run)


def settings_from(args, count: bool | None = None) -> Settings:
    return Settings(align=args.align, check_heap=args.check_heap,
                    count=args.throughput == "insns" if count is None else count)


def run(args) -> int:
    paths = args.traces or sorted(DEFAULT_TRACES.glob("*.rep"))
    if not paths:
        raise UsageError(f"no traces given and none in {DEFAULT_TRACES}")
    traces = [read_trace(path) for path in paths]           # every file checked first
    lab = Lab.for_allocator(args.allocator, cc=args.cc, layout_file=args.layout,
                            heap_limit=args.heap_limit << 20)
    _check_options(args, lab)
    if lab.program.warnings:
        sys.stderr.write(lab.program.warnings + "\n")
    if args.debug is not None:
        from ..malloclab.debugging import debug_op
        return debug_op(lab, traces[0], settings_from(args, count=False), args.debug,
                        args.commands, args.batch)
    results = [_run_one(lab, trace, args) for trace in traces]
    if args.json:
        print_json(to_json(results, args.tref, args.tref_insns))
    else:
        print_lines(table_lines(lab.name, results, args.tref, args.tref_insns))
        if args.plot:
            print(f"plots written to {args.plot}/")
    return 0 if all(r.valid for r in results) else 1


def _check_options(args, lab: Lab) -> None:
    if args.check_heap and lab.program.signatures.checkheap_returns is None:
        raise UsageError(f"--check-heap: {lab.name} defines no mm_checkheap (it must not be "
                         f"static, and must be called mm_checkheap)")
    if (args.commands or args.batch) and args.debug is None:
        raise UsageError("-ex and --batch go with --debug OP")


def _run_one(lab: Lab, trace, args):
    settings = settings_from(args)
    if args.plot and lab.program.knows_layout:
        every = args.sample_every or max(1, trace.num_ops // BLOCK_VIEW_ROWS)
        settings = Settings(**{**settings.__dict__, "sample_every": every})
    result = lab.run(trace, settings)
    if args.plot:
        from ..malloclab.plot import write_plots
        write_plots(result, args.plot, args.plot_format)
    if not args.json and sys.stderr.isatty():
        sys.stderr.write(f"  {trace.name}: {'ok' if result.valid else 'INVALID'}\n")
    return result

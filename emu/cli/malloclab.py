"""emu malloclab ALLOCATOR [TRACE...]: check, measure and score an allocator."""

from __future__ import annotations

import argparse
import sys

from .. import EXAMPLES_DIR
from ..errors import UsageError
from ..malloclab.lab import BUILTIN, HEAP_LIMIT, MAX_HEAP_LIMIT_MIB, Lab
from ..malloclab.plot import write_plots
from ..malloclab.report import DEFAULT_TREF, table_lines, to_json
from ..malloclab.traces import MAX_SAMPLE_EVERY, read_trace
from .common import int_in, positive_number, print_json, print_lines

DEFAULT_TRACES = EXAMPLES_DIR / "traces"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "malloclab", help="run an allocator on malloc-lab traces: check, measure, score",
        description="Replay CS:APP-format traces (.rep) against ALLOCATOR inside the machine, "
                    "one guest run per trace, checking every block like the CS:APP driver "
                    "(alignment 16, inside the heap, no overlap, contents kept), then timing "
                    "a second replay. ALLOCATOR is a built-in name ("
                    + ", ".join(BUILTIN) + "), a C file with mm_init/mm_malloc/mm_free/"
                    "mm_realloc using mem_sbrk, or an asm file with the same interface. "
                    "With no TRACE, the project's traces in examples/traces/ run.",
        epilog="Examples:\n"
               "  emu malloclab implicit\n"
               "  emu malloclab segregated ../shared/malloclab-traces/*-bal.rep\n"
               "  emu malloclab my_allocator.c traces/short1-bal.rep --json\n"
               "  emu malloclab explicit examples/traces/phases.rep --plot plots/\n"
               "Exit status: 0 when every trace is valid, 1 when one is not, 2 for bad input.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("allocator", help="built-in name, .c file or .asm file")
    p.add_argument("traces", nargs="*", help="trace files (.rep); default: examples/traces/*.rep")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="DIR", help="write utilization and heap-map plots to DIR")
    p.add_argument("--plot-format", choices=("svg", "png"), default="svg",
                   help="svg (default, no dependency) or png (needs matplotlib)")
    p.add_argument("--sample-every", type=int_in(0, MAX_SAMPLE_EVERY), default=0, metavar="K",
                   help="heap-map sample interval in ops (default: about 60 samples a trace)")
    p.add_argument("--tref", type=positive_number, default=DEFAULT_TREF, metavar="KOPS",
                   help=f"reference throughput for the score (default {DEFAULT_TREF:g} Kops/s)")
    p.add_argument("--heap-limit", type=int_in(1, MAX_HEAP_LIMIT_MIB), default=HEAP_LIMIT >> 20, metavar="MIB",
                   help=f"heap plus mappings the allocator may use (default {HEAP_LIMIT >> 20})")
    p.add_argument("--cc", metavar="CC", help="C compiler command (default: zig's clang)")
    p.set_defaults(run=run)


def run(args) -> int:
    paths = args.traces or sorted(DEFAULT_TRACES.glob("*.rep"))
    if not paths:
        raise UsageError(f"no traces given and none in {DEFAULT_TRACES}")
    traces = [read_trace(path) for path in paths]           # every file checked first
    lab = Lab.for_allocator(args.allocator, cc=args.cc, heap_limit=args.heap_limit << 20)
    results = []
    for trace in traces:
        every = args.sample_every or (max(1, trace.num_ops // 60) if args.plot else 0)
        result = lab.run(trace, sample_every=every)
        results.append(result)
        if args.plot:
            write_plots(result, args.plot, args.plot_format)
        if not args.json and sys.stderr.isatty():
            sys.stderr.write(f"  {trace.name}: {'ok' if result.valid else 'INVALID'}\n")
    if args.json:
        print_json(to_json(results, args.tref))
    else:
        print_lines(table_lines(lab.name, results, args.tref))
        if args.plot:
            print(f"plots written to {args.plot}/")
    return 0 if all(r.valid for r in results) else 1

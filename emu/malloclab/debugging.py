"""`emu malloclab ALLOCATOR TRACE --debug OP`: the failing op, in emu debug.

The trace is replayed as `emu malloclab` does (same build, same image, same
checks) until the driver reaches op OP of its checking pass; there it calls
lab_debug_stop(), and the allocator function that op calls gets a one-shot
breakpoint. The session then opens at that function's first instruction with
emu debug's commands: `heap`, `watch`, `step`, `next`, `finish`, and reverse
stepping over what was stepped since.
"""

from __future__ import annotations

import sys

from ..debug.debugger import Debugger
from ..debug.repl import Repl
from ..debug.source import ProgramInfo
from ..debug.target import Target
from .image import Settings
from .lab import Lab
from .layout import declared_walker
from .traces import OP_ALLOC, OP_FREE, Trace

HISTORY = 4096


def op_function(trace: Trace, op_index: int, has_calloc: bool) -> str:
    """The allocator function op `op_index` calls (the driver's by_calloc rule)."""
    op = trace.ops[op_index]
    if op.kind == OP_ALLOC:
        return "mm_calloc" if has_calloc and op.id % 4 == 3 else "mm_malloc"
    return "mm_free" if op.kind == OP_FREE else "mm_realloc"


def open_at_op(lab: Lab, trace: Trace, settings: Settings, op_index: int) -> tuple[Debugger, str]:
    """A debugger stopped where op `op_index` enters the allocator, and a line
    saying so. UsageError when the trace has no such op."""
    from ..errors import UsageError
    if not 0 <= op_index < trace.num_ops:
        raise UsageError(f"--debug {op_index}: {trace.path} has ops 0..{trace.num_ops - 1}")
    runner = lab.start(trace, Settings(**{**settings.__dict__, "debug_op": op_index}))
    dbg = Debugger(Target(runner, HISTORY), lab.image, ProgramInfo.for_image(lab.image),
                   runner.process.argv)
    if lab.program.layout is not None:
        dbg.heap_walker = declared_walker(lab.program.layout)     # `heap` walks its blocks
    dbg.break_at("lab_debug_stop", temporary=True)
    stop = dbg.cont()
    op = trace.ops[op_index]
    where = f"{trace.path}:{op.line}: op {op_index} ({op.text()})"
    if stop.kind != "breakpoint":
        return dbg, f"The replay ended before {where}: {stop.message or stop.kind}"
    function = op_function(trace, op_index, lab.program.signatures.has_calloc)
    dbg.break_at(function, temporary=True)
    stop = dbg.cont()
    if stop.kind != "breakpoint":
        return dbg, f"The replay ended before {where} reached {function}: {stop.message or stop.kind}"
    return dbg, (f"Stopped at {where}, entering {function}. Try: heap, bt, step, next, "
                 f"finish, watch, reverse-step.")


def debug_op(lab: Lab, trace: Trace, settings: Settings, op_index: int,
             commands: list[str], batch: bool) -> int:
    """Open the session, run `commands`, then read more unless `batch`."""
    dbg, said = open_at_op(lab, trace, settings, op_index)
    repl = Repl(dbg)
    repl.started = True
    print(said)
    repl.emit(repl.context(force=True))
    sys.stdout.flush()
    repl.run_lines(commands)
    if not batch:
        repl.interact()
    dbg.runner.finish()
    return 0

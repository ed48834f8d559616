"""What a student reads when a trace fails: where in the trace, in which call,
what the fault was, what it probably means, and how to look at it.

    random-bal.rep:2109: op 2104 (a 1513 29978): the allocator crashed in mm_malloc(29978)
      SIGSEGV: page fault: read at 0x4a433c35...: not present (user mode)
        rip 0x555555556f1c <find_fit+0x1c>: mov rax, qword ptr [rdx]
      The address looks like the fill pattern the driver writes into payloads: the
      allocator probably read its metadata from inside an allocated block.
      Look at it in the debugger: emu malloclab mm.c random-bal.rep --debug 2104

The hints come from the fault address alone (pure functions below):
  fill pattern   the driver fills block bytes with (id*131 + i*7 + 1) mod 256,
                 so consecutive bytes step by 7: an address made of such bytes
                 was read from a payload (a header looked for in the wrong place)
  past the heap  between the break and a little beyond: the allocator walked off
                 the end of what mem_sbrk gave it
  cut to 32 bits the heap lies above 4 GiB, as on a 64-bit grader; an address
                 whose low 32 bits fall in the heap but whose top bits are gone
                 (or sign-extended) was a pointer kept in an int
"""

from __future__ import annotations

import shlex

from .image import NO_OP, STATUS_FAILED, LabResults, Settings
from .traces import Trace

FILL_STEP = 7
PAST_HEAP_SLACK = 1 << 30            # "a little beyond" the break
OUTPUT_LINES = 6                     # of what the allocator printed, shown with the error


def looks_like_fill(address: int, slack: int = 64) -> bool:
    """Whether `address` (less up to `slack` bytes of displacement) has at
    least four low bytes stepping by 7, as the driver's fill pattern does."""
    for displacement in range(0, slack + 1):
        raw = ((address - displacement) & (2 ** 64 - 1)).to_bytes(8, "little")
        if all((raw[i + 1] - raw[i]) % 256 == FILL_STEP for i in range(3)):
            return True
    return False


def past_the_heap(address: int, heap_end: int) -> bool:
    return heap_end <= address < heap_end + PAST_HEAP_SLACK


def cut_to_32_bits(address: int, heap_start: int, heap_end: int) -> bool:
    """The heap is above 4 GiB and `address` is a heap address whose upper 32
    bits were dropped (zero-extended) or replaced by the sign of bit 31."""
    if heap_start >> 32 == 0 or heap_end <= heap_start:
        return False
    low = address & 0xFFFF_FFFF
    upper = address >> 32
    if upper not in (0, 0xFFFF_FFFF):
        return False
    candidate = (heap_start & ~0xFFFF_FFFF) | low
    return heap_start <= candidate < heap_end + PAST_HEAP_SLACK


def hints(address: int, heap: tuple[int, int]) -> list[str]:
    """What the fault address suggests, as sentences."""
    start, end = heap
    out = []
    if cut_to_32_bits(address, start, end):
        out.append(f"The address is a heap address cut to 32 bits: the heap lies above "
                   f"4 GiB ({start:#x}), as on a 64-bit grader, so a pointer kept in an int "
                   f"or unsigned loses its top half.")
    elif looks_like_fill(address):
        out.append("The address looks like the fill pattern the driver writes into "
                   "payloads: the allocator probably read its metadata from inside an "
                   "allocated block.")
    elif past_the_heap(address, end):
        out.append(f"The address is past the heap's end (mem_sbrk): the heap is "
                   f"[{start:#x}, {end:#x}).")
    return out


def failure_report(spec: str, trace: Trace, settings: Settings, results: LabResults,
                   outcome, heap: tuple[int, int], heap_limit: int) -> tuple[str, int | None]:
    """The error text for a failed trace, and the op it failed at (None before the first)."""
    op_index = _failed_op(results)
    where = _where(trace, op_index, results.passes)
    call = results.call_text()
    if results.status == STATUS_FAILED:
        lines = [f"{where}: {results.message}"]
    elif outcome.fault is not None:
        fault = outcome.fault
        lines = [f"{where}: the allocator crashed" + (f" in {call}" if call else "")]
        lines += ["  " + line for line in str(fault).splitlines()]
        if fault.access is not None:
            lines += ["  " + h for h in hints(fault.address, heap)]
    elif outcome.exit_code is not None:
        lines = [f"{where}: the program exited with status {outcome.exit_code}"
                 + (f" in {call}" if call else "") + " (an assert, exit or abort in the allocator)"]
    else:
        lines = [f"{where}: {outcome.message or 'the driver stopped with no report'}"]
    lines += _printed(outcome)
    if op_index is not None and results.passes < 2:
        lines.append("  Look at it in the debugger: " + debug_command(spec, trace, settings,
                                                                      op_index, heap_limit))
    return "\n".join(lines), op_index


def _failed_op(results: LabResults) -> int | None:
    index = results.failed_op if results.status == STATUS_FAILED else results.op
    return None if index == NO_OP else index


def _where(trace: Trace, op_index: int | None, passes: int) -> str:
    if op_index is None or not trace.ops:
        return f"{trace.path}: before the first op"
    op = trace.ops[min(op_index, trace.num_ops - 1)]
    replay = " in the timing replay" if passes >= 2 else ""
    return f"{trace.path}:{op.line}: op {op_index} ({op.text()}){replay}"


def _printed(outcome) -> list[str]:
    text = (outcome.stdout + outcome.stderr).decode("utf-8", errors="replace").strip()
    if not text:
        return []
    tail = text.splitlines()[-OUTPUT_LINES:]
    return ["  The allocator printed (last lines):"] + [f"    {line}" for line in tail]


def debug_command(spec: str, trace: Trace, settings: Settings, op_index: int,
                  heap_limit: int) -> str:
    """The command line that replays the trace and stops at op `op_index` in emu debug."""
    words = ["emu", "malloclab", spec, trace.path, "--debug", str(op_index)]
    if settings.align != 16:
        words += ["--align", str(settings.align)]
    if settings.check_heap:
        words.append("--check-heap")
    if heap_limit != 20 << 20:
        words += ["--heap-limit", str(heap_limit >> 20)]
    return shlex.join(words)

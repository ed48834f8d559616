"""The lab image: a parsed trace packed as the guest driver's `struct lab`, and
the results read back (asm/malloclab/driver.c has the C side).

    offset 0         header: magic .. debug_op                  (HEADER)
    RESULTS_OFFSET   results: status .. call_arg1, message[256]  (RESULTS)
    ops_offset       one 16-byte `struct op` per op              (written here)
    series_offset    payload, footprint after each op            (the driver writes)
    addrs_offset     the payload address each op left its id with (the driver writes)
    blocks_offset    one {p, size} per id                        (the driver's)
    nodes_offset     the treap pool: live blocks and mappings    (the driver's)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import UsageError
from .traces import Trace

LAB_MAGIC = 0x4C414246
HEADER = struct.Struct("<IIIIQQQQQQIIIIQ")     # magic .. debug_op
RESULTS_OFFSET = HEADER.size
RESULTS = struct.Struct("<" + "Q" * 11)        # status .. call_arg1
MESSAGE_BYTES = 256
OP = struct.Struct("<BxxxIQ")
NODE_BYTES = 40
BLOCK_BYTES = 16
MAX_SAMPLE_EVERY = (1 << 32) - 1               # the header field is 32 bits
NO_OP = (1 << 64) - 1

STATUS_RUNNING, STATUS_OK, STATUS_FAILED = 0, 1, 2
STATUS_CAUGHT, STATUS_MISSED, STATUS_FALSE_ALARM = 3, 4, 5     # corruption verdicts
FLAG_CHECK_HEAP, FLAG_COUNT, FLAG_CORRUPT = 1, 2, 4
RET_INT, RET_BOOL, RET_VOID = 0, 1, 2
CALLS = {1: "mm_init", 2: "mm_malloc", 3: "mm_free", 4: "mm_realloc", 5: "mm_calloc",
         6: "mm_checkheap"}
ALIGNMENTS = (8, 16)


@dataclass(frozen=True)
class Settings:
    """How one trace is replayed (the CLI's flags)."""
    align: int = 16                 # payload alignment the driver demands
    check_heap: bool = False        # call mm_checkheap after every op
    count: bool = False             # count instructions instead of timing
    sample_every: int = 0           # lab_sample() every K ops (heap walks)
    debug_op: int | None = None     # lab_debug_stop() before this op
    corrupt_from: int | None = None # the heap-checker test from this op on (corrupt.py)

    def __post_init__(self):
        if self.align not in ALIGNMENTS:
            raise UsageError(f"--align must be 8 or 16, got {self.align}")
        if not 0 <= self.sample_every <= MAX_SAMPLE_EVERY:
            raise UsageError(f"--sample-every must be between 0 and {MAX_SAMPLE_EVERY}, "
                             f"got {self.sample_every}")


@dataclass(frozen=True)
class Signatures:
    """How the allocator declared what the driver calls (see conventions.py)."""
    init_returns: int = RET_INT
    checkheap_returns: int | None = None       # None: there is no mm_checkheap
    has_calloc: bool = False


def _align(value: int, to: int = 64) -> int:
    return (value + to - 1) & ~(to - 1)


def layout(trace: Trace) -> dict[str, int]:
    """Where each part of the image starts, and its total size."""
    ops = _align(RESULTS_OFFSET + RESULTS.size + MESSAGE_BYTES)
    series = _align(ops + OP.size * trace.num_ops)
    addrs = _align(series + 16 * trace.num_ops)
    blocks = _align(addrs + 8 * trace.num_ops)
    nodes = _align(blocks + BLOCK_BYTES * trace.num_ids)
    max_nodes = trace.num_ids + 16384        # live blocks, plus the allocator's mappings
    return {"ops": ops, "series": series, "addrs": addrs, "blocks": blocks, "nodes": nodes,
            "max_nodes": max_nodes, "total": nodes + NODE_BYTES * max_nodes}


def pack(trace: Trace, settings: Settings = Settings(),
         signatures: Signatures = Signatures()) -> bytes:
    """The trace as the driver's `struct lab`: header, empty results, the ops,
    and zeroed room for what the driver writes."""
    where = layout(trace)
    image = bytearray(where["total"])
    flags = (FLAG_CHECK_HEAP if settings.check_heap else 0) | (FLAG_COUNT if settings.count else 0)
    stop_op = settings.debug_op
    if settings.corrupt_from is not None:
        flags |= FLAG_CORRUPT
        stop_op = settings.corrupt_from
    checkheap = signatures.checkheap_returns if signatures.checkheap_returns is not None else RET_INT
    HEADER.pack_into(image, 0, LAB_MAGIC, trace.num_ids, trace.num_ops, settings.sample_every,
                     where["ops"], where["series"], where["blocks"], where["nodes"],
                     where["max_nodes"], where["addrs"], settings.align, flags,
                     signatures.init_returns, checkheap,
                     NO_OP if stop_op is None else stop_op)
    for i, op in enumerate(trace.ops):
        OP.pack_into(image, where["ops"] + OP.size * i, op.kind, op.id, op.size)
    return bytes(image)


@dataclass
class LabResults:
    """What the driver wrote: the outcome, and the call it was in when it stopped."""
    status: int
    failed_op: int
    peak_payload: int
    peak_footprint: int
    final_heap: int
    timing_ns: int
    passes: int                     # 1 while checking, 2 while timing or counting
    op: int                         # the op in progress (NO_OP before the first)
    call: int                       # CALLS key, 0 between calls
    call_args: tuple[int, int]
    message: str
    series: list[tuple[int, int]] = field(default_factory=list)
    addrs: list[int] = field(default_factory=list)

    def call_text(self) -> str:
        """The call in progress as C: 'mm_malloc(29978)', '' when none."""
        name = CALLS.get(self.call)
        if name is None:
            return ""
        a, b = self.call_args
        args = {"mm_init": "", "mm_malloc": f"{a}", "mm_free": f"{a:#x}",
                "mm_realloc": f"{a:#x}, {b}", "mm_calloc": f"{a}, {b}",
                "mm_checkheap": f"{a}"}[name]
        return f"{name}({args})".replace("(0x0", "(NULL")


def unpack_results(read, base: int, trace: Trace) -> LabResults:
    """Read the driver's results from the lab image at `base` (read(vaddr, n));
    the series and addresses cover the ops the checking pass finished (all of
    them, or those before the op that failed)."""
    header = HEADER.unpack(read(base, HEADER.size))
    fields = RESULTS.unpack(read(base + RESULTS_OFFSET, RESULTS.size))
    raw = read(base + RESULTS_OFFSET + RESULTS.size, MESSAGE_BYTES)
    message = raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")
    status, failed_op, passes, op = fields[0], fields[1], fields[6], fields[7]
    if status == STATUS_OK or passes >= 2:
        done = trace.num_ops
    else:
        stopped_at = failed_op if status == STATUS_FAILED else op
        done = 0 if stopped_at == NO_OP else min(trace.num_ops, stopped_at)
    series_offset, addrs_offset = header[5], header[9]
    data = read(base + series_offset, 16 * done) if done else b""
    series = [struct.unpack_from("<QQ", data, 16 * i) for i in range(done)]
    data = read(base + addrs_offset, 8 * done) if done else b""
    addrs = list(struct.unpack(f"<{done}Q", data)) if done else []
    return LabResults(*fields[:8], call=fields[8], call_args=(fields[9], fields[10]),
                      message=message, series=series, addrs=addrs)

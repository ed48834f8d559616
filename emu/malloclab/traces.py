"""CS:APP malloc-lab traces: reading `.rep` files and packing them for the guest.

A trace file holds four header integers, one per line -- suggested heap size
(unused), number of ids, number of ops, weight (unused) -- then one op per
line: `a ID SIZE` (malloc), `f ID` (free), `r ID SIZE` (realloc). Reading
checks what the driver would trip on: ids in range, no free of an id that is
not allocated, no id allocated twice, the op count the header promises.
Every problem is one TraceError naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..userfiles import read_user_text

OP_ALLOC, OP_FREE, OP_REALLOC = 0, 1, 2
_KINDS = {"a": OP_ALLOC, "f": OP_FREE, "r": OP_REALLOC}
_NAMES = {OP_ALLOC: "a", OP_FREE: "f", OP_REALLOC: "r"}
MAX_SIZE = 1 << 40
MAX_COUNT = 1 << 22              # ids or ops in one trace: the driver's image must fit in RAM


class TraceError(UsageError):
    """A trace file that cannot be replayed; str() is 'FILE:LINE: why'."""


@dataclass(frozen=True)
class Op:
    kind: int
    id: int
    size: int
    line: int

    def text(self) -> str:
        if self.kind == OP_FREE:
            return f"f {self.id}"
        return f"{_NAMES[self.kind]} {self.id} {self.size}"


@dataclass
class Trace:
    name: str
    path: str
    num_ids: int
    ops: list[Op] = field(default_factory=list)

    @property
    def num_ops(self) -> int:
        return len(self.ops)


def read_trace(path) -> Trace:
    path = Path(path)
    try:
        text = read_user_text(path)
    except UsageError as exc:
        raise TraceError(str(exc)) from None
    return parse_trace(text, str(path))


def parse_trace(text: str, path: str = "<trace>") -> Trace:
    lines = text.splitlines()
    header = _header(lines, path)
    _, num_ids, num_ops, _ = header
    trace = Trace(Path(path).stem, path, num_ids)
    live: set[int] = set()
    for number in range(5, len(lines) + 1):
        words = lines[number - 1].split()
        if not words:
            continue
        trace.ops.append(_op(words, number, path, num_ids, live))
    if len(trace.ops) != num_ops:
        last = len(lines)
        raise TraceError(f"{path}:{last}: the header promises {num_ops} ops, the file has "
                         f"{len(trace.ops)}" + (" (truncated?)" if len(trace.ops) < num_ops else ""))
    return trace


def _header(lines: list[str], path: str) -> list[int]:
    names = ("suggested heap size", "number of ids", "number of ops", "weight")
    values = []
    for i, name in enumerate(names):
        if i >= len(lines):
            raise TraceError(f"{path}:{i + 1}: header: expected the {name}, found the end of the file")
        text = lines[i].strip()
        try:
            value = int(text)
        except ValueError:
            raise TraceError(f"{path}:{i + 1}: header: expected the {name} (an integer), "
                             f"found '{text}'") from None
        if value < 0:
            raise TraceError(f"{path}:{i + 1}: header: the {name} is negative ({value})")
        if name in ("number of ids", "number of ops") and value > MAX_COUNT:
            raise TraceError(f"{path}:{i + 1}: header: the {name} is {value}; this driver "
                             f"takes at most {MAX_COUNT}")
        values.append(value)
    return values


def _op(words: list[str], line: int, path: str, num_ids: int, live: set[int]) -> Op:
    where = f"{path}:{line}"
    kind = _KINDS.get(words[0])
    if kind is None or len(words) != (2 if kind == OP_FREE else 3):
        raise TraceError(f"{where}: expected 'a ID SIZE', 'f ID' or 'r ID SIZE', "
                         f"found '{' '.join(words)}'")
    try:
        ident = int(words[1])
        size = int(words[2]) if kind != OP_FREE else 0
    except ValueError:
        raise TraceError(f"{where}: expected integers, found '{' '.join(words)}'") from None
    if not 0 <= ident < num_ids:
        raise TraceError(f"{where}: id {ident} is out of range (the header says {num_ids} ids)")
    if not 0 <= size <= MAX_SIZE:
        raise TraceError(f"{where}: size {size} is out of range")
    if kind == OP_ALLOC:
        if ident in live:
            raise TraceError(f"{where}: id {ident} is allocated again before it is freed")
        live.add(ident)
    elif kind == OP_FREE:
        if ident not in live:
            raise TraceError(f"{where}: free of id {ident}, which is not allocated")
        live.discard(ident)
    else:
        live.add(ident)
    return Op(kind, ident, size, line)


class TraceWriter:
    """Builds a balanced trace op by op: ids handed out in order, never reused.
    Used by the trace generators (the lab's and examples/traces/make_traces.py)."""

    def __init__(self):
        self.ops: list[str] = []
        self.next_id = 0
        self.live: dict[int, int] = {}

    def alloc(self, size: int) -> int:
        ident = self.next_id
        self.next_id += 1
        self.ops.append(f"a {ident} {size}")
        self.live[ident] = size
        return ident

    def free(self, ident: int) -> None:
        self.ops.append(f"f {ident}")
        del self.live[ident]

    def realloc(self, ident: int, size: int) -> None:
        self.ops.append(f"r {ident} {size}")
        self.live[ident] = size

    def free_all(self, shuffled) -> None:
        """Free every live block, in the order shuffled(sorted ids) gives."""
        for ident in shuffled(sorted(self.live)):
            self.free(ident)

    def text(self) -> str:
        """The trace file: header (suggested heap size 0, ids, ops, weight 1), ops."""
        header = ["0", str(self.next_id), str(len(self.ops)), "1"]
        return "\n".join(header + self.ops) + "\n"

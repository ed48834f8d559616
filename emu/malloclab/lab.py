"""Running an allocator on traces inside the machine.

    lab = Lab.for_allocator("implicit")            # or a .c / .asm path
    result = lab.run(read_trace("x.rep"))           # one guest run per trace

The allocator is linked with the guest driver (asm/malloclab/driver.c); for
each trace a fresh machine runs it as a process whose lab region holds the
packed trace. The driver checks and times the replay; the host reads the
results back and, when asked, walks the heap at sample points (a breakpoint
hook on the driver's lab_sample(), so the normal run carries no extra hooks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kernel.vma import PROT_READ, PROT_WRITE

from .. import ASM_DIR, EXAMPLES_DIR
from ..errors import UsageError
from ..heap import walk_heap
from ..machine import Budget, Machine
from ..loader import load_program
from ..paging import page_align_up
from ..runner import ProcessRunner
from ..userfiles import require_file
from .traces import LabResults, Trace, pack, unpack_results

DRIVER = ASM_DIR / "malloclab" / "driver.c"
C_ALLOCATORS = ("bump", "firstfit", "implicit", "explicit", "segregated", "buddy")
ASM_ALLOCATORS = ("bump-asm", "firstfit-asm")
BUILTIN = tuple(C_ALLOCATORS) + ASM_ALLOCATORS
LAB_BASE = 0x6000_0000_0000          # where the packed trace is mapped in the process
HEAP_LIMIT = 20 << 20                # CS:APP's MAX_HEAP: 20 MiB of heap and mappings
MAX_HEAP_LIMIT_MIB = 128 << 10       # the largest machine's RAM
RAM_MIB = 256
BUDGET = Budget(seconds=600)


def builtin_path(name: str) -> Path:
    if name in C_ALLOCATORS:
        return EXAMPLES_DIR / "allocators" / f"{name}.c"
    return ASM_DIR / "allocators" / f"{name.removesuffix('-asm')}.asm"


@dataclass
class Sample:
    op_index: int
    blocks: list                      # heap.Block, in address order


@dataclass
class TraceResult:
    trace: Trace
    valid: bool
    util: float
    secs: float
    error: str = ""
    peak_payload: int = 0
    peak_footprint: int = 0
    series: list = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.trace.name

    @property
    def ops(self) -> int:
        return self.trace.num_ops

    @property
    def kops(self) -> float:
        return self.ops / self.secs / 1000 if self.secs > 0 else 0.0

    def to_json(self) -> dict:
        return {"name": self.name, "valid": self.valid, "util": self.util, "ops": self.ops,
                "secs": self.secs, "kops": self.kops, "error": self.error or None}


class Lab:
    """An allocator linked with the driver, ready to run traces."""

    def __init__(self, name: str, image, heap_limit: int = HEAP_LIMIT, ram_mib: int = RAM_MIB):
        self.name = name
        self.image = image
        self.heap_limit = heap_limit
        self.ram_mib = ram_mib

    @classmethod
    def for_allocator(cls, spec: str, *, cc: str | None = None, **kwargs) -> "Lab":
        """ALLOCATOR as the CLI takes it: a built-in name, a .c file or an .asm file."""
        path = builtin_path(spec) if spec in BUILTIN else Path(spec)
        try:
            require_file(path)
        except UsageError as exc:
            raise UsageError(f"allocator {exc}, and not one of {', '.join(BUILTIN)}") from None
        if path.suffix == ".c":
            image = load_program(DRIVER, cc=cc, extra_sources=[path], defines=["MM_LIBRARY"])
        elif path.suffix == ".asm":
            image = load_program(DRIVER, cc=cc, link=[path])
        else:
            raise UsageError(f"allocator '{spec}': expected a .c or .asm file")
        return cls(spec if spec in BUILTIN else path.stem, image, **kwargs)

    def run(self, trace: Trace, sample_every: int = 0) -> TraceResult:
        """Replay `trace` in a fresh machine; the first failure makes it invalid."""
        runner = ProcessRunner(Machine(ram_mib=self.ram_mib), self.image,
                          ["mdriver", f"{LAB_BASE:x}"], data_limit=self.heap_limit)
        image = pack(trace, sample_every)
        space = runner.aspace
        space.add(LAB_BASE, LAB_BASE + page_align_up(len(image)), PROT_READ | PROT_WRITE, "[lab]")
        space.populate(LAB_BASE, image)
        samples: list[Sample] = []
        if sample_every:
            self._hook_samples(runner, samples)
        _Accelerator(runner, self.image.symbols).install()
        try:
            while runner.alive:
                runner.resume(BUDGET)
            results = unpack_results(runner.machine.mmu.read_virtual, LAB_BASE, trace) \
                if runner.fault is None else None
        finally:
            outcome = runner.finish()
        return self._result(trace, results, outcome, samples)

    def _hook_samples(self, runner: ProcessRunner, samples: list[Sample]) -> None:
        address = self.image.symbols.get("lab_sample")
        if address is None:
            return
        space, machine = runner.aspace, runner.machine

        def sample(_address):
            read = lambda vaddr, n: machine.mmu.read_virtual(vaddr, n, root=space.root)
            walk = walk_heap(read, self.image.symbols, space.brk_start, space.brk)
            samples.append(Sample(machine.reg("rdi"), walk.blocks))
        machine.add_breakpoint(address, sample)

    def _result(self, trace: Trace, results: LabResults | None, outcome, samples) -> TraceResult:
        if results is None or results.status != 1:
            return TraceResult(trace, False, 0.0, 0.0, self._error(trace, results, outcome),
                               series=results.series if results else [], samples=samples)
        util = results.peak_payload / results.peak_footprint if results.peak_footprint else 0.0
        return TraceResult(trace, True, util, results.timing_ns / 1e9, "",
                           results.peak_payload, results.peak_footprint, results.series, samples)

    def _error(self, trace: Trace, results: LabResults | None, outcome) -> str:
        where = trace.path
        if results is not None and results.status == 2:
            op = trace.ops[min(results.failed_op, trace.num_ops - 1)]
            return f"{where}:{op.line}: op {results.failed_op} ({op.text()}): {results.message}"
        if outcome.fault is not None:
            fault = outcome.fault
            return (f"{where}: the allocator crashed: {fault.reason} at {fault.address:#x} "
                    f"({fault.access or 'exception'}), rip {fault.rip:#x}"
                    + (f" <{fault.symbol}>" if fault.symbol else ""))
        if outcome.stopped:
            return f"{where}: {outcome.message}"
        return f"{where}: the driver ended with status {outcome.exit_code} and no report"


def pattern(ident: int, start: int, end: int) -> bytes:
    """Bytes [start, end) of the fill of block `ident`: (id*131 + i*7 + 1) mod 256,
    as the driver's pattern(). It repeats every 256 bytes."""
    base = (ident * 131 + 1) & 0xFF
    period = bytes((base + 7 * i) & 0xFF for i in range(256))
    first = start % 256
    count = end - start
    return (period[first:] + period * (count // 256 + 1))[:count]


class _Accelerator:
    """Host-speed bodies for the driver's lab_fill and lab_verify (see driver.c)."""

    def __init__(self, runner: ProcessRunner, symbols: dict[str, int]):
        self.runner = runner
        self.symbols = symbols

    def install(self) -> None:
        for name, body in (("lab_fill", self._fill), ("lab_verify", self._verify)):
            address = self.symbols.get(name)
            if address is not None:
                self.runner.machine.add_breakpoint(address, body)

    def _args(self) -> list[int]:
        return [self.runner.machine.reg(r) for r in ("rdi", "rsi", "rdx", "rcx")]

    def _return(self) -> None:
        """Do what the function's `ret` would: pop the return address into rip."""
        m = self.runner.machine
        rsp = m.reg("rsp")
        m.set_reg("rip", self.runner.process.read_u64(rsp))
        m.set_reg("rsp", rsp + 8)

    def _fill(self, _address) -> None:
        ident, p, start, end = self._args()
        if end <= start or self.runner.process.write(p + start, pattern(ident & 0xFFFFFFFF,
                                                                         start, end)):
            self._return()

    def _verify(self, _address) -> None:
        ident, p, size, _ = self._args()
        if size == 0 or self.runner.process.read(p, size) == pattern(ident & 0xFFFFFFFF, 0, size):
            self._return()

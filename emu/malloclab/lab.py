"""Running an allocator on traces inside the machine.

    lab = Lab.for_allocator("implicit")            # or a .c / .asm path
    result = lab.run(read_trace("x.rep"))           # one guest run per trace
    result = lab.run(trace, Settings(align=8, check_heap=True, count=True))

The allocator is linked with the guest driver (build.py); for each trace a
fresh machine runs it as a process whose lab region holds the packed trace
(image.py). The driver checks, then times or counts, the replay; the host
reads the results back, and, when asked, walks the heap at sample points (a
breakpoint hook on the driver's lab_sample(), so the normal run carries no
extra hooks). With Settings.count, the machine's exact instruction counter is
attached when the driver reaches its second pass (lab_pass), and each op's
allocator call is a span between lab_count_begin and lab_count_end.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from kernel.vma import PROT_READ, PROT_WRITE

from ..errors import UnmappedAccess
from ..heap import Memory, heap_bounds, page_cached, walk_heap
from ..machine import Budget, Machine
from ..paging import page_align_up
from ..runner import ProcessRunner
from .build import BUILTIN, LabProgram, build_lab  # noqa: F401  (BUILTIN: the CLI's list)
from .crash import failure_report
from .image import STATUS_OK, LabResults, Settings, pack, unpack_results
from .layout import declared_walker
from .traces import Trace

LAB_BASE = 0x6000_0000_0000          # where the packed trace is mapped in the process
HEAP_LIMIT = 20 << 20                # CS:APP's MAX_HEAP: 20 MiB of heap and mappings
MAX_HEAP_LIMIT_MIB = 128 << 10       # the largest machine's RAM
RAM_MIB = 256
BUDGET = Budget(seconds=600)


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
    series: list = field(default_factory=list)      # (payload, footprint) after each op
    samples: list[Sample] = field(default_factory=list)
    addrs: list[int] = field(default_factory=list)  # the payload address each op left
    insns: list[int] | None = None                  # instructions of each op's call
    failed_op: int | None = None
    heap_start: int = 0                             # mem_heap_lo()

    @property
    def name(self) -> str:
        return self.trace.name

    @property
    def ops(self) -> int:
        return self.trace.num_ops

    @property
    def kops(self) -> float:
        return self.ops / self.secs / 1000 if self.secs > 0 else 0.0

    @property
    def insns_per_op(self) -> float | None:
        if not self.insns:
            return None
        return sum(self.insns) / len(self.insns)

    def to_json(self) -> dict:
        out = {"name": self.name, "valid": self.valid, "util": self.util, "ops": self.ops,
               "secs": self.secs, "kops": self.kops, "error": self.error or None}
        if self.insns is not None:
            out.update(insns=sum(self.insns), insns_per_op=self.insns_per_op,
                       max_insns_op=max(self.insns) if self.insns else 0)
        return out


class _Pass2:
    """The stop request of the hook on lab_pass: the driver is about to count."""


class Lab:
    """An allocator linked with the driver, ready to run traces."""

    def __init__(self, program: LabProgram, heap_limit: int = HEAP_LIMIT,
                 ram_mib: int = RAM_MIB, spec: str = ""):
        self.program = program
        self.name = program.name
        self.image = program.image
        self.heap_limit = heap_limit
        self.ram_mib = ram_mib
        self.spec = spec or program.name

    @classmethod
    def for_allocator(cls, spec: str, *, cc: str | None = None, layout_file=None,
                      **kwargs) -> "Lab":
        """ALLOCATOR as the CLI takes it: a built-in name, a .c file or an .asm file."""
        return cls(build_lab(spec, cc=cc, layout_file=layout_file), spec=spec, **kwargs)

    def start(self, trace: Trace, settings: Settings) -> ProcessRunner:
        """A process ready to replay `trace`: the lab image mapped at LAB_BASE and
        the host-speed checks hooked. The caller runs it (run(), or `--debug`)."""
        runner = ProcessRunner(Machine(ram_mib=self.ram_mib), self.image,
                               ["mdriver", f"{LAB_BASE:x}"], data_limit=self.heap_limit)
        image = pack(trace, settings, self.program.signatures)
        space = runner.aspace
        space.add(LAB_BASE, LAB_BASE + page_align_up(len(image)), PROT_READ | PROT_WRITE, "[lab]")
        space.populate(LAB_BASE, image)
        _Accelerator(runner, self.image.symbols).install()
        return runner

    def run(self, trace: Trace, settings: Settings | None = None, *, sample_every: int = 0,
            native_counter: bool = True, budget: Budget | None = None) -> TraceResult:
        """Replay `trace` in a fresh machine; the first failure makes it invalid.
        `budget` limits each pass (the lab grader gives instructions, never
        seconds); running out of it is a failure like a crash."""
        settings = settings or Settings(sample_every=sample_every)
        runner = self.start(trace, settings)
        samples: list[Sample] = []
        if settings.sample_every:
            self._hook_samples(runner, samples)
        pass_hook = self._hook_pass(runner) if settings.count else None
        counter = None
        try:
            while runner.alive:
                request = runner.resume(budget or BUDGET)
                if isinstance(request, _Pass2):
                    runner.machine.remove_hook(pass_hook)
                    counter = self._count(runner, trace, native_counter)
            read = runner.machine.mmu.read_virtual
            results = unpack_results(lambda a, n: read(a, n, root=runner.aspace.root),
                                     LAB_BASE, trace)
            bounds = self._heap_bounds(runner)
        finally:
            outcome = runner.finish()
        insns = _per_op(counter.spans()) if counter is not None else None
        return self._result(trace, settings, results, outcome, samples, insns, bounds)

    def _count(self, runner: ProcessRunner, trace: Trace, native: bool):
        symbols = self.image.symbols
        return runner.machine.count_instructions(begin_at=symbols["lab_count_begin"],
                                                 end_at=symbols["lab_count_end"],
                                                 capacity=trace.num_ops + 1, native=native)

    def _hook_pass(self, runner: ProcessRunner):
        machine = runner.machine
        return machine.add_breakpoint(self.image.symbols["lab_pass"],
                                      lambda _address: machine.stop(_Pass2()))

    def _hook_samples(self, runner: ProcessRunner, samples: list[Sample]) -> None:
        address = self.image.symbols.get("lab_sample")
        if address is None:
            return
        space, machine = runner.aspace, runner.machine
        layout = self.program.layout
        walker = declared_walker(layout) if layout is not None else None

        def sample(_address):
            read = page_cached(lambda vaddr, n: machine.mmu.read_virtual(vaddr, n, root=space.root))
            walk = walk_heap(read, self.image.symbols, space.brk_start, space.brk, walker)
            samples.append(Sample(machine.reg("rdi"), walk.blocks))
        machine.add_breakpoint(address, sample)

    def _heap_bounds(self, runner: ProcessRunner) -> tuple[int, int]:
        """memlib's [heap_lo, break), read before the process goes away."""
        space = runner.aspace
        read = lambda vaddr, n: runner.machine.mmu.read_virtual(vaddr, n, root=space.root)
        try:
            return heap_bounds(Memory(read), self.image.symbols, space.brk_start, space.brk)
        except UnmappedAccess:
            return space.brk_start, space.brk

    def _result(self, trace: Trace, settings: Settings, results: LabResults, outcome,
                samples, insns, bounds) -> TraceResult:
        common = dict(series=results.series, samples=samples, addrs=results.addrs,
                      heap_start=bounds[0])
        if results.status != STATUS_OK or outcome.exit_code != 0:
            error, failed_op = failure_report(self.spec, trace, settings, results, outcome,
                                              bounds, self.heap_limit)
            return TraceResult(trace, False, 0.0, 0.0, error, failed_op=failed_op, **common)
        util = results.peak_payload / results.peak_footprint if results.peak_footprint else 0.0
        return TraceResult(trace, True, util, results.timing_ns / 1e9, "",
                           results.peak_payload, results.peak_footprint, insns=insns, **common)


def _per_op(spans: list[int]) -> list[int]:
    """Each op's instructions: its span less the marks' own (the first span,
    measured with nothing between the marks)."""
    if not spans:
        return []
    overhead = spans[0]
    return [span - overhead for span in spans[1:]]


def pattern(ident: int, start: int, end: int) -> bytes:
    """Bytes [start, end) of the fill of block `ident`: (id*131 + i*7 + 1) mod 256,
    as the driver's pattern(). It repeats every 256 bytes."""
    period = _period((ident * 131 + 1) & 0xFF)
    first = start % 256
    count = end - start
    return (period[first:] + period * (count // 256 + 1))[:count]


@functools.lru_cache(maxsize=256)
def _period(base: int) -> bytes:
    """The 256 bytes pattern() repeats from `base`: made once per base, not at
    every fill and verify of the check replay (~20 us each here)."""
    return bytes((base + 7 * i) & 0xFF for i in range(256))


class _Accelerator:
    """Host-speed bodies for the driver's lab_fill, lab_verify and
    lab_verify_zero (see driver.c)."""

    def __init__(self, runner: ProcessRunner, symbols: dict[str, int]):
        self.runner = runner
        self.symbols = symbols

    def install(self) -> None:
        for name, body in (("lab_fill", self._fill), ("lab_verify", self._verify),
                           ("lab_verify_zero", self._verify_zero)):
            address = self.symbols.get(name)
            if address is not None:
                self.runner.machine.add_breakpoint(address, body)

    def _args(self) -> list[int]:
        return self.runner.machine.read_regs(("rdi", "rsi", "rdx", "rcx"))

    def _return(self) -> None:
        """Do what the function's `ret` would: pop the return address into rip.
        (rip alone through set_reg: Unicorn leaves the hooked instruction only
        when rip is written that way, not in a batch.)"""
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

    def _verify_zero(self, _address) -> None:
        _, p, size, _ = self._args()
        if size == 0 or self.runner.process.read(p, size) == bytes(size):
            self._return()

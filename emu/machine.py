"""The machine: one x86-64 CPU (Unicorn), physical RAM, the MMU, a booted kernel.

    m = Machine(ram_mib=1024)
    m.load("asm/os_mem_allocate.asm")
    regs = m.call("os_mem_allocate", rcx=3)     # kernel mode, kernel address space
    m.memory_map.free_count()

Every run has a budget (instructions and/or seconds). Running out is a clean
BudgetExceeded; a refused access or CPU exception is a GuestFault; nothing the
guest does can crash the host process.

Unicorn facts that shape run() (measured here, unicorn 2.1.4):
  * the instruction `count` and the stop address only take effect in code
    translated after they are set: code cached by an earlier run ignores them.
    So the translation cache is flushed whenever counting switches on or off,
    and cached code at the stop address is dropped before each run.
  * with a plain `until`, Unicorn fetches the page of `until - 1` when a hook
    stops the run, which faults when that page is not mapped. Stop addresses
    are therefore given as Unicorn "exits" (UC_CTL_UC_USE_EXITS), which do not.
  * Unicorn's `timeout` polls every 2 us in a thread of its own for the whole
    run (40% more CPU on a register-only loop), so time budgets are kept by
    a sleeping RunTimer (emu/watchdog.py) instead; a count costs ~nothing
    per run but doubles the cost of each instruction: calls count, long
    process runs use the clock.
"""

from __future__ import annotations

import ctypes
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from unicorn import (UC_ARCH_X86, UC_ERR_FETCH_UNMAPPED, UC_ERR_INSN_INVALID,
                     UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UC_HOOK_CODE,
                     UC_HOOK_INTR, UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE, UC_MODE_64, UC_PROT_ALL,
                     Uc, UcError)
from unicorn.unicorn_py3.unicorn import HOOK_CODE_CFUNC, HOOK_MEM_ACCESS_CFUNC, uc_hook_h, uclib
from unicorn.x86_const import UC_CPU_X86_NEHALEM, UC_X86_REG_CR4

from kernel import layout
from kernel.boot import boot

from . import disasm, icount
from .errors import BudgetExceeded, UnmappedAccess, UsageError
from .faults import GENERAL_PROTECTION, FaultReporter
from .mmu import MMU
from .register_batch import RegisterBatch
from .paging import PAGE_4K, U64
from .ram import PhysicalRAM
from .registers import GPRS, REGISTER_FILE, RFLAGS_RESERVED, UC_REGS, parse_value
from .symbols import SymbolTable
from .syscall_entry import SyscallEntry
from .watchdog import RunTimer

if TYPE_CHECKING:            # the assembler (keystone) loads when asm is loaded, not at boot
    from .assembler import Program


@dataclass(frozen=True)
class Budget:
    """Limits for one run: None means no limit of that kind."""
    instructions: int | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Traps:
    """Where the CPU goes when the guest traps to the kernel during one run.

    syscall(regs)                           the guest ran `syscall`; regs holds the
                                            call (emu/syscall_entry.py's SYSCALL_REGS);
                                            returns the result for rax, or None when
                                            the call does not return now
    page_fault(vaddr, access, leaf, reason) the MMU refused an access: True when
                                            the kernel mapped the page (the access
                                            is retried), else the reason to report;
                                            leaf is the entry mapping the page, or 0
    symbols                                 the running program's symbols, tried
                                            before the kernel's in fault reports
    Without a syscall handler, `syscall` returns -ENOSYS; without a fault
    handler, every refused access is a GuestFault.
    """
    syscall: Callable[[list[int]], int | None] | None = None
    page_fault: Callable | None = None
    symbols: SymbolTable | None = None


@dataclass(frozen=True)
class Hook:
    """What add_breakpoint / add_memory_watch / add_write_observer /
    add_instruction_observer return: give it to remove_hook()."""
    handles: tuple = ()
    observer: Callable | None = None
    native: tuple = ()            # (handle, C function) pairs added through the C API
    every_instruction: bool = False


# The CPU model programs see through CPUID: a Nehalem (Core i7, 2008), SSE4.2
# and no AVX, which Unicorn's translator runs. Unicorn's default model
# advertises ERMS ("fast rep movsb/stosb"), so glibc picks rep-string memset
# and memcpy, which Unicorn runs slowly; on a Nehalem it picks SSE2 loops
# (measured: a memset/memcpy workload in half the time). Choosing a model
# resets CR4, so SSE is switched back on as a kernel does at boot (OSFXSR,
# OSXMMEXCPT); without it the first SSE instruction is #UD.
CPU_MODEL = UC_CPU_X86_NEHALEM
CR4_SSE = 1 << 9 | 1 << 10

CALL_BUDGET = Budget(instructions=100_000_000)
WIDE_REGISTERS = frozenset(REGISTER_FILE + ("fs_base", "gs_base", "cr3"))   # 64-bit ones
_SAVE_CONTEXT = uclib.uc_context_save
_REG_WRITE = uclib.uc_reg_write
NEVER = 1 << 63          # "no stop address": run to exit, fault or budget
NO_TRAPS = Traps()
# hlt: where a called routine returns to (test_startup checks it)
RETURN_TRAP_CODE = HLT = b"\xf4"
ENOSYS = 38


class Machine:
    """An x86-64 machine with `ram_mib` MiB of RAM and the kernel booted.

    Tools (the debugger, the gdb stub, the malloc lab) use the API below and
    never the Unicorn object: registers by name, breakpoints and memory
    watches as hooks, observers of every write, run() with the kernel's traps.
    """

    def __init__(self, ram_mib: int = 1024, native: bool = True):
        problem = layout.validate_ram_mib(ram_mib)
        if problem:
            raise UsageError(problem)
        self.ram_mib = ram_mib
        self._uc = Uc(UC_ARCH_X86, UC_MODE_64)
        self._uc.ctl_set_cpu_model(CPU_MODEL)
        self._uc.reg_write(UC_X86_REG_CR4, CR4_SSE)
        self._engine = self._uc._uch           # the C handle, for the C API calls below
        self._reg_value = ctypes.c_uint64()    # set_reg's value, passed by reference
        self._reg_ref = ctypes.byref(self._reg_value)
        self._batches: dict[tuple, RegisterBatch] = {}
        self.ram = PhysicalRAM(ram_mib * layout.MiB, self._code_written, self._pages_written)
        self._uc.mem_map_ptr(0, self.ram.size, UC_PROT_ALL, self.ram.host_address)
        self.memory_map, self.frames, self.page_tables = boot(self.ram, ram_mib)
        self.mmu = MMU(self._uc, self.ram, native)
        self.page_tables.unmap_leaves = self.mmu.unmap_leaves
        self.mmu.switch(layout.KERNEL_PML4, user=False)
        self.symbols = SymbolTable()
        for name, value in layout.KERNEL_SYMBOLS.items():
            self.symbols.add_constant(name, value)
        self.faults = FaultReporter(self.reg, self.mmu, self.describe)
        self.programs: list[Program] = []
        self._load_cursor = layout.KERNEL_CODE
        self._stop_request = None
        self._counting: bool | None = None
        self._traps = NO_TRAPS
        # Called before a tool's breakpoint or memory-watch callback: the
        # process runner running now brings the kernel up to date (the C
        # mmap and munmap, kernel/anon_maps.py), for callbacks that read it.
        self.before_hook = None
        self._uc.ctl_exits_enabled(True)
        self._exits: tuple[int, ...] | None = None   # what Unicorn's exits are set to
        self._install_return_trap()
        self._uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        fast = None if self.mmu.anon_maps is None else self.mmu.anon_maps.fast_syscall
        self._syscall_entry = SyscallEntry(self._uc, self._on_syscall_insn, self.stop, native,
                                           fast)

    def _install_return_trap(self) -> None:
        """One hlt at RETURN_TRAP, named kernel_return_trap. Written as its
        byte: assembling it would load keystone for every machine."""
        self.ram.write(layout.RETURN_TRAP, RETURN_TRAP_CODE)
        self.symbols.add_address("kernel_return_trap", layout.RETURN_TRAP,
                                 layout.RETURN_TRAP + len(RETURN_TRAP_CODE))

    # -- registers (names: emu/registers.py) ---------------------------------------

    def registers(self) -> dict[str, int]:
        """The 16 GPRs, rip and rflags."""
        return dict(zip(REGISTER_FILE, self.read_regs(REGISTER_FILE)))

    def reg(self, name: str):
        batch = self._batches.get((name,)) or self._batch((name,))
        if batch is not None:                 # a 64-bit register: one C call, no binding
            return batch.read()[0]
        return self._uc.reg_read(UC_REGS[name])

    def set_reg(self, name: str, value) -> None:
        # Through uc_reg_write, never a batch: only it makes a hook that writes
        # rip leave the hooked instruction (see malloclab/lab.py's _return). A
        # 64-bit register goes straight to libunicorn (~1 us; the binding ~5).
        if name in WIDE_REGISTERS:
            self._reg_value.value = value & U64
            status = _REG_WRITE(self._engine, UC_REGS[name], self._reg_ref)
            if status:
                raise UcError(status)
            return
        self._uc.reg_write(UC_REGS[name], value)

    def read_regs(self, names) -> list:
        """The values of several registers, in one call."""
        names = tuple(names)
        batch = self._batches.get(names) or self._batch(names)
        if batch is not None:
            return batch.read()
        return list(self._uc.reg_read_batch([UC_REGS[n] for n in names]))

    def write_regs(self, values: dict) -> None:
        """Set several registers {name: value} in one call."""
        names = tuple(values)
        batch = self._batches.get(names) or self._batch(names)
        if batch is not None:
            batch.write([v & U64 for v in values.values()])
            return
        self._uc.reg_write_batch([(UC_REGS[n], v) for n, v in values.items()])

    def _batch(self, names: tuple):
        """A RegisterBatch for `names` when they are all 64-bit registers (the
        system call and fault paths use them), else None."""
        if not all(n in WIDE_REGISTERS for n in names):
            return None
        batch = self._batches[names] = RegisterBatch(self._engine,
                                                     [UC_REGS[n] for n in names])
        return batch

    def save_context(self, into=None):
        """The whole CPU state, for restore_context() (the debugger's undo).
        With `into` (a context this returned before), that context is
        overwritten instead of a new one allocated: ~1 us instead of ~7."""
        if into is None:
            return self._uc.context_save()
        _SAVE_CONTEXT(self._engine, into.context)
        return into

    def restore_context(self, context) -> None:
        self._uc.context_restore(context)

    # -- hooks for tools --------------------------------------------------------------

    def add_breakpoint(self, address: int, callback) -> Hook:
        """callback(address) runs before the instruction at virtual `address`
        executes; it may call stop(). Costs nothing at other addresses."""
        handle = self._uc.hook_add(UC_HOOK_CODE,
                                   lambda _uc, a, _s, _d: self._tool_hook(callback, a), None,
                                   address, address)
        self.drop_translation(address)
        return Hook((handle,))

    def add_memory_watch(self, lo: int, hi: int, kind: str, callback) -> Hook:
        """callback(paddr, size) runs on every guest `kind` ("read" or "write")
        access whose first byte is in physical [lo, hi]. A write's callback runs
        before the store; stop() from it leaves the store done and RIP on the
        instruction (Unicorn's behaviour)."""
        hook_type = UC_HOOK_MEM_WRITE if kind == "write" else UC_HOOK_MEM_READ
        handle = self._uc.hook_add(hook_type,
                                   lambda _uc, _k, a, n, _v, _d: self._tool_hook(callback, a, n),
                                   None, lo, hi)
        return Hook((handle,))

    def _tool_hook(self, callback, *args):
        """Run a tool's callback mid-run, after `before_hook`: the kernel
        catches up with what C did since it last ran (emu/runner.py)."""
        if self.before_hook is not None:
            self.before_hook()
        return callback(*args)

    def add_write_observer(self, callback) -> Hook:
        """callback(paddr, size) runs before any change to physical memory,
        by a guest store or by the host (kernel, loader, debugger)."""
        def on_store(_engine, _kind, paddr, size, _value, _data):
            try:
                callback(paddr, size)
            except BaseException as exc:       # noqa: BLE001 - handed to run()
                self.stop(exc)
        native = self._native_hook(UC_HOOK_MEM_WRITE, HOOK_MEM_ACCESS_CFUNC(on_store))
        self.ram.observers.append(callback)
        return Hook(observer=callback, native=(native,))

    def add_instruction_observer(self, callback) -> Hook:
        """callback(address) runs before every instruction (it may call stop():
        the instruction then does not run). Costs ~1.5 us an instruction, so
        only recording uses it; all translated code is dropped on the way in
        and out, so that it takes effect at once. An exception from a
        callback stops the CPU and run() raises it (a C callback cannot raise
        through Unicorn)."""
        def on_instruction(_engine, address, _size, _data):
            try:
                callback(address)
            except BaseException as exc:       # noqa: BLE001 - handed to run()
                self.stop(exc)
        native = self._native_hook(UC_HOOK_CODE, HOOK_CODE_CFUNC(on_instruction))
        self.code_changed()
        return Hook(native=(native,), every_instruction=True)

    def _native_hook(self, kind: int, function) -> tuple:
        """Add a hook over all addresses through the C API: the binding's own
        wrapper costs ~2.5 us a call, which recording pays on every instruction."""
        handle = uc_hook_h()
        status = uclib.uc_hook_add(self._engine, ctypes.byref(handle), kind,
                                   ctypes.cast(function, ctypes.c_void_p), None,
                                   ctypes.c_uint64(1), ctypes.c_uint64(0))
        if status != 0:
            raise UcError(status)
        return handle.value, function

    def remove_hook(self, hook: Hook) -> None:
        for handle in hook.handles:
            self._uc.hook_del(handle)
        for handle, _function in hook.native:
            uclib.uc_hook_del(self._engine, uc_hook_h(handle))
        if hook.observer is not None:
            self.ram.observers.remove(hook.observer)
        if hook.every_instruction:
            self.code_changed()

    def drop_translation(self, address: int) -> None:
        """Forget code translated at `address` (a breakpoint changes what runs there).
        Unicorn takes an exclusive end, so the last byte of the address space
        (where no instruction fits anyway) is left alone."""
        if address < U64:
            self._uc.ctl_remove_cache(address, address + 1)

    def code_changed(self) -> None:
        """Forget all translated code (the host wrote bytes that may be code)."""
        self._uc.ctl_flush_tb()
        self.mmu.forget_code()

    def _code_written(self, paddr: int, length: int) -> None:
        """The host wrote [paddr, paddr+length): drop translated code if those
        bytes lie in a page that was executable since the last drop.

        Unicorn's own uc_mem_write cannot do this under paging: it looks the
        address up as a *virtual* address under the current CR3 before
        invalidating (uc_invalidate_tb -> get_page_addr_code), so a frame
        reused by a new process kept running its previous owner's code
        (measured here: exit() code ran again in the next process)."""
        if self.mmu.may_hold_code(paddr, length):
            self.code_changed()

    def _pages_written(self, paddrs: list[int]) -> None:
        """_code_written for whole pages, many at once (munmap's poisoning)."""
        code_map = self.mmu.code_map
        if any(code_map[paddr // PAGE_4K] for paddr in paddrs):
            self.code_changed()

    def count_instructions(self, *, begin_at: int = 0, end_at: int = 0, capacity: int = 0,
                           native: bool = True):
        """Count every instruction from now on, exactly (emu/icount.py): returns
        a counter whose `count` is the total and whose spans() are the
        instructions from each execution of `begin_at` to the next of `end_at`
        (at most `capacity`). Native C hook, or the Python reference when
        `native` is False or no compiler can build it. Translated code is
        flushed so that every instruction calls the hook."""
        counter = icount.attach(self._uc, begin_at=begin_at, end_at=end_at,
                                capacity=capacity, native=native)
        self._uc.ctl_flush_tb()
        return counter

    def stop_counting(self, counter) -> None:
        """Remove a counter's hook; its figures stay readable."""
        counter.detach()
        self._uc.ctl_flush_tb()

    # -- loading kernel code ----------------------------------------------------------

    def load(self, path) -> Program:
        """Assemble a kernel asm file into the kernel code area; its labels join
        the symbol table. Raises UsageError / AssemblyError."""
        from .assembler import assemble_file
        program = assemble_file(path, base=self._load_cursor, symbols=self.symbols.all())
        return self._place(program)

    def load_source(self, source: str, file: str = "<source>") -> Program:
        """Like load(), from source text."""
        from .assembler import assemble
        program = assemble(source, file=file, base=self._load_cursor, symbols=self.symbols.all())
        return self._place(program)

    def _place(self, program: Program) -> Program:
        self.claim_kernel_code(program.end - self._load_cursor, program.file)
        self.ram.write(program.start, program.image())
        self.symbols.add_program(program)
        self.programs.append(program)
        return program

    @property
    def kernel_code_cursor(self) -> int:
        """The physical address the next kernel code goes to."""
        return self._load_cursor

    def claim_kernel_code(self, size: int, what: str = "kernel code") -> int:
        """Take `size` bytes of the kernel code area at the cursor; returns their
        physical address. UsageError when the area is full."""
        start = self._load_cursor
        if start + size > layout.KERNEL_SERVICES:
            raise UsageError(f"{what}: the kernel code area is full "
                             f"({start + size:#x} > {layout.KERNEL_SERVICES:#x})")
        self._load_cursor = (start + size + 15) & ~15
        return start

    def resolve(self, target) -> int:
        """An address from a symbol name or an int; UsageError for unknown names."""
        if isinstance(target, int):
            return target
        value = self.symbols.get(target)
        if value is None or target not in self.symbols.addresses():
            raise UsageError(f"unknown symbol '{target}'")
        return value

    # -- running ---------------------------------------------------------------------

    def call(self, target, *, budget: Budget = CALL_BUDGET, rflags: int = RFLAGS_RESERVED,
             **regs: int) -> dict[str, int]:
        """Run the routine at `target` in kernel mode until it returns.

        General registers not given start at 0; rsp is the kernel stack with
        the return-trap address on top. Returns the register file after `ret`.
        Raises GuestFault, BudgetExceeded, UsageError (bad symbol/register).
        """
        address = self.resolve(target)
        values = {name: 0 for name in GPRS}
        for name, value in regs.items():
            if name not in GPRS or name == "rsp":
                raise UsageError(f"call: cannot set register '{name}'"
                                 + (" (the call sets rsp)" if name == "rsp" else ""))
            values[name] = parse_value(str(value), name) if not isinstance(value, int) \
                else value & U64
        values["rsp"] = layout.KERNEL_STACK_TOP - 8
        self.ram.write_data(values["rsp"], layout.RETURN_TRAP.to_bytes(8, "little"))
        self.write_regs({**values, "rflags": rflags})
        self.run(address, until=layout.RETURN_TRAP, budget=budget)
        return self.registers()

    def stop(self, request) -> None:
        """Called from a hook: stop the CPU; run() raises `request` if it is an
        exception, or returns it. The first request of a run wins."""
        if self._stop_request is None:
            self._stop_request = request
        self._uc.emu_stop()

    def run(self, begin: int, *, until: int, budget: Budget, root: int | None = None,
            user: bool = False, traps: Traps = NO_TRAPS):
        """Run from `begin` until rip reaches `until` (an address that never runs)
        or a hook calls stop(). Returns None or the stop request; raises
        GuestFault, BudgetExceeded, or what a trap handler raised."""
        self.mmu.switch(layout.KERNEL_PML4 if root is None else root, user)
        counting = budget.instructions is not None
        if counting != self._counting:
            self.code_changed()
            self._counting = counting
        if until != NEVER:
            self.drop_translation(until)
        exits = (until,) if until != NEVER else ()
        if exits != self._exits:              # Unicorn keeps them between runs
            self._uc.ctl_set_exits(list(exits))
            self._exits = exits
        self.mmu.pending_fault = None
        self.mmu.handler_error = None
        self.mmu.fault_handler = traps.page_fault
        self._traps = traps
        self._stop_request = None
        try:
            return self._run(begin, until, budget)
        finally:
            self.mmu.fault_handler = None
            self._traps = NO_TRAPS

    def _run(self, begin: int, until: int, budget: Budget):
        started = time.perf_counter()
        try:
            if budget.seconds:
                with RunTimer(budget.seconds, self._stop_engine):
                    self._uc.emu_start(begin, 0, count=budget.instructions or 0)
            else:
                self._uc.emu_start(begin, 0, count=budget.instructions or 0)
        except UcError as exc:
            raise self._fault_from(exc) from None
        request, self._stop_request = self._stop_request, None
        if isinstance(request, BaseException):
            raise request
        if request is not None:
            return request
        rip = self.reg("rip")
        if rip == until:
            return None
        if self._halted(begin, rip, budget):
            if self.mmu.user:      # hlt is privileged: #GP, reported at the hlt itself
                self.set_reg("rip", rip - 1)
                raise self.faults.other(f"{GENERAL_PROTECTION} (hlt is privileged)",
                                        signal.SIGSEGV)
            raise self.faults.other("halted (hlt) instead of returning", signal.SIGSEGV,
                                    rip=rip - 1)
        elapsed = time.perf_counter() - started
        if budget.seconds and elapsed >= budget.seconds * 0.95:
            self._counting = None    # after a timeout, start the next run from fresh code
            raise BudgetExceeded("time", budget.seconds, rip)
        raise BudgetExceeded("instructions", budget.instructions or 0, rip)

    def _stop_engine(self) -> None:
        """Stop the run from another thread (the time budget's RunTimer)."""
        uclib.uc_emu_stop(self._engine)

    def _halted(self, begin: int, rip: int, budget: Budget) -> bool:
        """Did the run stop because it executed hlt (rip is just past it)?

        Unicorn says nothing when hlt stops it. For one-instruction runs the
        instruction is known; otherwise the byte before rip is looked at, which
        an instruction ending in 0xF4 at the exact end of a count budget could
        fool."""
        if budget.instructions == 1 and rip != begin + 1:
            return False                  # hlt is one byte long
        try:                              # and decodes from F4 alone: no disassembler needed
            return self.mmu.read_virtual(rip - 1, 1) == HLT
        except UnmappedAccess:
            return False

    def _fault_from(self, exc: UcError) -> BaseException:
        if self.mmu.handler_error is not None:
            return self.mmu.handler_error
        if isinstance(self._stop_request, BaseException):
            return self._stop_request
        refused = self.mmu.pending_fault
        if refused is not None:
            self.mmu.pending_fault = None
            return self.faults.page_fault(refused)
        if exc.errno == UC_ERR_INSN_INVALID:
            return self.faults.other("invalid instruction", signal.SIGILL)
        if exc.errno in (UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UC_ERR_FETCH_UNMAPPED):
            return self.faults.other("physical address outside RAM", signal.SIGBUS)
        return self.faults.other(f"CPU exception ({exc})")

    def _on_syscall_insn(self, regs: list[int]) -> int | None:
        if self._traps.syscall is None:
            return -ENOSYS
        return self._traps.syscall(regs)

    def _on_interrupt(self, _uc, vector: int, _data) -> None:
        # Never resume after an exception here: Unicorn 2.1 keeps its exception
        # state, and the next page fault would become a double fault (#1883).
        self.stop(self.faults.exception(vector))

    # -- looking at memory ---------------------------------------------------------------

    def describe(self, address: int) -> str:
        """'symbol+0x12' for an address: the running program's symbols first,
        then the kernel's; '' when none is near."""
        if self._traps.symbols is not None:
            name = self._traps.symbols.describe(address)
            if name:
                return name
        return self.symbols.describe(address)

    def disassemble(self, address: int, count: int = 8, root: int | None = None) -> list[str]:
        """`count` instructions from `address` as 'addr <sym>: text' lines."""
        code = self.mmu.read_virtual(address, count * disasm.MAX_INSN, root) \
            if count else b""
        lines = []
        for insn in disasm.decode_many(code, address, count):
            where = self.symbols.describe(insn.address)
            label = f" <{where}>" if where else ""
            lines.append(f"{insn.address:#x}{label}: {disasm.text(insn)}")
        return lines

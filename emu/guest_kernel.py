"""Guest kernel routines: a --kernel file whose routines are the kernel's
page-fault handler and system calls.

    kernel = GuestKernel.load(machine, "pager.asm", on_fault="os_page_fault",
                              syscalls={451: "sys_pgaccess"})

The file (NASM asm, or C compiled freestanding) is placed in the kernel code
area and runs at its high alias in the kernel half (KERNEL_VIRT + paddr), so
it runs on any process's CR3. The contract (registers, return values, the
services below) is asm/kernel/emu_kernel.h; the runner (emu/guest_traps.py)
calls the routines.

Kernel services are reached by `call`: each is a `ret` in the services page
(layout.KERNEL_SERVICES) with a breakpoint hook that does the work in Python
just before the `ret` runs, and leaves its result in rax:

    kernel_alloc_frame()           a zeroed 4 KiB frame's physical address, or 0
    kernel_free_frame(paddr)       0, or -1 when paddr is not a frame in use
    kernel_find_vma(vaddr, out)    1 and struct emu_vma {start, end, prot, flags}
                                   at `out`, or 0
    kernel_signal(signo)           the signal to the current process
    kernel_log(text)               "[kernel] text" on the console's stderr
    kernel_frame_refs(paddr)       the references to a frame (copy-on-write
                                   shares one): 0 when it is not a frame in use
    kernel_demand_page(vaddr, error)   the built-in demand paging of a page that
                                   is not present: 0 mapped, 1 refused (a present
                                   page is always refused: it never copies)

A lab may withhold services (`withheld`: name -> why): a routine that calls
one is a kernel oops saying why (the lazy lab withholds kernel_demand_page,
which would do the lab's work). With `junk_frames`, kernel_alloc_frame hands
out frames full of junk (0x05 bytes, as xv6's kalloc leaves them), so a
routine must zero what it allocates (the lazy lab: `--junk-frames`).

Translations are cached as on hardware. `invlpg` and writes to CR3 inside the
routines are found when the file is loaded (every instruction is decoded) and
hooked, so they drop exactly what hardware drops: the page, or everything.
`invlpg` of an address in a 2 MiB page drops the whole page's translations,
as it drops a large page's TLB entry on x86.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from kernel import layout
from kernel.address_space import USER_TOP
from kernel.process import SignalInfo
from kernel.syscalls import signal as signals
from kernel.vma import PROT_EXEC, PROT_READ, PROT_WRITE

from . import disasm
from .elf import read_kernel_elf
from .errors import EmuError, UnmappedAccess, UsageError
from .faults import SI_KERNEL
from .paging import (NOT_PRESENT, PAGE_4K, PTE_A, PTE_ADDR_MASK, PTE_D, PTE_NX, PTE_P, PTE_PS,
                     PTE_RW, PTE_US, U64, page_align_down, page_align_up, page_offset)
from .symbols import SymbolTable

SERVICES = ("kernel_alloc_frame", "kernel_free_frame", "kernel_find_vma", "kernel_signal",
            "kernel_log", "kernel_frame_refs", "kernel_demand_page")   # append: addresses stay
SERVICE_SPACING = 16
MAX_SYSCALL = 1023
DEFAULT_BUDGET = 10_000_000          # instructions per routine call
LOG_LIMIT = 256                      # bytes of a kernel_log line
JUNK_FRAME = b"\x05" * PAGE_4K       # what kernel_alloc_frame gives with junk_frames
VMA_SHARED = 1
EMU_VMA = struct.Struct("<QQQQ")     # struct emu_vma

PF_PRESENT, PF_WRITE, PF_USER, PF_FETCH = 1, 2, 4, 16
CONSTANTS = {
    "DIRECT_MAP": layout.DIRECT_MAP, "KERNEL_VIRT": layout.KERNEL_VIRT, "PAGE_SIZE": PAGE_4K,
    "PTE_P": PTE_P, "PTE_RW": PTE_RW, "PTE_US": PTE_US, "PTE_A": PTE_A, "PTE_D": PTE_D,
    "PTE_PS": PTE_PS, "PTE_NX": PTE_NX, "PTE_ADDR": PTE_ADDR_MASK,
    "PF_PRESENT": PF_PRESENT, "PF_WRITE": PF_WRITE, "PF_USER": PF_USER, "PF_FETCH": PF_FETCH,
    "PROT_READ": PROT_READ, "PROT_WRITE": PROT_WRITE, "PROT_EXEC": PROT_EXEC,
    "VMA_SHARED": VMA_SHARED, "EMU_VMA_START": 0, "EMU_VMA_END": 8, "EMU_VMA_PROT": 16,
    "EMU_VMA_FLAGS": 24, "EMU_VMA_SIZE": EMU_VMA.size,
}


def service_address(name: str) -> int:
    """Where service `name` is: its `ret`, at its high alias."""
    return layout.kernel_virt(layout.KERNEL_SERVICES + SERVICE_SPACING * SERVICES.index(name))


def error_code(access: str, present: bool) -> int:
    """The x86 page-fault error code of a user access (PF_USER always set)."""
    return PF_USER | (PF_PRESENT if present else 0) | (PF_WRITE if access == "write" else 0) \
        | (PF_FETCH if access == "fetch" else 0)


@dataclass(frozen=True)
class Routine:
    name: str
    address: int


class GuestKernel:
    """A loaded --kernel file: its routines, the services and the TLB hooks."""

    def __init__(self, machine, path: str, symbols: dict[str, int], code: list[tuple[int, bytes]],
                 on_fault: str | None, syscalls: dict[int, str], budget: int,
                 withheld: dict[str, str] | None = None, junk_frames: bool = False):
        self.machine = machine
        self.junk_frames = junk_frames
        self.path = path
        self.symbols = SymbolTable()
        for name, value in symbols.items():
            self.symbols.add_address(name, value)
        self.on_fault = self._routine(on_fault) if on_fault else None
        self.syscalls = {number: self._routine(name) for number, name in syscalls.items()}
        self.budget = budget
        self.withheld = dict(withheld or {})
        self.process = None                # the process a routine runs for (the runner sets it)
        self._install_services()
        for address, data in code:
            self._hook_tlb_instructions(address, data)
        machine.guest_kernel = self

    # -- loading -----------------------------------------------------------------------

    @classmethod
    def load(cls, machine, path, *, on_fault: str | None = None,
             syscalls: dict[int, str] | None = None, budget: int = DEFAULT_BUDGET,
             cc: str | None = None, withheld: dict[str, str] | None = None,
             junk_frames: bool = False) -> "GuestKernel":
        """Assemble or compile `path` into the kernel half. UsageError (unknown
        symbol, bad syscall number, an unknown withheld service), AssemblyError
        or CompileError. `withheld` maps a service's name to why a routine may
        not call it here; `junk_frames` makes kernel_alloc_frame leave junk."""
        if getattr(machine, "guest_kernel", None) is not None:
            raise UsageError("one --kernel file per machine")
        syscalls = dict(syscalls or {})
        for number in syscalls:
            if not 0 <= number <= MAX_SYSCALL:
                raise UsageError(f"--syscall {number}: system call numbers go from 0 to "
                                 f"{MAX_SYSCALL}")
        unknown = sorted(set(withheld or ()) - set(SERVICES))
        if unknown:
            raise UsageError(f"no kernel service '{unknown[0]}' to withhold")
        path = Path(path)
        if path.suffix == ".c":
            symbols, code = _compile(machine, path, cc)
        else:
            symbols, code = _assemble(machine, path)
        return cls(machine, str(path), symbols, code, on_fault, syscalls, budget, withheld,
                   junk_frames)

    def _routine(self, name: str) -> Routine:
        address = self.symbols.get(name)
        if address is None:
            raise UsageError(f"{self.path}: no routine '{name}' (the file defines "
                             f"{', '.join(sorted(self.symbols.addresses())[:8]) or 'no labels'})")
        return Routine(name, address)

    # -- services -----------------------------------------------------------------------

    def _install_services(self) -> None:
        from .assembler import assemble          # --kernel file, not with every run
        ret = bytes(assemble("ret", file="<kernel services>", base=0).section(".text").data)
        for name in SERVICES:
            address = service_address(name)
            self.machine.ram.write(address - layout.KERNEL_VIRT, ret)
            service = self._refuse(name) if name in self.withheld else getattr(self, "_" + name)
            self.machine.add_breakpoint(address, service)

    def _refuse(self, name: str):
        """A withheld service: calling it is a kernel oops that says why."""
        def refuse(_address) -> None:
            self._oops(f"it called {name}, which is withheld here: {self.withheld[name]}")
        return refuse

    def _oops(self, why: str) -> None:
        """End the routine's run with a kernel oops saying `why`."""
        from .guest_traps import Oops              # guest_traps imports this module
        self.machine.stop(Oops(why))

    def _result(self, value: int) -> None:
        self.machine.set_reg("rax", value & U64)

    def _kernel_alloc_frame(self, _address) -> None:
        frame = self.machine.frames.alloc()
        if frame and self.junk_frames:
            self.machine.ram.write(frame, JUNK_FRAME)
        self._result(frame)

    def _kernel_free_frame(self, _address) -> None:
        frame = self.machine.reg("rdi")
        if not self.machine.frames.owns(frame):
            self._result(-1)
            return
        self.machine.frames.free(frame)
        self._result(0)

    def _kernel_find_vma(self, _address) -> None:
        vaddr, out = self.machine.read_regs(("rdi", "rsi"))
        vma = self.process.aspace.vmas.find(vaddr) if self.process else None
        if vma is None:
            self._result(0)
            return
        record = EMU_VMA.pack(vma.start, vma.end, vma.prot, VMA_SHARED if vma.shared else 0)
        try:
            self.machine.mmu.write_virtual(out, record)
        except UnmappedAccess:
            self._oops(f"kernel_find_vma's out pointer {out:#x} is not writable memory")
            return
        self._result(1)

    def _kernel_signal(self, _address) -> None:
        signo = self.machine.reg("rdi")
        if self.process is None or not signals.valid(signo):
            self._result(-22)
            return
        signals.send(self.process, SignalInfo(signo, SI_KERNEL))
        self._result(0)

    def _kernel_frame_refs(self, _address) -> None:
        self._result(self.machine.frames.refcount(self.machine.reg("rdi")))

    def _kernel_demand_page(self, _address) -> None:
        """What the built-in kernel does for a fault on a page that is not
        present (a zeroed frame, the shared object's page, the program's file
        page), for a routine that leaves that part to the kernel. Refuses (1)
        a present page whatever the error code says, so it never copies a
        shared frame: copy-on-write stays the routine's. The fault is counted
        once, when the routine returns 0."""
        vaddr, error = self.machine.read_regs(("rdi", "rsi"))
        space = self.process.aspace if self.process is not None else None
        if space is None or error & PF_PRESENT or vaddr >= USER_TOP:
            self._result(1)
            return
        walk = space.tables.walk(space.root, vaddr)
        if walk.mapped:
            self._result(1)
            return
        access = "fetch" if error & PF_FETCH else "write" if error & PF_WRITE else "read"
        counted = space.page_faults
        try:
            verdict = space.fault(vaddr, access, 0, NOT_PRESENT)     # no leaf maps it
        except EmuError as exc:               # out of memory: the process gets the OOM kill
            self.machine.stop(exc)
            return
        finally:
            space.page_faults = counted
        self._result(0 if verdict is True else 1)

    def _kernel_log(self, _address) -> None:
        """Print the NUL-terminated text at rdi: up to LOG_LIMIT bytes, read a
        page at a time, so text that ends just before unmapped memory is fine."""
        vaddr = start = self.machine.reg("rdi")
        line = b""
        try:
            while len(line) < LOG_LIMIT and b"\0" not in line:
                piece = min(PAGE_4K - page_offset(vaddr), LOG_LIMIT - len(line))
                line += self.machine.mmu.read_virtual(vaddr, piece)
                vaddr += piece
        except UnmappedAccess:
            self._oops(f"kernel_log's text at {start:#x} runs into unmapped memory")
            return
        line = line.split(b"\0", 1)[0]
        if self.process is not None:
            self.process.console.emit(2, b"[kernel] " + line + b"\n")
        self._result(0)

    # -- invlpg and CR3 ------------------------------------------------------------------

    def _hook_tlb_instructions(self, address: int, code: bytes) -> None:
        from capstone.x86 import X86_OP_REG      # capstone and the assembler load with a
        for insn in disasm.decode_many_detailed(code, address):
            if insn.mnemonic == "invlpg":
                self.machine.add_breakpoint(insn.address, self._on_invlpg)
            elif insn.mnemonic == "mov" and insn.operands and insn.operands[0].type == \
                    X86_OP_REG and insn.reg_name(insn.operands[0].reg) == "cr3":
                self.machine.add_breakpoint(insn.address, self._on_cr3_write)

    def _instruction(self, address: int):
        return self.machine.faults.instruction_at(address)

    def _on_invlpg(self, address: int) -> None:
        """Drop the translation of the page the operand names, as invlpg does:
        a 2 MiB page's whole, as x86 drops a large page's TLB entry."""
        from capstone.x86 import X86_OP_MEM, X86_REG_INVALID, X86_REG_RIP
        insn = self._instruction(address)
        mem = next(op.mem for op in insn.operands if op.type == X86_OP_MEM)
        target = mem.disp
        if mem.base == X86_REG_RIP:
            target += insn.address + insn.size
        elif mem.base != X86_REG_INVALID:
            target += self.machine.reg(insn.reg_name(mem.base))
        if mem.index != X86_REG_INVALID:
            target += self.machine.reg(insn.reg_name(mem.index)) * mem.scale
        target &= U64
        walk = self.machine.mmu.walk(target)
        size = walk.page_size if walk.mapped else PAGE_4K
        self.machine.mmu.invalidate(page_align_down(target, size), size)

    def _on_cr3_write(self, address: int) -> None:
        """mov cr3: the new root is walked from now on; every translation goes."""
        insn = self._instruction(address)
        value = self.machine.reg(insn.reg_name(insn.operands[1].reg))
        mmu = self.machine.mmu
        mmu.switch(value & PTE_ADDR_MASK, user=mmu.user)
        mmu.flush()


def _symbols_for_routines(machine) -> dict[str, int]:
    """What a --kernel file may name: the services, the constants, and the
    kernel's own symbols at their high aliases."""
    names = {name: service_address(name) for name in SERVICES}
    names.update(CONSTANTS)
    for name, value in layout.KERNEL_SYMBOLS.items():
        names.setdefault(name, value)
    names["os_MemoryMap"] = layout.kernel_virt(layout.MEMORY_MAP)
    names["os_MemAmount"] = layout.kernel_virt(layout.OS_MEM_AMOUNT)
    names["os_SystemVariables"] = layout.kernel_virt(layout.SYSVARS)
    return names


def _assemble(machine, path: Path):
    from .assembler import assemble, read_source
    source = read_source(path)
    base = page_align_up(machine.kernel_code_cursor)
    program = assemble(source, file=str(path), base=layout.kernel_virt(base),
                       symbols=_symbols_for_routines(machine))
    image = program.image()
    machine.claim_kernel_code(base + len(image) - machine.kernel_code_cursor, str(path))
    machine.ram.write(base, image)
    labels = {name: program.symbols[name] for name in program.labels}
    text = program.section(".text")
    return labels, [(text.address, bytes(text.data))]


def _compile(machine, path: Path, cc: str | None):
    from .toolchain import build_kernel
    base = page_align_up(machine.kernel_code_cursor)
    services = {name: service_address(name) for name in SERVICES}
    elf = build_kernel([path], layout.kernel_virt(base), services, cc=cc)
    high = layout.kernel_virt(layout.KERNEL_SERVICES)
    segments, symbols = read_kernel_elf(elf, layout.kernel_virt(base), high)
    end = max(seg.vaddr + seg.memsz for seg in segments) - layout.KERNEL_VIRT
    machine.claim_kernel_code(end - machine.kernel_code_cursor, str(path))
    code = []
    for seg in segments:
        physical = seg.vaddr - layout.KERNEL_VIRT
        machine.ram.write(physical, seg.data + bytes(seg.memsz - len(seg.data)))
        if seg.prot & PROT_EXEC:
            code.append((seg.vaddr, seg.data))
    symbols = {name: value for name, value in symbols.items() if name not in SERVICES}
    return symbols, code

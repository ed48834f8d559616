"""A process: an address space, its files (stdin/stdout/stderr), its syscall log.

The kernel's syscall handlers see a process through this class only: reading
and writing user memory the way copy_from_user/copy_to_user do (faulting
pages of a VMA in, -EFAULT outside), writing to its output, and exiting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from emu.mmu import UnmappedAccess

from .address_space import AddressSpace
from .layout import PAGE_SIZE, page_align_down, page_align_up

STDIN, STDOUT, STDERR = 0, 1, 2
LOG_LIMIT = 100_000          # syscall records kept for --strace and the debugger


@dataclass
class SyscallRecord:
    number: int
    name: str
    args: tuple[int, ...]
    result: int
    text: str = ""           # strace-style line, filled in when tracing


class Process:
    """One single-threaded process on the machine."""

    def __init__(self, aspace: AddressSpace, path: str, argv: list[str], *,
                 cpu, stdin: bytes = b"", pid: int = 1000, seed: int = 0):
        self.aspace = aspace
        self.path = path
        self.argv = argv
        self.cpu = cpu                     # set_fs_base / fs_base / gs: see emu.runner
        self.pid = pid
        self.stdin = stdin
        self.stdin_pos = 0
        self.output = {STDOUT: bytearray(), STDERR: bytearray()}
        self.echo = None                   # callable(fd, bytes) for live output
        self.exit_code: int | None = None
        self.syscalls: list[SyscallRecord] = []
        self.syscall_count = 0
        self.random = random.Random(seed)  # AT_RANDOM and getrandom: reproducible
        self.clear_child_tid = 0
        self.heap_limit: int | None = None # bytes the break may grow (None: RAM decides)

    # -- user memory ---------------------------------------------------------------

    def _fault_in(self, vaddr: int, length: int, access: str) -> bool:
        """Map the pages of [vaddr, vaddr+length) that a user access could map;
        False if any byte is outside the VMAs or not allowed."""
        if length <= 0:
            return True
        if vaddr < 0 or vaddr + length > (1 << 47):
            return False
        for page in range(page_align_down(vaddr), page_align_up(vaddr + length), PAGE_SIZE):
            vma = self.aspace.vmas.find(page)
            if vma is None or not vma.allows(access):
                return False
            if not self.aspace.tables.walk(self.aspace.root, page).mapped:
                self.aspace.map_page(page)
                self.aspace.page_faults += 1
        return True

    def read(self, vaddr: int, length: int) -> bytes | None:
        """copy_from_user: the bytes, or None (-EFAULT)."""
        if not self._fault_in(vaddr, length, "read"):
            return None
        try:
            return self.aspace.mmu.read_virtual(vaddr, length, root=self.aspace.root)
        except UnmappedAccess:
            return None

    def write(self, vaddr: int, data: bytes) -> bool:
        """copy_to_user: False (-EFAULT) if any byte is not writable user memory."""
        if not self._fault_in(vaddr, len(data), "write"):
            return False
        self.aspace.mmu.write_virtual(vaddr, data, root=self.aspace.root)
        return True

    def read_u64(self, vaddr: int) -> int | None:
        data = self.read(vaddr, 8)
        return None if data is None else int.from_bytes(data, "little")

    def read_cstring(self, vaddr: int, limit: int = 4096) -> bytes | None:
        """A NUL-terminated string (without the NUL), or None (-EFAULT)."""
        out = bytearray()
        while len(out) < limit:
            chunk = PAGE_SIZE - (vaddr + len(out)) % PAGE_SIZE
            data = self.read(vaddr + len(out), min(chunk, limit - len(out)))
            if data is None:
                return None
            end = data.find(b"\0")
            if end >= 0:
                return bytes(out + data[:end])
            out += data
        return bytes(out)

    # -- files and exit ----------------------------------------------------------------

    def emit(self, fd: int, data: bytes) -> None:
        self.output[fd] += data
        if self.echo is not None:
            self.echo(fd, data)

    def exit(self, code: int) -> None:
        self.exit_code = code & 0xFF

    def snapshot(self) -> dict:
        """What syscalls change in the process, for the debugger's undo."""
        return {"exit_code": self.exit_code, "out": len(self.output[STDOUT]),
                "err": len(self.output[STDERR]), "count": self.syscall_count,
                "logged": len(self.syscalls), "stdin_pos": self.stdin_pos,
                "random": self.random.getstate(), "tid": self.clear_child_tid}

    def restore(self, state: dict) -> None:
        self.exit_code = state["exit_code"]
        del self.output[STDOUT][state["out"]:]
        del self.output[STDERR][state["err"]:]
        self.syscall_count = state["count"]
        del self.syscalls[state["logged"]:]
        self.stdin_pos = state["stdin_pos"]
        self.random.setstate(state["random"])
        self.clear_child_tid = state["tid"]

    def log(self, record: SyscallRecord) -> None:
        self.syscall_count += 1
        if len(self.syscalls) < LOG_LIMIT:
            self.syscalls.append(record)

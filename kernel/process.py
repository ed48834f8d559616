"""A process: an address space, its descriptors, its place among the run's
processes, and its syscall log.

The kernel's syscall handlers see a process through this class only: reading
and writing user memory the way copy_from_user/copy_to_user do (faulting
pages of a VMA in, -EFAULT outside), its open files (kernel/files.py), its
parent and children (kernel/tasks.py), and exiting.

While a process is not on the CPU, `context` holds its registers (the
runner's business: emu/runner.py), and `syscall_return` the value its last
system call returns when it next runs (fork's 0 in the child).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from emu.errors import KernelPanic
from emu.paging import PAGE_4K, PTE_RW, PTE_US, page_offset, pages_in

from .address_space import USER_TOP, AddressSpace
from .files import Console, FdTable, InputFile


USER_LIMIT = USER_TOP            # no user access reaches this address or beyond
LOG_LIMIT = 100_000          # syscall records kept for --strace and the debugger


@dataclass(frozen=True)
class SignalInfo:
    """A signal on its way to the process: what siginfo_t will say.

    code: si_code (SI_USER 0 for kill, SI_TKILL -6 for tkill/tgkill, or a
    fault's code such as SEGV_MAPERR 1); address: si_addr of a fault;
    pid, uid: the sender of a kill."""
    signo: int
    code: int = 0
    address: int = 0
    pid: int = 0
    uid: int = 0


@dataclass
class SignalState:
    """The process's signals (kernel/syscalls/signal.py acts on them):
    blocked mask, handlers installed (signo -> handler address; absent is
    SIG_DFL), signals pending while blocked, and the one that is killing it."""
    mask: int = 0
    actions: dict = field(default_factory=dict)
    pending: dict = field(default_factory=dict)
    fatal: SignalInfo | None = None

    def copy(self) -> "SignalState":
        return SignalState(self.mask, dict(self.actions), dict(self.pending), self.fatal)


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
                 cpu, files: FdTable | None = None, console: Console | None = None,
                 stdin: bytes = b"", pid: int = 1000, seed: int = 0):
        self.aspace = aspace
        self.path = path
        self.argv = argv
        self.cpu = cpu                     # set_fs_base / fs_base / gs: see emu.runner
        self.pid = pid
        self.ppid = 1
        self.console = console or Console()
        self.files = files or FdTable.standard(InputFile(stdin), self.console)
        self.table = None                  # the run's ProcessTable (kernel/tasks.py)
        self.wait_status: int | None = None   # set when it has ended (a zombie, then reaped)
        self.context = None                # the CPU state while it is off the CPU
        self.syscall_return: int | None = None
        self.restart_at = 0                # where a blocked system call is made again
        self.yield_requested = False       # sched_yield: leave the CPU after this call
        self.trap = None                   # inside a guest kernel routine: its TrapFrame
        self.guest_syscall = None          # a system call on its way to a guest routine
        self.exit_code: int | None = None
        self.syscalls: list[SyscallRecord] = []
        self.syscall_count = 0
        self.random = random.Random(seed)  # AT_RANDOM and getrandom: reproducible
        self.clear_child_tid = 0
        # RLIMIT_DATA: bytes of heap plus private writable anonymous mappings the
        # process may have (None: only the machine's RAM limits it)
        self.data_limit: int | None = None
        self.signals = SignalState()

    # -- user memory ---------------------------------------------------------------

    def can_access(self, vaddr: int, length: int, access: str) -> bool:
        """Would a user access to every byte of [vaddr, vaddr+length) be allowed
        by the VMAs? Checked before any work proportional to `length`."""
        if length <= 0:
            return True
        return self.accessible_length(vaddr, length, access) == length

    def accessible_length(self, vaddr: int, length: int, access: str) -> int:
        """How many bytes from `vaddr` on (at most `length`) a user access may
        reach before the first byte outside the VMAs, in a VMA that refuses
        the access, or in a guard page: where copy_to_user/copy_from_user
        would stop with a fault."""
        if length <= 0 or vaddr < 0 or vaddr >= USER_LIMIT:
            return 0
        end, reach = min(vaddr + length, USER_LIMIT), vaddr
        for vma in self.aspace.vmas.overlapping(vaddr, end):
            if vma.start > reach or not vma.allows(access):
                break
            reach = vma.end
        reach = min(reach, end)
        blocked = self.aspace.first_blocked(vaddr, reach)
        if blocked is not None:
            reach = max(vaddr, blocked)
        return reach - vaddr

    def _user_pieces(self, vaddr: int, length: int, access: str):
        """[(paddr, count)] for a user access to [vaddr, vaddr+length), mapping
        the pages first, as page faults would. Every byte must be accessible
        (accessible_length)."""
        if length <= 0:
            return []
        space = self.aspace
        needed = PTE_US | (PTE_RW if access == "write" else 0)
        pieces = space.tables.translate_range(space.root, vaddr, length)
        if all(p is not None and e & needed == needed for p, _, e in pieces):
            return [(p, n) for p, n, _ in pieces]
        for page in pages_in(vaddr, length):
            if access == "write":
                space.page_faults += space.prepare_write(page)
            elif not space.tables.walk(space.root, page).mapped:
                space.map_page(page)
                space.page_faults += 1
        pieces = space.tables.translate_range(space.root, vaddr, length)
        if any(p is None for p, _, _ in pieces):
            raise KernelPanic(f"user_pieces: {vaddr:#x}+{length:#x} still unmapped after faulting")
        return [(p, n) for p, n, _ in pieces]

    def read_prefix(self, vaddr: int, length: int) -> bytes:
        """copy_from_user as read(2)'s callers see it: the bytes from `vaddr` up
        to the first one a user read would fault on (maybe none)."""
        return self._copy_from(vaddr, self.accessible_length(vaddr, length, "read"))

    def write_prefix(self, vaddr: int, data: bytes) -> int:
        """copy_to_user that may stop short: writes `data` up to the first byte a
        user write would fault on; returns how many bytes it wrote."""
        count = self.accessible_length(vaddr, len(data), "write")
        self._copy_to(vaddr, data[:count])
        return count

    def _copy_from(self, vaddr: int, count: int) -> bytes:
        """The `count` bytes at `vaddr`, all accessible (accessible_length)."""
        view = self.aspace.ram.view
        return b"".join(view[p:p + n] for p, n in self._user_pieces(vaddr, count, "read"))

    def _copy_to(self, vaddr: int, data: bytes) -> None:
        """Write `data` at `vaddr`, every byte accessible (accessible_length)."""
        ram, done = self.aspace.ram, 0
        for paddr, piece in self._user_pieces(vaddr, len(data), "write"):
            ram.write(paddr, data[done:done + piece])
            done += piece

    def read(self, vaddr: int, length: int) -> bytes | None:
        """copy_from_user: the bytes, or None (-EFAULT) unless all are readable."""
        if length <= 0:
            return b""
        if self.accessible_length(vaddr, length, "read") != length:
            return None
        return self._copy_from(vaddr, length)

    def write(self, vaddr: int, data: bytes) -> bool:
        """copy_to_user: False (-EFAULT) if any byte is not writable user memory."""
        if not data:
            return True
        if self.accessible_length(vaddr, len(data), "write") != len(data):
            return False
        self._copy_to(vaddr, data)
        return True

    def read_u64(self, vaddr: int) -> int | None:
        data = self.read(vaddr, 8)
        return None if data is None else int.from_bytes(data, "little")

    def read_cstring(self, vaddr: int, limit: int = 4096) -> bytes | None:
        """A NUL-terminated string (without the NUL), or None (-EFAULT)."""
        out = bytearray()
        while len(out) < limit:
            chunk = PAGE_4K - page_offset(vaddr + len(out))
            data = self.read(vaddr + len(out), min(chunk, limit - len(out)))
            if data is None:
                return None
            end = data.find(b"\0")
            if end >= 0:
                return bytes(out + data[:end])
            out += data
        return bytes(out)

    # -- files and exit ----------------------------------------------------------------

    @property
    def output(self) -> dict[int, bytearray]:
        """What the run's processes wrote to stdout (1) and stderr (2)."""
        return self.console.output

    def emit(self, fd: int, data: bytes) -> None:
        self.console.emit(fd, data)

    def exit(self, code: int) -> None:
        self.exit_code = code & 0xFF

    def snapshot(self) -> dict:
        """What syscalls change in the process, for the debugger's undo."""
        return {"exit_code": self.exit_code, "console": self.console.snapshot(),
                "files": self.files.snapshot(), "count": self.syscall_count,
                "logged": len(self.syscalls), "random": self.random.getstate(),
                "tid": self.clear_child_tid, "signals": self.signals.copy()}

    def restore(self, state: dict) -> None:
        self.exit_code = state["exit_code"]
        self.console.restore(state["console"])
        self.files.restore(state["files"])
        self.syscall_count = state["count"]
        del self.syscalls[state["logged"]:]
        self.random.setstate(state["random"])
        self.clear_child_tid = state["tid"]
        self.signals = state["signals"].copy()

    def log(self, record: SyscallRecord) -> None:
        self.syscall_count += 1
        if len(self.syscalls) < LOG_LIMIT:
            self.syscalls.append(record)

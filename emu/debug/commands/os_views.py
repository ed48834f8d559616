"""The OS views: pt, vmmap, memmap, syscalls. (heap is heap.py.)"""

from ...errors import UsageError
from ...views import memmap_lines, size_text, walk_lines
from .base import Command, CommandError

RECENT = 20


def _pt(repl, args: str):
    text = args.strip() or "$rip"
    try:
        address = repl.dbg.evaluate(text)
    except UsageError as exc:
        raise CommandError(f"pt: {exc}") from None
    runner = repl.dbg.runner
    result = repl.dbg.machine.mmu.walk(address, root=runner.aspace.root)
    vma = runner.aspace.vmas.find(address)
    where = f"in {vma.name} ({vma.perms})" if vma else "outside every mapping"
    return walk_lines(result, f"page walk of {result.vaddr:#x} ({where}), CR3 {result.root:#x}",
                      refcount=repl.dbg.machine.frames.refcount)


def _vmmap(repl, args: str):
    space = repl.dbg.runner.aspace
    out = ["          Start                End Perm       Size  Resident  Name"]
    for vma in space.vmas:
        resident = sum(1 for _ in space.tables.leaves(space.root, vma.start, vma.size, split=False))
        out.append(f"{vma.start:#18x} {vma.end:#18x} {vma.perms} {size_text(vma.size):>10} "
                   f"{resident:>6} pg  {vma.name}")
    out.append(f"brk {space.brk_start:#x} -> {space.brk:#x}; {space.page_faults} page faults")
    return out


def _memmap(repl, args: str):
    machine = repl.dbg.machine
    return memmap_lines(machine.memory_map) + [
        f"frames: {machine.frames.frames_in_use} in use from {machine.frames.chunks_held} "
        f"chunks held by the frame allocator"]


def _syscalls(repl, args: str):
    text = args.strip()
    try:
        count = int(text) if text else RECENT
    except ValueError:
        raise CommandError(f"syscalls: '{text}' is not a count") from None
    process = repl.dbg.runner.process
    records = process.syscalls[-count:]
    if not records:
        return ["No system calls yet."]
    first = process.syscall_count - len(records) + 1
    return [f"{first + i:6}  {r.text or r.name}" for i, r in enumerate(records)]


PT = Command("pt", _pt, "the page walk of an address in the process's address space",
             "pt [ADDRESS]   (default $rip)\nExamples:\n  pt $rsp\n  pt 0x404000")
VMMAP = Command("vmmap", _vmmap, "the process's mappings, like /proc/self/maps",
                "vmmap\nExamples:\n  vmmap")
MEMMAP = Command("memmap", _memmap, "the os_MemoryMap: free and used 2 MiB chunks",
                 "memmap\nExamples:\n  memmap")
SYSCALLS = Command("syscalls", _syscalls, "the most recent system calls, strace style",
                   "syscalls [N]   (default 20)\nExamples:\n  syscalls\n  syscalls 5")

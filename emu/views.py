"""OS views as pure functions: each returns lines (for people) or a dict (JSON).

The CLI, the demo and the debugger print these; nothing here prints.
"""

from __future__ import annotations

from kernel import layout
from kernel.memory_map import STATE_NAMES, MemoryMap

from .paging import LEAF_SIZE, LEVELS, Walk, pte_addr
from .registers import GPRS, flag_names

_STRIP_WIDTH = 64
_STRIP_CHARS = {layout.CHUNK_ABSENT: " ", layout.CHUNK_FREE: ".", layout.CHUNK_USED: "#"}


def size_text(nbytes: int) -> str:
    """'2 MiB', '1022 MiB', '4 KiB', '3 GiB'."""
    for unit, name in ((layout.GiB, "GiB"), (layout.MiB, "MiB"), (layout.KiB, "KiB")):
        if nbytes >= unit and nbytes % unit == 0:
            return f"{nbytes // unit} {name}"
    return f"{nbytes} B"


# -- os_MemoryMap ---------------------------------------------------------------------

def memmap_lines(memory_map: MemoryMap, strip: bool = True) -> list[str]:
    """A summary, one line per run of equal chunks, and a strip ('#' used, '.' free)."""
    total = memory_map.chunks
    lines = [f"os_MemoryMap at {layout.MEMORY_MAP:#x}: {total} chunks of 2 MiB "
             f"({size_text(total * layout.CHUNK_SIZE)} RAM): "
             f"{memory_map.free_count()} free, {memory_map.used_count()} used"]
    for run in memory_map.runs():
        last = run.first + run.count - 1
        lines.append(f"  chunks {run.first:>5}..{last:<5}  {run.start:#012x}-{run.end:#012x}  "
                     f"{size_text(run.end - run.start):>9}  {STATE_NAMES[run.state]}")
    if strip:
        lines += memmap_strip(memory_map)
    return lines


def memmap_strip(memory_map: MemoryMap) -> list[str]:
    """The map as rows of 64 characters: '#' used, '.' free; each row starts with
    the address of its first chunk."""
    states = bytes(memory_map.entries[:memory_map.chunks])
    rows = []
    for first in range(0, memory_map.chunks, _STRIP_WIDTH):
        row = "".join(_STRIP_CHARS.get(s, "?") for s in states[first:first + _STRIP_WIDTH])
        rows.append(f"  {layout.chunk_base(first):#012x} |{row}|")
    return rows


def memmap_json(memory_map: MemoryMap) -> dict:
    data = memory_map.summary()
    data["runs"] = [{"state": STATE_NAMES[r.state], "first": r.first, "count": r.count,
                     "start": r.start, "end": r.end} for r in memory_map.runs()]
    return data


# -- page walks --------------------------------------------------------------------

def walk_lines(result: Walk, title: str = "", refcount=None) -> list[str]:
    """One line per level with the entry, its flags and where it leads.
    `refcount(frame)` (the frame allocator's) marks a read-only page that
    several address spaces share: copy-on-write after a fork."""
    head = title or f"page walk of {result.vaddr:#x} under CR3 {result.root:#x}"
    lines = [head]
    for step in result.steps:
        level = f"{step.level}[{step.index:3}]"
        lines.append(f"  {level:<10} entry @{step.entry_addr:#010x} = {step.entry:#018x}  "
                     f"{step.flags:<20} {_leads_to(step)}")
    if result.mapped:
        shared = ""
        if refcount is not None and result.user:
            references = refcount(result.paddr & ~(result.page_size - 1))
            if references > 1:
                shared = f", shared by {references} address spaces" + \
                    ("" if result.writable else ": copy-on-write")
        lines.append(f"  => physical {result.paddr:#x} ({size_text(result.page_size)} page, "
                     f"{'user' if result.user else 'supervisor'}, "
                     f"{'writable' if result.writable else 'read-only'}, "
                     f"{'executable' if result.executable else 'NX'}{shared})")
    else:
        lines.append(f"  => not mapped: {result.reason} at {result.stopped_at}")
    return lines


def _leads_to(step) -> str:
    if not step.present:
        return "(not present)"
    if step.leaf:
        size = LEAF_SIZE[step.level]
        return f"-> {size_text(size)} page at {pte_addr(step.entry) & ~(size - 1):#x}"
    below = LEVELS[LEVELS.index(step.level) + 1]
    return f"-> {below} at {pte_addr(step.entry):#x}"


def walk_json(result: Walk) -> dict:
    return {
        "vaddr": result.vaddr, "root": result.root,
        "levels": [{"level": s.level, "index": s.index, "entry_address": s.entry_addr,
                    "entry": s.entry, "flags": s.flags.split() if s.entry else [],
                    "leaf": s.leaf} for s in result.steps],
        "paddr": result.paddr, "page_size": result.page_size,
        "stopped_at": result.stopped_at, "reason": result.reason,
        "user": result.user if result.mapped else None,
        "writable": result.writable if result.mapped else None,
        "executable": result.executable if result.mapped else None,
    }


# -- registers ----------------------------------------------------------------------

def register_lines(regs: dict[str, int], changed: set[str] = frozenset()) -> list[str]:
    """GPRs four to a line, then rip and rflags; changed registers get a '*'."""
    def cell(name):
        mark = "*" if name in changed else " "
        return f"{name:>3}{mark}{regs[name]:#018x}"
    lines = ["  ".join(cell(n) for n in GPRS[i:i + 4]) for i in range(0, len(GPRS), 4)]
    lines.append(f"{cell('rip')}  rflags{'*' if 'rflags' in changed else ' '}"
                 f"{regs['rflags']:#x} [{flag_names(regs['rflags'])}]")
    return lines



# -- process address spaces -------------------------------------------------------------

def maps_lines(result) -> list[str]:
    """Each process's address space like /proc/PID/maps, then its break and
    page counts (one process: as before, with no pid)."""
    reports = result.processes or [None]
    lines = []
    for report in reports:
        figures = report or result
        head = "address space at exit" if report is None or len(reports) == 1 else \
            f"pid {report.pid} (parent {report.ppid}), address space at exit"
        lines.append(head + ":")
        for m in figures.maps:
            lines.append(f"  {m['start']:012x}-{m['end']:012x} {m['perms']} "
                         f"{size_text(m['end'] - m['start']):>10}  {m['name']}")
        brk = figures.brk
        faults = f"{figures.page_faults} page faults"
        if report is not None and report.cow_faults:
            faults += f" ({report.cow_faults} copy-on-write)"
        lines.append(f"  brk {brk['start']:#x} -> {brk['end']:#x} ({brk['end'] - brk['start']} "
                     f"bytes); {figures.pages_mapped} pages mapped, {faults}, "
                     f"{figures.syscalls} system calls")
    return lines

"""/proc/PID/maps of a process, from its VMAs: what gdb's `info proc mappings` shows.

    Mapping(start, end, perms, offset, name)
    maps(runner, image)         every VMA, the program's own named by its ELF path
                                with the file offset of its pages (from the
                                program headers); anonymous mappings nameless
    maps_text(...)              Linux's text: 00400000-00401000 r--p 00000000 00:00 0  /path
    mapping_lines(...)          gdb's table: Start Addr  End Addr  Size  Offset  Perms  objfile
"""

from __future__ import annotations

from dataclasses import dataclass

from elftools.elf.elffile import ELFFile

from ..paging import PAGE_4K, page_align_down


@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    perms: str
    offset: int
    name: str


def maps(runner, image) -> list[Mapping]:
    offsets = _segment_offsets(image)
    out = []
    for vma in runner.aspace.vmas:
        own = vma.name == image.path
        name = (image.elf_path or vma.name) if own else \
            ("" if vma.name.startswith("[anon") else vma.name)
        out.append(Mapping(vma.start, vma.end, vma.perms,
                           offsets.get(vma.start, 0) if own else 0, name))
    return out


def maps_text(runner, image) -> str:
    return "".join(f"{m.start:08x}-{m.end:08x} {m.perms} {m.offset:08x} 00:00 0"
                   + (f"{'':19}{m.name}" if m.name else "") + "\n"
                   for m in maps(runner, image))


def mapping_lines(runner, image) -> list[str]:
    lines = ["Mapped address spaces:", "",
             f"{'Start Addr':>20} {'End Addr':>18} {'Size':>10} {'Offset':>10}  Perms  objfile"]
    for m in maps(runner, image):
        lines.append(f"{m.start:#20x} {m.end:#18x} {m.end - m.start:#10x} {m.offset:#10x}  "
                     f"{m.perms}   {m.name}")
    return lines


def _segment_offsets(image) -> dict[int, int]:
    """Page address -> file offset of the program's PT_LOAD pages."""
    if not image.elf_path:
        return {}
    try:
        with open(image.elf_path, "rb") as f:
            loads = [(s["p_vaddr"], s["p_offset"], s["p_memsz"])
                     for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]
    except Exception:          # pyelftools on a file that changed since: offsets 0
        return {}
    out = {}
    for vaddr, offset, memsz in loads:
        first = page_align_down(vaddr)
        for page in range(first, vaddr + memsz, PAGE_4K):
            out[page + image.base] = page_align_down(offset) + page - first
    return out

"""Reading programs to run: static x86-64 ELF files, and our assembler's output.

Both become an Image: segments with their permissions, an entry point, the
program headers' address (for AT_PHDR), symbols, and for assembly the line
table. Static ET_EXEC loads at its link addresses; static-PIE (ET_DYN without
PT_INTERP) loads at STATIC_PIE_BASE, as Linux does without randomization.
Anything else is refused with one line saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .elf_format import (EI_CLASS, ELFCLASS32, EM_X86_64, ET_DYN, ET_EXEC, PF_R, PF_W, PF_X,
                         PT_INTERP, PT_LOAD, PT_PHDR, ProgramHeader, RawELF)
from .errors import ELFLoadError, EmuError
from .userfiles import read_user_file

STATIC_PIE_BASE = 0x5555_5555_4000
LOWEST_SEGMENT = 0x10000                  # mmap_min_addr: the NULL pages stay unmapped
HIGHEST_SEGMENT_END = 0x7FFF_F7FF_F000    # below the stack's 8 MiB and the mmap area
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
_MACHINES = {3: "i386", 40: "ARM", 183: "AArch64", 243: "RISC-V", 8: "MIPS", 21: "PowerPC"}
_TYPES = {0: "ET_NONE", 1: "ET_REL", 4: "ET_CORE"}


@dataclass(frozen=True)
class Segment:
    vaddr: int
    memsz: int
    data: bytes          # the file bytes (filesz of them); the rest is zero
    prot: int
    name: str = ""       # the mapping's name when it is not the program's (a linked library)


@dataclass
class Image:
    path: str
    entry: int
    segments: list[Segment]
    symbols: dict[str, int] = field(default_factory=dict)
    phdr: int = 0        # where the program headers are in memory (AT_PHDR)
    phent: int = 56
    phnum: int = 0
    base: int = 0        # load bias: 0 for ET_EXEC
    kind: str = "exec"   # "exec", "pie" or "asm"
    program: object = None   # the assembler Program, for .asm images
    elf_path: str | None = None
    extra_segments: list[Segment] = field(default_factory=list)   # a linked asm library
    libraries: list = field(default_factory=list)   # the assembler Programs linked in (--link)

    @property
    def end(self) -> int:
        """End of the program proper: the break starts on the next page."""
        return max(s.vaddr + s.memsz for s in self.segments)

    def all_segments(self) -> list[Segment]:
        return self.segments + self.extra_segments


def read_elf(path) -> Image:
    """Parse a static x86-64 ELF; ELFLoadError says what is wrong with any other."""
    path = Path(path)
    raw = read_user_file(path)
    if raw[:4] != b"\x7fELF":
        raise ELFLoadError(f"{path}: not an ELF file (and not .c or .asm)")
    try:
        return _parse(path, raw)
    except EmuError:
        raise
    except Exception as exc:    # a header that points nowhere sensible: any error at all
        raise ELFLoadError(f"{path}: corrupt ELF file: {type(exc).__name__}: "
                           f"{str(exc)[:200]}") from None


def _parse(path: Path, raw: bytes) -> Image:
    if len(raw) > EI_CLASS and raw[EI_CLASS] == ELFCLASS32:
        raise ELFLoadError(f"{path}: 32-bit ELF; only x86-64 (64-bit) programs run here")
    elf = RawELF(raw)
    if elf.machine != EM_X86_64:
        name = _MACHINES.get(elf.machine, f"machine {elf.machine}")
        raise ELFLoadError(f"{path}: ELF for {name}, not x86-64")
    if elf.type not in (ET_EXEC, ET_DYN):
        kind = _TYPES.get(elf.type, f"{elf.type:#x}")
        raise ELFLoadError(f"{path}: ELF type {kind} is not an executable")
    headers = elf.program_headers()
    for seg in headers:
        if seg.type == PT_INTERP:
            interp = raw[seg.offset:seg.offset + seg.filesz].split(b"\0")[0].decode(
                errors="replace")
            raise ELFLoadError(f"{path}: dynamically linked (needs {interp}); "
                               f"build it with -static")
    base = STATIC_PIE_BASE if elf.type == ET_DYN else 0
    segments = [_segment(path, raw, seg, base) for seg in headers if seg.type == PT_LOAD]
    if not segments:
        raise ELFLoadError(f"{path}: no loadable segments")
    for seg in segments:
        if not LOWEST_SEGMENT <= seg.vaddr <= seg.vaddr + seg.memsz <= HIGHEST_SEGMENT_END:
            raise ELFLoadError(f"{path}: a segment at {seg.vaddr:#x}..{seg.vaddr + seg.memsz:#x} "
                               f"lies outside user memory ({LOWEST_SEGMENT:#x}.."
                               f"{HIGHEST_SEGMENT_END:#x})")
    entry = elf.entry + base
    if not entry < HIGHEST_SEGMENT_END:        # Linux's execve: BAD_ADDR(e_entry) -> EINVAL
        raise ELFLoadError(f"{path}: the entry point {entry:#x} lies outside user memory")
    return Image(path=str(path.resolve()), entry=entry, segments=segments,
                 symbols=_symbols(elf, base), phdr=_phdr_address(elf, headers, base),
                 phent=elf.phentsize, phnum=len(headers), base=base,
                 kind="pie" if base else "exec", elf_path=str(path))


def read_kernel_elf(path, low: int, high: int) -> tuple[list[Segment], dict[str, int]]:
    """The PT_LOAD segments and symbols of a freestanding kernel ELF linked to
    run in [low, high) of the kernel half (a --kernel C file)."""
    path = Path(path)
    raw = read_user_file(path)
    try:
        elf = RawELF(raw)
        segments = [_segment(path, raw, seg, 0) for seg in elf.program_headers()
                    if seg.type == PT_LOAD]
        symbols = _symbols(elf, 0)
    except EmuError:
        raise
    except Exception as exc:
        raise ELFLoadError(f"{path}: corrupt ELF file: {type(exc).__name__}: {exc}") from None
    for seg in segments:
        if not low <= seg.vaddr <= seg.vaddr + seg.memsz <= high:
            raise ELFLoadError(f"{path}: a segment at {seg.vaddr:#x} lies outside the kernel "
                               f"code area ({low:#x}..{high:#x})")
    return segments, symbols


def _segment(path: Path, raw: bytes, seg: ProgramHeader, base: int) -> Segment:
    if seg.offset + seg.filesz > len(raw) or seg.filesz > seg.memsz:
        raise ELFLoadError(f"{path}: corrupt ELF file: a PT_LOAD segment runs past the file")
    prot = (PROT_READ if seg.flags & PF_R else 0) | (PROT_WRITE if seg.flags & PF_W else 0) | \
           (PROT_EXEC if seg.flags & PF_X else 0)
    return Segment(seg.vaddr + base, seg.memsz, raw[seg.offset:seg.offset + seg.filesz], prot)


def _phdr_address(elf: RawELF, headers: list[ProgramHeader], base: int) -> int:
    for seg in headers:
        if seg.type == PT_PHDR:
            return seg.vaddr + base
    for seg in headers:
        if seg.type == PT_LOAD and seg.offset <= elf.phoff < seg.offset + seg.filesz:
            return seg.vaddr + elf.phoff - seg.offset + base
    return 0


SYMBOL_TYPES = (0, 1, 2)                 # STT_NOTYPE, STT_OBJECT, STT_FUNC
SHN_UNDEF = 0


def _symbols(elf: RawELF, base: int) -> dict[str, int]:
    """The symbol table's functions and objects. Linux runs a program whatever
    its sections say, so a missing or corrupt .symtab gives no symbols, not a
    refusal."""
    try:
        table = elf.symbol_table()
        if table is None:
            return {}
        entries, names = table
        out = {}
        for name_at, info, _other, shndx, value, _size in entries:
            if name_at and info & 0xF in SYMBOL_TYPES and shndx != SHN_UNDEF and value:
                name = names[name_at:names.index(b"\0", name_at)].decode("utf-8", "replace")
                if name:
                    out.setdefault(name, value + base)
        return out
    except Exception:          # a malformed section table
        return {}


def image_from_program(program) -> Image:
    """An Image of an assembled Program (sections become segments)."""
    name = str(Path(program.file).resolve())
    segments = [Segment(s.address, s.size, bytes(s.data), _section_prot(s.perms), name)
                for s in program.sections if s.size]
    if not segments:
        raise ELFLoadError(f"{program.file}: the program is empty")
    labels = {name: program.symbols[name] for name in program.labels}
    return Image(path=str(Path(program.file).resolve()), entry=program.entry,
                 segments=segments, symbols=labels, kind="asm", program=program)


def _section_prot(perms: str) -> int:
    return (PROT_READ if "r" in perms else 0) | (PROT_WRITE if "w" in perms else 0) | \
           (PROT_EXEC if "x" in perms else 0)

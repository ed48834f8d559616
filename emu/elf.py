"""Reading programs to run: static x86-64 ELF files, and our assembler's output.

Both become an Image: segments with their permissions, an entry point, the
program headers' address (for AT_PHDR), symbols, and for assembly the line
table. Static ET_EXEC loads at its link addresses; static-PIE (ET_DYN without
PT_INTERP) loads at STATIC_PIE_BASE, as Linux does without randomization.
Anything else is refused with one line saying why.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from .errors import ELFLoadError, EmuError
from .userfiles import read_user_file

STATIC_PIE_BASE = 0x5555_5555_4000
LOWEST_SEGMENT = 0x10000                  # mmap_min_addr: the NULL pages stay unmapped
HIGHEST_SEGMENT_END = 0x7FFF_F7FF_F000    # below the stack's 8 MiB and the mmap area
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
_MACHINES = {"EM_386": "i386", "EM_ARM": "ARM", "EM_AARCH64": "AArch64",
             "EM_RISCV": "RISC-V", "EM_MIPS": "MIPS", "EM_PPC64": "PowerPC"}


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
    except Exception as exc:    # pyelftools on a malformed file: any exception at all
        raise ELFLoadError(f"{path}: corrupt ELF file: {type(exc).__name__}: "
                           f"{str(exc)[:200]}") from None


def _parse(path: Path, raw: bytes) -> Image:
    import io
    elf = ELFFile(io.BytesIO(raw))
    if elf.elfclass != 64:
        raise ELFLoadError(f"{path}: 32-bit ELF; only x86-64 (64-bit) programs run here")
    machine = elf["e_machine"]
    if machine != "EM_X86_64":
        raise ELFLoadError(f"{path}: ELF for {_MACHINES.get(machine, machine)}, not x86-64")
    kind = elf["e_type"]
    if kind not in ("ET_EXEC", "ET_DYN"):
        raise ELFLoadError(f"{path}: ELF type {kind} is not an executable")
    headers = list(elf.iter_segments())
    for seg in headers:
        if seg["p_type"] == "PT_INTERP":
            interp = seg.get_interp_name()
            raise ELFLoadError(f"{path}: dynamically linked (needs {interp}); "
                               f"build it with -static")
    base = STATIC_PIE_BASE if kind == "ET_DYN" else 0
    segments = [_segment(path, raw, seg, base) for seg in headers if seg["p_type"] == "PT_LOAD"]
    if not segments:
        raise ELFLoadError(f"{path}: no loadable segments")
    for seg in segments:
        if not LOWEST_SEGMENT <= seg.vaddr <= seg.vaddr + seg.memsz <= HIGHEST_SEGMENT_END:
            raise ELFLoadError(f"{path}: a segment at {seg.vaddr:#x}..{seg.vaddr + seg.memsz:#x} "
                               f"lies outside user memory ({LOWEST_SEGMENT:#x}.."
                               f"{HIGHEST_SEGMENT_END:#x})")
    entry = elf["e_entry"] + base
    if not entry < HIGHEST_SEGMENT_END:        # Linux's execve: BAD_ADDR(e_entry) -> EINVAL
        raise ELFLoadError(f"{path}: the entry point {entry:#x} lies outside user memory")
    return Image(path=str(path.resolve()), entry=entry, segments=segments,
                 symbols=_symbols(elf, base), phdr=_phdr_address(elf, headers, base),
                 phent=elf["e_phentsize"], phnum=elf["e_phnum"], base=base,
                 kind="pie" if base else "exec", elf_path=str(path))


def read_kernel_elf(path, low: int, high: int) -> tuple[list[Segment], dict[str, int]]:
    """The PT_LOAD segments and symbols of a freestanding kernel ELF linked to
    run in [low, high) of the kernel half (a --kernel C file)."""
    path = Path(path)
    raw = read_user_file(path)
    try:
        import io
        elf = ELFFile(io.BytesIO(raw))
        segments = [_segment(path, raw, seg, 0) for seg in elf.iter_segments()
                    if seg["p_type"] == "PT_LOAD"]
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


def _segment(path: Path, raw: bytes, seg, base: int) -> Segment:
    offset, filesz, memsz = seg["p_offset"], seg["p_filesz"], seg["p_memsz"]
    if offset + filesz > len(raw) or filesz > memsz:
        raise ELFLoadError(f"{path}: corrupt ELF file: a PT_LOAD segment runs past the file")
    flags = seg["p_flags"]
    prot = (PROT_READ if flags & P_FLAGS.PF_R else 0) | \
           (PROT_WRITE if flags & P_FLAGS.PF_W else 0) | \
           (PROT_EXEC if flags & P_FLAGS.PF_X else 0)
    return Segment(seg["p_vaddr"] + base, memsz, raw[offset:offset + filesz], prot)


def _phdr_address(elf, headers, base: int) -> int:
    for seg in headers:
        if seg["p_type"] == "PT_PHDR":
            return seg["p_vaddr"] + base
    phoff = elf["e_phoff"]
    for seg in headers:
        if seg["p_type"] == "PT_LOAD" and seg["p_offset"] <= phoff < seg["p_offset"] + seg["p_filesz"]:
            return seg["p_vaddr"] + phoff - seg["p_offset"] + base
    return 0


ELF64_SYM = struct.Struct("<IBBHQQ")     # st_name st_info st_other st_shndx st_value st_size
SYMBOL_TYPES = (0, 1, 2)                 # STT_NOTYPE, STT_OBJECT, STT_FUNC
SHN_UNDEF = 0


def _symbols(elf, base: int) -> dict[str, int]:
    """The symbol table's functions and objects. Linux runs a program whatever
    its sections say, so a missing or corrupt .symtab gives no symbols, not a
    refusal. The entries are unpacked with struct, not pyelftools: a static
    glibc program has ~2,000, which pyelftools takes 0.3 s to parse."""
    try:
        table = elf.get_section_by_name(".symtab")
        if not isinstance(table, SymbolTableSection):
            return {}
        names = elf.get_section(table["sh_link"]).data()
        out = {}
        for name_at, info, _other, shndx, value, _size in \
                ELF64_SYM.iter_unpack(table.data()[:table.data_size // 24 * 24]):
            if name_at and info & 0xF in SYMBOL_TYPES and shndx != SHN_UNDEF and value:
                name = names[name_at:names.index(b"\0", name_at)].decode("utf-8", "replace")
                if name:
                    out.setdefault(name, value + base)
        return out
    except Exception:          # pyelftools on a malformed section table
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

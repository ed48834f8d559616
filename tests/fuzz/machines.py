"""Shared pieces of the fuzz targets: boot-state checks and tiny programs."""

from __future__ import annotations

from dataclasses import dataclass

from emu import Machine
from emu.assembler import assemble
from emu.elf import image_from_program
from emu.loader import USER_BASE

RAM_MIB = 64


@dataclass(frozen=True)
class BootState:
    """What must come back after every process: the os_MemoryMap's bytes and
    the frame allocator's counts."""
    memory_map: bytes
    frames_in_use: int
    chunks_held: int

    @classmethod
    def of(cls, machine: Machine) -> "BootState":
        return cls(machine.memory_map.snapshot(), machine.frames.frames_in_use,
                   machine.frames.chunks_held)


_MACHINES: dict[str, tuple[Machine, BootState]] = {}


def shared_machine(target: str) -> tuple[Machine, BootState]:
    """One machine per fuzz target, and its boot state: every case must leave
    it as it found it."""
    if target not in _MACHINES:
        machine = Machine(ram_mib=RAM_MIB)
        _MACHINES[target] = (machine, BootState.of(machine))
    return _MACHINES[target]


def assert_back_at_boot(machine: Machine, boot: BootState) -> None:
    now = BootState.of(machine)
    assert now.frames_in_use == boot.frames_in_use, "frames leaked"
    assert now.chunks_held == boot.chunks_held, "chunks leaked"
    assert now.memory_map == boot.memory_map, "os_MemoryMap not back at its boot value"


def image_of_bytes(code: bytes, bss: int = 0):
    """A user program whose .text is exactly `code` (entry at its first byte)."""
    body = ",".join(str(b) for b in code) if code else "0"
    source = f"_start: db {body}\n"
    if bss:
        source += f"section .bss\nspace: resb {bss}\n"
    return image_from_program(assemble(source, file="<fuzz>", base=USER_BASE,
                                       page_aligned=True))


def fragments(lines: list[str]) -> list[bytes]:
    """Each line of asm assembled alone: the pieces random programs are made of."""
    return [bytes(assemble(line, file="<fragment>", base=USER_BASE).section(".text").data)
            for line in lines]

"""What the pagewalk tests share: the variant, the student's files, the harness."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ....machine import Machine

WALK_RAM_MIB = 256
MAP_RAM_MIB = 64


@dataclass
class Prepared:
    params: dict
    variant: object
    submission: Path
    harness: Path                 # the lab's own alloc_table.asm
    budgets: dict

    @property
    def walk_file(self) -> Path:
        return self.submission / "walk.asm"

    @property
    def map_file(self) -> Path:
        return self.submission / "map_page.asm"

    @property
    def answers_file(self) -> Path:
        return self.submission / "answers.txt"

    def stream(self, spec, label: str):
        """A test's random stream: hidden tests draw from the hidden seed."""
        variant = self.variant
        return variant.hidden_stream(label) if spec.hidden else variant.stream(label)


def walk_machine(prepared: Prepared):
    """A machine for walk(): RAM for the tables, the student's walk.asm loaded."""
    machine = Machine(ram_mib=WALK_RAM_MIB)
    program = machine.load(prepared.walk_file)
    return machine, program


def map_machine(prepared: Prepared):
    """A machine for map_page(): alloc_table (the lab's) and the student's file."""
    machine = Machine(ram_mib=MAP_RAM_MIB)
    machine.load(prepared.harness)
    program = machine.load(prepared.map_file)
    return machine, program

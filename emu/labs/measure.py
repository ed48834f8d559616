"""Counting the guest instructions a routine runs: exact, the same everywhere.

Unicorn counts instructions only as a budget (stop after N). To know how many
a student's routine ran, a breakpoint (the machine's per-address code hook)
sits on every instruction of the student's .text and counts its hits; code
outside the student's programs is not counted, and nothing else is slowed.

    with InstructionCounter(machine, programs) as counter:
        result = call_routine(machine, "os_mem_allocate", regs, budget)
    counter.count
"""

from __future__ import annotations

from .. import disasm


def instruction_addresses(program) -> list[int]:
    """The address of every instruction in a program's .text section."""
    text = program.section(".text")
    return [insn.address for insn in disasm.decode_many(bytes(text.data), text.address)]


class InstructionCounter:
    """Counts the executed instructions of `programs` while it is entered."""

    def __init__(self, machine, programs):
        self.machine = machine
        self.addresses = sorted({a for p in programs for a in instruction_addresses(p)})
        self.count = 0
        self._hooks = []

    def _hit(self, _address: int) -> None:
        self.count += 1

    def __enter__(self) -> "InstructionCounter":
        self.count = 0
        self._hooks = [self.machine.add_breakpoint(a, self._hit) for a in self.addresses]
        return self

    def __exit__(self, *_exc) -> None:
        for hook in self._hooks:
            self.machine.remove_hook(hook)
        for address in self.addresses:
            self.machine.drop_translation(address)
        self._hooks = []

"""The machine's symbol table: addresses (labels) and constants, by name."""

from __future__ import annotations

import bisect


class SymbolTable:
    """Names the machine knows: labels of loaded code, kernel addresses, constants.

    `describe(addr)` names an address as "symbol+offset" using the nearest label
    at or below it (constants never name addresses).
    """

    def __init__(self):
        self._addresses: dict[str, int] = {}
        self._constants: dict[str, int] = {}
        self._sorted: list[tuple[int, str]] = []

    def add_address(self, name: str, value: int) -> None:
        self._addresses[name] = value
        bisect.insort(self._sorted, (value, name))

    def add_constant(self, name: str, value: int) -> None:
        self._constants[name] = value

    def add_program(self, program) -> None:
        """Add the labels and constants an assembled Program defines."""
        for name, value in program.symbols.items():
            if name in program.labels:
                self.add_address(name, value)
            else:
                self.add_constant(name, value)

    def get(self, name: str) -> int | None:
        if name in self._addresses:
            return self._addresses[name]
        return self._constants.get(name)

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def all(self) -> dict[str, int]:
        """Every name and value: what a newly loaded file may refer to."""
        return {**self._constants, **self._addresses}

    def addresses(self) -> dict[str, int]:
        return dict(self._addresses)

    def lookup(self, address: int, max_offset: int = 0x10000) -> tuple[str, int] | None:
        """(name, offset) of the nearest label at or below `address`, or None."""
        i = bisect.bisect_right(self._sorted, (address, "\uffff")) - 1
        if i < 0:
            return None
        value, name = self._sorted[i]
        offset = address - value
        return None if offset > max_offset else (name, offset)

    def describe(self, address: int, max_offset: int = 0x10000) -> str:
        """'name+0x12' for the nearest label at or below `address`, or ''."""
        found = self.lookup(address, max_offset)
        if found is None:
            return ""
        name, offset = found
        return name if offset == 0 else f"{name}+{offset:#x}"

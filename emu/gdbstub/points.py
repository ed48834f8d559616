"""Z and z packets: gdb's breakpoints and watchpoints on the Target's.

    Z0,ADDR,KIND    software breakpoint      Target.add_breakpoint (a code hook;
    Z1,ADDR,KIND    hardware breakpoint       memory is never patched)
    Z2,ADDR,LEN     write watchpoint         Target.add_watchpoint(kind="write")
    Z3,ADDR,LEN     read watchpoint                              (kind="read")
    Z4,ADDR,LEN     access watchpoint                            (kind="access")

gdb removes its breakpoints at every stop and inserts them again before it
resumes, and may insert the same one twice: inserting is idempotent, and
removing one that is not there is not an error. The Target numbers its points;
this table remembers which number stands for which (type, address[, length]).
"""

from __future__ import annotations

from ..errors import UnmappedAccess
from .packets import E_FAULT, PacketError, parse_number

SOFTWARE, HARDWARE = 0, 1
WATCH_KINDS = {2: "write", 3: "read", 4: "access"}
REASONS = {SOFTWARE: "swbreak", HARDWARE: "hwbreak"}


class Points:
    """The Z/z insertions of one gdb session, by (type, address, length)."""

    def __init__(self, target):
        self.target = target
        self._numbers: dict[tuple[int, int, int], int] = {}

    def insert(self, ztype: int, address: int, length: int) -> bool:
        """Insert; False for a type this stub does not know (gdb then falls back)."""
        key = self._key(ztype, address, length)
        if key is None:
            return False
        if key in self._numbers:
            return True
        if ztype in REASONS:
            point = self.target.add_breakpoint(address, location=f"gdb Z{ztype}")
        else:
            if length < 1:
                raise PacketError(f"Z{ztype}: a watchpoint needs a length of 1 or more")
            try:
                point = self.target.add_watchpoint(address, length, WATCH_KINDS[ztype])
            except UnmappedAccess as exc:
                raise PacketError(str(exc), E_FAULT) from None
        self._numbers[key] = point.number
        return True

    def remove(self, ztype: int, address: int, length: int) -> bool:
        key = self._key(ztype, address, length)
        if key is None:
            return False
        number = self._numbers.pop(key, None)
        if number is not None:
            self.target.delete(number)
        return True

    def reason(self, breakpoint) -> str:
        """swbreak or hwbreak for a Target breakpoint gdb inserted, else ''."""
        for (ztype, _, _), number in self._numbers.items():
            if number == breakpoint.number:
                return REASONS.get(ztype, "")
        return ""

    def _key(self, ztype: int, address: int, length: int):
        if ztype in REASONS:
            return (ztype, address, 0)          # the kind (1 on x86) changes nothing
        if ztype in WATCH_KINDS:
            return (ztype, address, length)
        return None


def parse_point(args: bytes, letter: str) -> tuple[int, int, int]:
    """(type, address, kind-or-length) from 'TYPE,ADDR,KIND[;cond...]'."""
    fields = args.split(b";", 1)[0].split(b",")
    if len(fields) != 3:
        raise PacketError(f"{letter}: expected TYPE,ADDR,KIND, found {args[:40]!r}")
    ztype, address, length = (parse_number(f, f"{letter} field") for f in fields)
    return ztype, address, length

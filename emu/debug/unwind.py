"""Unwinding the stack: from one frame's registers to its caller's.

Where the program has call frame information (.eh_frame, which gcc and clang
emit for C, glibc and musl included), the rule for pc says how to find the
CFA (the caller's rsp) and where the return address and the callee-saved
registers were saved:

    CFA = rsp + 8 at a function's first instruction, rbp + 16 once framed
    rip at CFA - 8, rbp at CFA - 16, rbx at CFA - 24 ...
    rip undefined: the outermost frame (glibc's and musl's _start say so)

Without CFI (assembly), the frame-pointer chain is followed: the return
address at [rbp + 8] and the caller's rbp at [rbp], once the function has run
`push rbp; mov rbp, rsp` (before that, at [rsp] or [rsp + 8]).

Finding the FDE for a pc: the FDE headers of .eh_frame are indexed once
(a few ms; the pyelftools parse of every entry takes ~0.6 s for glibc), and
an FDE's instructions are decoded the first time a pc needs them.
"""

from __future__ import annotations

import bisect
import io
import struct

from elftools.dwarf.callframe import CallFrameInfo, RegisterRule
from elftools.dwarf.structs import DWARFStructs

from .lines import uleb128

RIP, RSP, RBP = 16, 7, 6
CALLEE_SAVED = (3, 6, 12, 13, 14, 15)            # rbx rbp r12..r15, by DWARF number
DW_EH_PE_PCREL, DW_EH_PE_OMIT = 0x10, 0xFF


class CFIndex:
    """The FDEs of one ELF's .eh_frame, found by pc."""

    def __init__(self, elf, bias: int = 0):
        self.bias = bias
        section = elf.get_section_by_name(".eh_frame")
        self._starts: list[int] = []
        self._entries: list[tuple[int, int, int]] = []      # (start, end, offset)
        self._decoded: dict[int, list] = {}
        if section is None:
            self._cfi = None
            return
        data = section.data()
        self._cfi = CallFrameInfo(stream=io.BytesIO(data), size=len(data),
                                  address=section["sh_addr"],
                                  base_structs=DWARFStructs(little_endian=True,
                                                            dwarf_format=32, address_size=8),
                                  for_eh_frame=True)
        self._index(data, section["sh_addr"])

    def _index(self, data: bytes, address: int) -> None:
        """Read only the FDE headers: pc_begin (pc-relative sdata4, what every
        x86-64 toolchain uses) and pc_range."""
        encodings: dict[int, int] = {}
        offset = 0
        while offset + 8 <= len(data):
            length, = struct.unpack_from("<I", data, offset)
            if length == 0 or length == 0xFFFFFFFF:
                break
            cie_id, = struct.unpack_from("<I", data, offset + 4)
            if cie_id == 0:
                encodings[offset] = _cie_encoding(data, offset)
            else:
                cie = offset + 4 - cie_id
                if encodings.get(cie) == DW_EH_PE_PCREL | 0x0B:        # pcrel sdata4
                    begin, size = struct.unpack_from("<iI", data, offset + 8)
                    start = address + offset + 8 + begin + self.bias
                    self._entries.append((start, start + size, offset))
            offset += 4 + length
        self._entries.sort()
        self._starts = [e[0] for e in self._entries]

    def row(self, pc: int):
        """The decoded CFI row in force at pc (a dict: 'cfa' and register rules),
        or None when no FDE covers pc."""
        i = bisect.bisect_right(self._starts, pc) - 1
        if i < 0 or not self._entries[i][0] <= pc < self._entries[i][1]:
            return None
        start, _, offset = self._entries[i]
        table = self._decoded.get(offset)
        if table is None:
            try:
                table = self._cfi._parse_entry_at(offset).get_decoded().table
            except Exception:        # pyelftools on an entry it cannot read
                table = []
            self._decoded[offset] = table
        found = None
        for row in table:
            if row["pc"] + self.bias <= pc:
                found = row
            else:
                break
        return found


def _cie_encoding(data: bytes, offset: int) -> int:
    """The FDE pointer encoding ('R' augmentation) of the CIE at offset."""
    at = offset + 9                                   # length, id, version
    end = data.index(b"\0", at)
    augmentation = data[at:end].decode(errors="replace")
    at = end + 1
    _, at = uleb128(data, at)                           # code alignment
    _, at = uleb128(data, at)                           # data alignment (sleb, same length)
    at += 1                                           # return address register
    if not augmentation.startswith("z"):
        return 0
    _, at = uleb128(data, at)                           # augmentation data length
    for letter in augmentation[1:]:
        if letter == "R":
            return data[at]
        if letter == "P":
            encoding = data[at]
            at += 1 + {0x00: 8, 0x03: 4, 0x0B: 4, 0x04: 8, 0x0C: 8}.get(encoding & 0x0F, 8)
        elif letter == "L":
            at += 1
    return 0


def caller_registers(row, regs: dict, read_u64) -> tuple[dict, int] | None:
    """The caller's registers and this frame's CFA by the CFI row; None when the
    row says this is the outermost frame or cannot be followed."""
    rule = row["cfa"]
    if rule.expr is not None or regs.get(rule.reg) is None:
        return None
    cfa = (regs[rule.reg] + rule.offset) & ((1 << 64) - 1)
    caller = {RSP: cfa}
    for number in (RIP,) + CALLEE_SAVED:
        register_rule = row.get(number)
        if register_rule is None:
            if number != RIP and regs.get(number) is not None:
                caller[number] = regs[number]          # not saved: unchanged
            continue
        if register_rule.type == RegisterRule.UNDEFINED:
            if number == RIP:
                return None
            continue
        if register_rule.type == RegisterRule.OFFSET:
            caller[number] = read_u64(cfa + register_rule.arg)
        elif register_rule.type == RegisterRule.SAME_VALUE and regs.get(number) is not None:
            caller[number] = regs[number]
        elif register_rule.type == RegisterRule.VAL_OFFSET:
            caller[number] = cfa + register_rule.arg
    if RIP not in caller:
        caller[RIP] = read_u64(cfa - 8)
    return caller, cfa

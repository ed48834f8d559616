"""The DWARF line-number program, decoded directly (DWARF 2 to 5, section 6.2).

pyelftools decodes each opcode through its construct library: 0.4 s for a
small clang program's four units, most of `emu debug`'s start-up. The
program is a byte-code for a state machine (address, file, line, is_stmt);
this decoder runs it from the raw bytes pyelftools' header parse points at,
about ten times faster, and yields only what the debugger keeps:

    (address, file index, line, is_stmt)       a row
    (address, None, 0, False)                  the end of a sequence

Opcodes: special opcodes (opcode_base and up) advance address and line
together; standard ones (copy, advance_pc, advance_line, set_file,
negate_stmt, const_add_pc, fixed_advance_pc, ...); extended ones after a 0
byte (end_sequence, set_address, define_file, set_discriminator).
"""

from __future__ import annotations

DW_LNS_COPY, DW_LNS_ADVANCE_PC, DW_LNS_ADVANCE_LINE, DW_LNS_SET_FILE = 1, 2, 3, 4
DW_LNS_NEGATE_STMT, DW_LNS_CONST_ADD_PC, DW_LNS_FIXED_ADVANCE_PC = 6, 8, 9
DW_LNE_END_SEQUENCE, DW_LNE_SET_ADDRESS = 1, 2


def uleb128(data: bytes, at: int) -> tuple[int, int]:
    """The unsigned LEB128 number at data[at], and where the next thing starts."""
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def sleb128(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if byte & 0x40:
                value -= 1 << shift
            return value, at


def decode(program) -> list[tuple]:
    """The rows of a pyelftools LineProgram, read from its stream."""
    header = program.header
    stream = program.stream
    stream.seek(program.program_start_offset)
    data = stream.read(program.program_end_offset - program.program_start_offset)
    return run(data, header["minimum_instruction_length"], header["default_is_stmt"],
               header["line_base"], header["line_range"], header["opcode_base"],
               list(header["standard_opcode_lengths"]))


def run(data: bytes, min_length: int, default_is_stmt, line_base: int, line_range: int,
        opcode_base: int, opcode_lengths: list) -> list[tuple]:
    """Run the state machine over `data`; rows as the module docstring says."""
    rows = []
    address, file, line, is_stmt = 0, 1, 1, bool(default_is_stmt)
    at, end = 0, len(data)
    while at < end:
        opcode = data[at]
        at += 1
        if opcode >= opcode_base:                          # special opcode
            adjusted = opcode - opcode_base
            address += (adjusted // line_range) * min_length
            line += line_base + adjusted % line_range
            rows.append((address, file, line, is_stmt))
        elif opcode == 0:                                  # extended opcode
            length, at = uleb128(data, at)
            sub = data[at]
            if sub == DW_LNE_END_SEQUENCE:
                rows.append((address, None, 0, False))
                address, file, line, is_stmt = 0, 1, 1, bool(default_is_stmt)
            elif sub == DW_LNE_SET_ADDRESS:
                address = int.from_bytes(data[at + 1:at + length], "little")
            at += length
        elif opcode == DW_LNS_COPY:
            rows.append((address, file, line, is_stmt))
        elif opcode == DW_LNS_ADVANCE_PC:
            delta, at = uleb128(data, at)
            address += delta * min_length
        elif opcode == DW_LNS_ADVANCE_LINE:
            delta, at = sleb128(data, at)
            line += delta
        elif opcode == DW_LNS_SET_FILE:
            file, at = uleb128(data, at)
        elif opcode == DW_LNS_NEGATE_STMT:
            is_stmt = not is_stmt
        elif opcode == DW_LNS_CONST_ADD_PC:
            address += ((255 - opcode_base) // line_range) * min_length
        elif opcode == DW_LNS_FIXED_ADVANCE_PC:
            address += int.from_bytes(data[at:at + 2], "little")
            at += 2
        else:                                              # skip its ULEB operands
            for _ in range(opcode_lengths[opcode - 1]):
                _, at = uleb128(data, at)
    return rows

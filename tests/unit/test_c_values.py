"""C types, expressions, values and DWARF locations, without a machine: each
checked against what gdb prints or what the DWARF and psABI specs say."""

import struct

import pytest

from emu.debug.dwarf.cexpr import ParseError, parse
from emu.debug.dwarf.evaluate import Context, EvalError, Evaluator, int_value
from emu.debug.dwarf.locations import (FrameAccess, Location, evaluate, in_list,
                                       read_location)
from emu.debug.dwarf.types import (BASE_TYPES, CHAR, INT, LONG, VOID, CType, Member,
                                   array_of, pointer_to, spell)
from emu.debug.dwarf.values import Reader, Value, format_value
from emu.debug.lines import run as run_lines

NODE = CType("struct", "node", 16)
NODE.members = [Member("value", LONG, 0), Member("next", pointer_to(NODE), 8)]
UNSIGNED = BASE_TYPES["unsigned int"]


class Memory(Context):
    """A context over a dict of bytes: variables by name, no registers."""

    def __init__(self, variables=None, memory=None):
        self.memory = memory or {}
        self.variables = variables or {}
        self.reader = Reader(self.read, lambda address: "")

    def read(self, address, size):
        return bytes(self.memory.get(address + i, 0) for i in range(size))

    def put(self, address, data):
        for i, byte in enumerate(data):
            self.memory[address + i] = byte

    def variable(self, name):
        return self.variables.get(name)

    def type_named(self, words):
        return {"struct node": NODE}.get(words) or BASE_TYPES.get(words)

    def is_type(self, word):
        return word in BASE_TYPES


def value_of(context, text):
    return Evaluator(context).run(parse(text, context.is_type))


def shown(context, text, fmt=""):
    return format_value(value_of(context, text), context.reader, fmt=fmt)


# -- spelling types ---------------------------------------------------------------------

def test_types_are_spelled_as_gdb_spells_them():
    const_char = CType("const", target=CHAR)
    function = CType("function", target=LONG, params=[pointer_to(NODE)])
    assert spell(pointer_to(NODE)) == "struct node *"
    assert spell(pointer_to(pointer_to(CHAR))) == "char **"
    assert spell(array_of(INT, 4)) == "int [4]"
    assert spell(pointer_to(array_of(INT, 4))) == "int (*)[4]"
    assert spell(pointer_to(function)) == "long (*)(struct node *)"
    assert spell(pointer_to(const_char)) == "const char *"
    assert spell(CType("const", target=pointer_to(CHAR))) == "char * const"
    assert spell(pointer_to(CType("function", target=VOID, params=None))) == "void (*)()"


# -- parsing -----------------------------------------------------------------------------

def test_precedence_casts_members_and_gdb_extras_parse():
    assert parse("1 + 2 * 3") == ("binary", "+", ("num", 1, "int"),
                                  ("binary", "*", ("num", 2, "int"), ("num", 3, "int")))
    assert parse("*(long *)0x10", lambda w: False) == \
        ("unary", "*", ("cast", ("long", 1, ()), ("num", 16, "int")))
    assert parse("p->next->value")[0] == "arrow"
    assert parse("a[1]@3")[0:2] == ("binary", "@")
    assert parse("$rax") == ("reg", "rax")
    assert parse("$2") == ("history", 2, False) and parse("$$") == ("history", 1, True)
    assert parse("{long} 0x10") == ("at_type", ("long", 0, ()), ("num", 16, "int"))
    assert parse("sizeof(struct node)") == ("sizeof_type", ("struct node", 0, ()))
    assert parse("0xffffffff") == ("num", 0xFFFFFFFF, "long")
    with pytest.raises(ParseError, match="syntax error"):
        parse("1 +")


# -- evaluating --------------------------------------------------------------------------

def test_integer_arithmetic_follows_c_conversions():
    context = Memory()
    assert shown(context, "-7 / 2") == "-3"                  # truncates toward zero
    assert shown(context, "-7 % 2") == "-1"
    assert shown(context, "(char)300") == "44 ','"
    assert shown(context, "(unsigned int)-1") == "4294967295"
    assert shown(context, "-1 < 1u") == "0"                   # -1 becomes unsigned
    assert shown(context, "1 << 40") == "0"                   # int arithmetic
    assert shown(context, "1L << 40") == "1099511627776"
    assert shown(context, "10 / 4.0") == "2.5"
    with pytest.raises(EvalError, match="Division by zero"):
        value_of(context, "1 / 0")


def test_pointers_deref_members_arrays_and_artificial_arrays():
    context = Memory()
    context.put(0x1000, struct.pack("<qQ", 10, 0x2000))        # node {10, -> 0x2000}
    context.put(0x2000, struct.pack("<qQ", 20, 0))
    context.variables["list"] = int_value(0x1000, pointer_to(NODE))
    assert shown(context, "list->value + list->next->value") == "30"
    assert shown(context, "*list->next") == "{value = 20, next = 0x0}"
    assert shown(context, "list + 1") == "(struct node *) 0x1010"      # scaled by 16
    assert shown(context, "&list->next") == "(struct node **) 0x1008"
    assert shown(context, "*(long *)0x2000") == "20"
    assert shown(context, "((long *)0x1000)[512]") == "20"                 # 0x1000 + 512 * 8
    assert shown(context, "*(long *)0x1000@3") == "{10, 8192, 0}"
    assert shown(context, "(char *)0x2008 - (char *)0x2000") == "8"
    with pytest.raises(EvalError, match="There is no member named nope"):
        value_of(context, "list->nope")
    with pytest.raises(EvalError, match='No symbol "nothing"'):
        value_of(context, "nothing")


# -- printing ------------------------------------------------------------------------------

def printed(t, data, fmt="", top=True):
    return format_value(Value(t, data=data), Reader(lambda a, n: b"", lambda a: ""),
                        top=top, fmt=fmt)


def test_char_arrays_and_repeats_print_as_gdb():
    assert printed(array_of(CHAR, 8), b"ab" + bytes(6)) == '"ab\\000\\000\\000\\000\\000"'
    assert printed(array_of(CHAR, 5), b"abcde") == '"abcde"'
    assert printed(array_of(CHAR, 20), b"x" + bytes(19)) == \
        '"x", \'\\000\' <repeats 18 times>'
    ten = struct.pack("<10i", *[1] * 10)
    assert printed(array_of(INT, 10), ten) == "{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}"
    assert printed(array_of(INT, 11), ten + struct.pack("<i", 1)) == "{1 <repeats 11 times>}"


def test_scalars_enums_and_formats_print_as_gdb():
    color = CType("enum", "color", 4, enumerators={0: "RED", 4: "GREEN", 8: "BLUE"})
    assert printed(color, struct.pack("<i", 4)) == "GREEN"
    assert printed(color, struct.pack("<i", 12)) == "(GREEN | BLUE)"
    assert printed(color, struct.pack("<i", 5)) == "(GREEN | unknown: 0x1)"
    assert printed(BASE_TYPES["unsigned char"], b"\xc8") == "200 '\\310'"
    assert printed(BASE_TYPES["float"], struct.pack("<f", 1.1)) == "1.10000002"
    assert printed(BASE_TYPES["double"], struct.pack("<d", 0.1)) == "0.10000000000000001"
    assert printed(BASE_TYPES["_Bool"], b"\x01") == "true"
    assert printed(pointer_to(NODE), bytes(8)) == "(struct node *) 0x0"
    assert printed(pointer_to(NODE), bytes(8), top=False) == "0x0"
    assert printed(INT, struct.pack("<i", -1), fmt="x") == "0xffffffff"
    assert printed(INT, struct.pack("<i", 8), fmt="o") == "010"
    assert printed(INT, struct.pack("<i", 5), fmt="t") == "101"


# -- DWARF locations -------------------------------------------------------------------------

class Frame(FrameAccess):
    def __init__(self, regs, memory=None, base=None):
        self.regs, self.memory, self.base = regs, memory or {}, base

    def reg(self, number):
        return self.regs.get(number)

    def read(self, address, size):
        return self.memory[address][:size]

    def frame_base(self):
        return self.base


class Op:
    def __init__(self, name, *args):
        self.op_name, self.args = name, list(args)


def test_locations_frame_base_registers_values_and_pieces():
    frame = Frame({6: 0x7000, 7: 0x6FF0, 3: 42}, {0x6FF8: struct.pack("<Q", 99)}, base=0x7010)
    assert evaluate([Op("DW_OP_fbreg", -20)], frame) == Location("memory", address=0x6FFC)
    assert evaluate([Op("DW_OP_reg3")], frame) == Location("register", register=3)
    assert evaluate([Op("DW_OP_breg7", 8), Op("DW_OP_deref")], frame).address == 99
    value = evaluate([Op("DW_OP_lit5"), Op("DW_OP_stack_value")], frame)
    assert read_location(value, 4, frame) == struct.pack("<i", 5)
    pieces = evaluate([Op("DW_OP_reg3"), Op("DW_OP_piece", 4), Op("DW_OP_lit7"),
                       Op("DW_OP_stack_value"), Op("DW_OP_piece", 4)], frame)
    assert read_location(pieces, 8, frame) == struct.pack("<ii", 42, 7)
    gone = evaluate([Op("DW_OP_entry_value", [0x55]), Op("DW_OP_stack_value")], frame)
    assert gone.kind == "optimized"


def test_a_location_list_picks_the_range_holding_pc():
    class Entry:
        def __init__(self, begin, end, expr):
            self.begin_offset, self.end_offset, self.loc_expr = begin, end, expr
            self.is_absolute = False
    entries = [Entry(0x10, 0x20, [0x53]), Entry(0x20, 0x30, [0x50])]       # rbx, then rax
    assert in_list(entries, 0x401015, 0x401000) == [0x53]
    assert in_list(entries, 0x401020, 0x401000) == [0x50]
    assert in_list(entries, 0x401040, 0x401000) is None                    # optimized out


def test_the_line_program_state_machine():
    """DW_LNE_set_address 0x401000, a special opcode (+0 address, +1 line),
    DW_LNS_advance_pc 4, DW_LNS_copy, DW_LNE_end_sequence; line_base -5,
    line_range 14, opcode_base 13."""
    program = bytes([0, 9, 2, *struct.pack("<Q", 0x401000), 13 + 6, 2, 4, 1, 0, 1, 1])
    rows = run_lines(program, 1, 1, -5, 14, 13, [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1])
    assert rows == [(0x401000, 1, 2, True), (0x401004, 1, 2, True), (0x401004, None, 0, False)]

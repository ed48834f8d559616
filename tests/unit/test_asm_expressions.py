"""The assembler's expression evaluator and line reader (no Unicorn)."""

import pytest

from emu.assembler.expr import Context, ExprError, Value, evaluate, evaluate_value, parse_number
from emu.assembler.parse import Reader
from emu.assembler.preprocess import Preprocessor
from emu.assembler.text import split_operands, strip_comment
from emu.errors import AssemblyError


def read(text):
    """Statements of `text` after preprocessing."""
    return Reader().read(Preprocessor("t.asm").run(text))


def ev(text, **symbols):
    return evaluate(text, Context(symbols.get, here=0x1000, section_start=0x800))


@pytest.mark.parametrize("text,value", [
    ("0x1f", 31), ("1fh", 31), ("0b101", 5), ("101b", 5), ("17q", 15), ("0o17", 15),
    ("1_000", 1000), ("42", 42), ("0d42", 42),
])
def test_nasm_number_forms(text, value):
    assert parse_number(text) == value


def test_precedence_and_operators():
    assert ev("2 + 3 * 4") == 14
    assert ev("(2 + 3) * 4") == 20
    assert ev("1 << 4 | 1") == 17
    assert ev("7 % 3") == 1
    assert ev("-7 // 2") == -3                        # signed, truncating
    assert ev("-7 / 2") == 0x7FFF_FFFF_FFFF_FFFC      # NASM: unsigned 64-bit
    assert ev("-16 >> 4") == 0x0FFF_FFFF_FFFF_FFFF    # NASM: a logical shift
    assert ev("~0 >> 60") == 0xF
    assert ev("~0 & 0xff") == 0xff
    assert ev("'ab'") == 0x6261


def test_symbols_dollar_and_double_dollar():
    assert ev("msg + 1", msg=0x2000) == 0x2001
    assert ev("$ - $$") == 0x800


def test_unknown_symbols_are_collected_not_guessed_silently():
    ctx = Context({}.get, here=0x1234)
    assert evaluate("later + 1", ctx) == 0x1235
    assert ctx.missing == {"later"}


def test_malformed_expressions_raise():
    with pytest.raises(ExprError):
        ev("1 +")
    with pytest.raises(ExprError):
        ev("(1 + 2")
    with pytest.raises(ExprError):
        ev("4 / 0")


def test_comments_and_operands_respect_quotes_and_brackets():
    assert strip_comment("db 'a;b', 0 ; trailing") == "db 'a;b', 0 "
    assert split_operands("rax, [rsi + rcx*4], 'x,y'") == ["rax", "[rsi + rcx*4]", "'x,y'"]


def test_local_labels_belong_to_the_last_global_label():
    stmts = read("outer:\n.loop: nop\nnext:\n.loop: nop\n")
    assert [s.label for s in stmts] == ["outer", "outer.loop", "next", "next.loop"]


def test_times_splits_count_from_statement():
    (stmt,) = read("times 510-($-$$) db 0")
    assert stmt.times == "510-($-$$)" and stmt.name == "db" and stmt.operands == ["0"]


def test_unknown_preprocessor_directive_names_the_line():
    with pytest.raises(AssemblyError) as info:
        read("nop\n%frobnicate foo 1\n")
    assert info.value.line == 2 and "%frobnicate" in str(info.value)


def test_define_leaves_strings_alone_and_assign_evaluates():
    stmts = read('%define N 5\n%assign X 2+3\ndb "N items", N\nmov eax, X*2\n')
    assert stmts[0].operands == ['"N items"', "5"]
    assert stmts[1].operands == ["eax", "5*2"]


def test_equ_does_not_reset_the_local_label_scope():
    stmts = read("start:\n.a: nop\nX equ 5\n jmp .a\n")
    assert stmts[3].scope == "start"


@pytest.mark.parametrize("text,value", [
    ("0h", 0), ("0b9h", 0xB9), ("$1f", 0x1F), ("0x_ff", 0xFF), ("08", 8), ("0t99", 99),
])
def test_nasm_number_forms_that_look_like_prefixes(text, value):
    assert parse_number(text) == value


def test_comparisons_logic_and_the_conditional_operator():
    assert [ev("3 < 4"), ev("3 == 4"), ev("3 <> 4"), ev("-1 < 0"), ev("2 <=> 3")] == \
        [1, 0, 1, 1, -1]
    assert [ev("1 && 0"), ev("1 || 0"), ev("1 ^^ 1"), ev("0 ? 2 : 3"), ev("1 ? 0 ? 4 : 5 : 6")] \
        == [0, 1, 0, 3, 5]


def test_values_wrap_at_64_bits_as_in_nasm():
    assert ev("0xffffffffffffffff") == -1
    assert ev("1 << 63") == -(1 << 63)
    assert ev("0x7fffffffffffffff + 1") == -(1 << 63)


def test_deep_nesting_needs_no_recursion():
    assert ev("(" * 4000 + "7" + ")" * 4000) == 7


def test_registers_and_addresses_are_counted_not_multiplied():
    ctx = Context({"lbl": Value(0x401000, reloc=1)}.get, registers=frozenset({"rax", "rbx"}))
    value = evaluate_value("lbl + rbx*4 + rax - 8", ctx)
    assert (value.number, value.reloc, value.regs) == \
        (0x400FF8, 1, (("rbx", 4, True), ("rax", 1, False)))
    assert evaluate_value("lbl - lbl", ctx).scalar
    for bad in ("lbl * 2", "lbl << 1", "rax * rbx", "~rax"):
        with pytest.raises(ExprError):
            evaluate_value(bad, ctx)


def test_floats_are_refused_in_integer_expressions():
    with pytest.raises(ExprError, match="floating-point"):
        ev("1.5 + 1")
    assert ev("__float32__(1.5)") == 0x3FC00000

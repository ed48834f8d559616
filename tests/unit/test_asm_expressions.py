"""The assembler's expression evaluator and line reader (no Unicorn)."""

import pytest

from emu.assembler.expr import Context, ExprError, evaluate, parse_number
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

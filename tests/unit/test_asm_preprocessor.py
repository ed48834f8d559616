"""NASM's preprocessor (emu/assembler/preprocess.py): pure text, no encoder."""

import pytest

from emu.assembler.preprocess import Preprocessor
from emu.errors import AssemblyError


def texts(source, file="t.asm"):
    return [line.text for line in Preprocessor(file).run(source)]


def error_of(source, file="t.asm"):
    with pytest.raises(AssemblyError) as info:
        Preprocessor(file).run(source)
    return info.value


def test_single_line_macros_plain_function_like_and_case_insensitive():
    assert texts("%define N 4\n%define SQ(x) ((x) * (x))\n%idefine Big 9\n"
                 "db N, SQ(N + 1), BIG, 'N'") == ["db 4, ((4 + 1) * (4 + 1)), 9, 'N'"]


def test_define_expands_at_use_and_xdefine_at_definition():
    assert texts("%define A 1\n%define B A\n%xdefine C A\n%define A 2\ndb B, C") == ["db 2, 1"]


def test_undef_and_a_macro_that_names_itself_stops():
    assert texts("%define A 1\n%undef A\n%define L L + 1\ndb A, L") == ["db A, L + 1"]


def test_if_elif_else_choose_one_branch_and_nest():
    source = ("%assign n 5\n%if n > 9\ndb 1\n%elif n == 5 && n < 6\ndb 2\n"
              "%if 0\ndb 3\n%else\ndb 4\n%endif\n%else\ndb 5\n%endif")
    assert texts(source) == ["db 2", "db 4"]


def test_a_skipped_branch_is_not_evaluated():
    assert texts("%if 0\n%if no_such_symbol\ndb 1\n%endif\n%else\ndb 2\n%endif") == ["db 2"]


@pytest.mark.parametrize("test,expected", [
    ("%ifdef X", "yes"), ("%ifndef X", "no"), ("%ifdef Y", "no"), ("%ifidn rax, rax", "yes"),
    ("%ifidn rax, RAX", "no"), ("%ifidni rax, RAX", "yes"), ("%ifempty", "yes"),
    ("%ifnum 12", "yes"), ("%ifid 12", "no"), ("%ifstr 'a'", "yes"), ("%ifmacro m", "yes"),
])
def test_if_family_tests(test, expected):
    source = f"%define X\n%macro m 0\n%endmacro\n{test}\ndb 'yes'\n%else\ndb 'no'\n%endif"
    assert texts(source) == [f"db '{expected}'"]


def test_if_sees_the_constants_defined_above_it():
    assert texts("SHIFT equ 21\n%if SHIFT != 21\n%error wrong\n%endif\nnop") == \
        ["SHIFT equ 21", "nop"]


def test_macro_parameters_count_and_local_labels():
    out = texts("%macro spin 1\n%%top: dec %1\njnz %%top\ndb %0\n%endmacro\nspin ecx\nspin edx")
    assert out[1:3] == ["jnz ..@1.top", "db 1"] and out[3] == "..@2.top: dec edx"


def test_macro_defaults_greedy_and_overloads():
    source = ("%macro m 1-2 7\ndb %1, %2\n%endmacro\n%macro g 1+\ndb %1\n%endmacro\n"
              "%macro o 0\ndb 0\n%endmacro\n%macro o 2\ndb %2\n%endmacro\n"
              "m 1\nm 1, 2\ng 1, 2, 3\no\no 8, 9")
    assert texts(source) == ["db 1, 7", "db 1, 2", "db 1, 2, 3", "db 0", "db 9"]


def test_rep_with_rotate_pushes_every_argument():
    source = "%macro save 1-*\n%rep %0\npush %1\n%rotate 1\n%endrep\n%endmacro\nsave rax, rbx, rcx"
    assert texts(source) == ["push rax", "push rbx", "push rcx"]


def test_rep_counts_exitrep_leaves_and_zero_repeats_nothing():
    source = ("%assign i 0\n%rep 10\n%if i == 3\n%exitrep\n%endif\ndb i\n%assign i i+1\n"
              "%endrep\n%rep 0\nnop\n%endrep")
    assert texts(source) == ["db 0", "db 1", "db 2"]


def test_a_wrong_argument_count_warns_as_nasm_and_leaves_the_line():
    pre = Preprocessor("t.asm")
    assert [line.text for line in pre.run("%macro m 1\ndb %1\n%endmacro\nm")] == ["m"]
    assert "not with 0 parameter" in pre.warnings[0]


def test_lines_made_by_a_macro_point_at_its_call():
    lines = Preprocessor("t.asm").run("%macro two 0\nnop\nnop\n%endmacro\n\ntwo\n")
    made = [(line.file, line.number, line.source) for line in lines if line.text]
    assert made == [("t.asm", 6, "two")] * 2


def test_include_is_relative_to_the_including_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.inc").write_text('db 1\n%include "b.inc"\n')
    (tmp_path / "sub" / "b.inc").write_text("db 2\n")
    main = tmp_path / "main.asm"
    lines = Preprocessor(str(main)).run('%include "sub/a.inc"\ndb 3\n')
    assert [line.text for line in lines] == ["db 1", "db 2", "db 3"]
    assert lines[1].file == str(tmp_path / "sub" / "b.inc") and lines[1].number == 1


def test_a_backslash_continues_the_line_and_comments_go():
    assert texts("db 1, \\\n   2 ; two\nnop ; 'quoted; not a comment'") == ["db 1,    2", "nop"]


@pytest.mark.parametrize("source,line,words", [
    ("nop\n%endif", 2, "%endif without an %if"),
    ("%if 1\n%else\n%else\n%endif", 3, "second %else"),
    ("%if 1\n%else\n%elif 1\n%endif", 3, "after %else"),
    ("%macro m 1\ndb %1\n", 1, "%endmacro"),
    ("%rep 2\nnop\n", 1, "%endrep"),
    ("nop\n%error stop here", 2, "stop here"),
    ("%if undefined_thing\n%endif", 1, "not defined before this line"),
    ("%include \"no/such.inc\"", 1, "no such file"),
    ("%frobnicate", 1, "unknown preprocessor directive"),
    ("%rotate 1", 1, "outside a macro"),
])
def test_preprocessor_errors_name_the_line(source, line, words):
    err = error_of(source)
    assert err.line == line and words in err.message


def test_defstr_quotes_as_nasm_does_keeping_every_quote_of_the_text():
    # NASM 2.16.01 assembles the three strings to the bytes of: it's, say "it's", plain
    assert texts("%defstr A it's\n%defstr B say \"it's\"\n%defstr C plain\ndb A, B, C") == \
        ["db \"it's\", `say \"it's\"`, 'plain'"]

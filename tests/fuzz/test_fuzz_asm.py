"""Malformed assembly: whatever the text, the assembler gives a program or one
AssemblyError (or UsageError) whose message is one line naming the file and
line. Never another exception, never a host crash (keystone's LLVM can abort
or crash the process), never unbounded work.

The inputs are the differential corpus (tests/nasm) mutated, soups of the
tokens the front end treats specially, and arbitrary text. A short profile
runs in `make test`; EMU_FUZZ_EXAMPLES=100000 runs a long one:

    EMU_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/fuzz/test_fuzz_asm.py
"""

import json
import logging
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emu.assembler import assemble
from emu.assembler.assembly import MAX_OUTPUT
from emu.errors import AssemblyError, UsageError

EXAMPLES = int(os.environ.get("EMU_FUZZ_EXAMPLES", "120"))
PROFILE = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 1000,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CORPUS = Path(__file__).resolve().parent.parent / "nasm" / "reference" / "forms.jsonl"
FORMS = [json.loads(line)["form"] for line in CORPUS.read_text().splitlines() if line]
TOKENS = ["mov", "lea", "add", "push", "jmp", "call", "movzx", "rep", "lock", "times",
          "db", "dw", "dd", "dq", "dt", "resb", "equ", "align", "section", ".data", ".bss",
          "org", "bits", "default", "rel", "abs", "strict", "short", "near", "far", "byte",
          "dword", "qword", "nosplit", "rax", "eax", "ah", "sil", "r12", "rsp", "rbp",
          "xmm0", "fs", "cr3", "st0", "[", "]", "(", ")", ",", ":", "+", "-", "*", "/",
          "<<", ">>", "?", "'", '"', "`", "$", "$$", "1", "0x7fffffffffffffff", "1 << 62",
          "-1", "1.5", "1e999", "__float32__(", "%define", "%assign", "%macro", "%endmacro",
          "%rep", "%endrep", "%if", "%elif", "%else", "%endif", "%ifdef", "%include",
          "%1", "%0", "%%a", "%rotate", "%exitrep", "\n", ";", "\\", "é", "\u2028", "\ud800",
          "\t", "label:", ".local:", "..@x:"]


def assembles_or_refuses(source: str) -> None:
    """The property every fuzz test checks."""
    logging.disable(logging.WARNING)
    try:
        program = assemble(source, file="fuzz.asm", base=0x400000)
    except (AssemblyError, UsageError) as exc:
        message = str(exc)
        assert "\n" not in message and "Traceback" not in message, message
        assert isinstance(exc, UsageError) or message.startswith(("fuzz.asm", "/", ".")), message
        return
    finally:
        logging.disable(logging.NOTSET)
    initialized = sum(len(s.data) for s in program.sections)
    assert initialized <= MAX_OUTPUT


@st.composite
def mutated_forms(draw) -> str:
    """A corpus form with a few characters or tokens inserted, deleted or replaced."""
    lines = draw(st.lists(st.sampled_from(FORMS), min_size=1, max_size=4))
    text = list("\n".join(lines))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["delete", "insert", "token", "form"]))
        if edit == "delete" and text:
            del text[min(at, len(text) - 1)]
        elif edit == "insert":
            text.insert(at, draw(st.characters(max_codepoint=0x2FFF)))
        elif edit == "token":
            text[at:at] = " " + draw(st.sampled_from(TOKENS)) + " "
        else:
            text[at:at] = draw(st.sampled_from(FORMS))
    return "".join(text)


token_soup = st.lists(st.lists(st.sampled_from(TOKENS), max_size=8).map(" ".join),
                      max_size=6).map("\n".join)


@PROFILE
@given(mutated_forms())
def test_mutated_corpus_forms_assemble_or_give_one_error(source):
    assembles_or_refuses(source)


@PROFILE
@given(token_soup)
def test_token_soup_assembles_or_gives_one_error(source):
    assembles_or_refuses(source)


@PROFILE
@given(st.text(max_size=300))
def test_any_text_assembles_or_gives_one_error(source):
    assembles_or_refuses(source)

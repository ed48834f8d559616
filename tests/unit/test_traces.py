"""Reading CS:APP traces: what is accepted and the one-line errors for the rest."""

import pytest

import importlib.util

from emu.malloclab.image import LAB_MAGIC, pack
from emu.malloclab.traces import OP_ALLOC, OP_FREE, OP_REALLOC, TraceError, parse_trace
from tests.conftest import EXAMPLES


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_traces",
                                                  EXAMPLES / "traces" / "make_traces.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

GOOD = "20000\n3\n5\n1\na 0 100\na 1 20\nr 0 300\nf 1\nf 0\n"


def test_a_good_trace_is_read_with_line_numbers():
    trace = parse_trace(GOOD, "t.rep")
    assert (trace.num_ids, trace.num_ops) == (3, 5)
    assert [(o.kind, o.id, o.size, o.line) for o in trace.ops][:3] == \
        [(OP_ALLOC, 0, 100, 5), (OP_ALLOC, 1, 20, 6), (OP_REALLOC, 0, 300, 7)]
    assert trace.ops[3].kind == OP_FREE and trace.ops[3].text() == "f 1"


@pytest.mark.parametrize("text,line,words", [
    ("20000\n3\nfive\n1\n", 3, "header: expected the number of ops (an integer), found 'five'"),
    ("20000\n3\n", 3, "expected the number of ops, found the end of the file"),
    ("0\n2\n2\n1\na 0 10\na 5 10\n", 6, "id 5 is out of range (the header says 2 ids)"),
    ("0\n2\n2\n1\na 0 10\nf 1\n", 6, "free of id 1, which is not allocated"),
    ("0\n2\n3\n1\na 0 10\nf 0\nf 0\n", 7, "free of id 0, which is not allocated"),
    ("0\n2\n3\n1\na 0 10\nf 0\n", 6, "the header promises 3 ops, the file has 2 (truncated?)"),
    ("0\n2\n1\n1\nx 0 10\n", 5, "expected 'a ID SIZE', 'f ID' or 'r ID SIZE', found 'x 0 10'"),
    ("0\n2\n1\n1\na zero 10\n", 5, "expected integers"),
    ("0\n2\n2\n1\na 0 10\na 0 10\n", 6, "id 0 is allocated again before it is freed"),
])
def test_bad_traces_name_the_file_and_line(text, line, words):
    with pytest.raises(TraceError) as info:
        parse_trace(text, "bad.rep")
    assert str(info.value).startswith(f"bad.rep:{line}: ")
    assert words in str(info.value)


def test_packing_puts_the_ops_where_the_header_says():
    import struct
    image = pack(parse_trace(GOOD))
    magic, ids, ops, _, ops_offset = struct.unpack_from("<IIIIQ", image)
    assert (magic, ids, ops) == (LAB_MAGIC, 3, 5)
    assert struct.unpack_from("<BxxxIQ", image, ops_offset + 16 * 2) == (OP_REALLOC, 0, 300)


def test_the_committed_traces_are_what_the_seeded_script_makes():
    for name, text in _load_generator().generate().items():
        assert (EXAMPLES / "traces" / f"{name}.rep").read_text() == text
        parse_trace(text, name)                        # and they are valid traces

"""Fuzz targets: files from outside. Mutated ELF headers, and malformed traces.

ELF: a real static executable with random values written over its ELF header,
program headers and section headers. Reading it either gives an Image or one
ELFLoadError/UsageError; an Image is run briefly as a process (and its debug
information read as the debugger does), and every stop is a documented one.
Traces: random text and mutated real traces. Parsing gives a Trace or one
TraceError naming the file and line; a Trace always packs for the driver.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emu import Budget
from emu.debug.source import ProgramInfo
from emu.elf import read_elf
from emu.errors import ELFLoadError, EmuError, UsageError
from emu.malloclab.image import pack
from emu.malloclab.traces import TraceError, parse_trace
from emu.runner import ProcessRunner
from emu.toolchain import build
from tests.conftest import EXAMPLES, FIXTURES
from tests.fuzz.conftest import FUZZ, record
from tests.fuzz.machines import assert_back_at_boot, shared_machine

ELF_HEADER = 64
FIELD_SIZES = (1, 2, 4, 8)
WORDS = st.sampled_from([0, 1, 0x40, 0x1000, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 32, 1 << 47,
                         (1 << 63) - 1, 1 << 63, (1 << 64) - 1, 0x400000, 0x10000])


@pytest.fixture(scope="module")
def elf() -> bytes:
    return build([FIXTURES / "counter.c"]).read_bytes()


def header_regions(data: bytes) -> list[tuple[int, int]]:
    """[start, end) of the ELF header, the program headers and the section headers."""
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 0x36)
    return [(0, ELF_HEADER), (phoff, phoff + phentsize * phnum),
            (shoff, shoff + shentsize * shnum)]



def machine():
    return shared_machine("elf")


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1 << 16),
                                st.sampled_from(FIELD_SIZES), WORDS | st.integers(0, (1 << 64) - 1)),
                      min_size=1, max_size=6))
def test_mutated_elf_headers_load_or_are_refused_in_one_line(elf, tmp_path_factory, edits):
    raw = bytearray(elf)
    regions = header_regions(elf)
    for region, offset, size, value in edits:
        start, end = regions[region]
        if end - start < size:
            continue
        at = start + offset % (end - start - size + 1)
        raw[at:at + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    path = tmp_path_factory.mktemp("elf") / "prog"
    path.write_bytes(bytes(raw))
    try:
        image = read_elf(path)
    except (ELFLoadError, UsageError) as exc:
        assert "\n" not in str(exc)
        record("elf", "refused")
        return
    ProgramInfo.for_image(image)                    # what `emu debug` reads
    m, boot = machine()
    try:
        runner = ProcessRunner(m, image, ["prog"])
    except EmuError:
        record("elf", "refused at load")
        assert_back_at_boot(m, boot)
        return
    result = runner.run(Budget(instructions=200_000, seconds=5))
    assert result.stopped in (None, "fault", "budget", "oom"), result.message
    assert_back_at_boot(m, boot)
    record("elf", "ran" if result.stopped is None else f"ran: {result.stopped}")


TRACE_TEXT = (EXAMPLES / "traces" / "lifo.rep").read_text()
TRACE_LINES = st.sampled_from(["a 0 16", "f 0", "r 0 32", "a 1 0", "f 1", "a -1 8",
                               "a 0 99999999999999999999", "x 1 2", "", "  ", "a 0",
                               "r 5 1", "f 99", "1", "-5", "20000", "\x00", "a 0 1e3",
                               "é 1 2", "a 0 16 extra", "a\t2\t8"])


@FUZZ
@given(lines=st.lists(st.one_of(TRACE_LINES, st.text(max_size=12)), max_size=24))
def test_random_traces_parse_or_fail_with_file_and_line(lines):
    _check_trace("\n".join(lines))


@FUZZ
@given(cut=st.integers(0, len(TRACE_TEXT)), junk=st.text(max_size=8),
       at=st.integers(0, len(TRACE_TEXT)))
def test_mutated_traces_parse_or_fail_with_file_and_line(cut, junk, at):
    text = TRACE_TEXT[:cut] if cut % 3 == 0 else TRACE_TEXT[:at] + junk + TRACE_TEXT[at:]
    _check_trace(text)


def _check_trace(text: str) -> None:
    try:
        trace = parse_trace(text, "fuzz.rep")
    except TraceError as exc:
        assert str(exc).startswith("fuzz.rep:") and "\n" not in str(exc), str(exc)
        record("traces", "refused")
        return
    image = pack(trace)
    assert len(image) > 0
    record("traces", "parsed")

"""The malloc lab: built-in allocators on the CS:APP traces, broken allocators
caught with the right message, the CLI's outputs and plots."""

import json
import xml.etree.ElementTree as ET
import pytest

from emu.malloclab.lab import BUILTIN, Lab
from emu.malloclab.traces import read_trace
from tests.conftest import FIXTURES, STANDARD_SET, STANDARD_TRACES as STANDARD
from tests.integration.test_cli import emu

needs_standard = pytest.mark.skipif(not STANDARD.is_dir(), reason="no ../shared/malloclab-traces")
REALLOC = FIXTURES / "realloc_trace.rep"


@needs_standard
@pytest.mark.parametrize("allocator", [a for a in BUILTIN if not a.startswith("bump")])
def test_builtin_allocators_pass_every_standard_trace(allocator):
    lab = Lab.for_allocator(allocator)
    for name in STANDARD_SET:
        result = lab.run(read_trace(STANDARD / f"{name}.rep"))
        assert result.valid, result.error
        assert 0 < result.util <= 1 and result.secs > 0


@needs_standard
@pytest.mark.parametrize("allocator", ["bump", "bump-asm"])
def test_bump_passes_what_fits_and_runs_out_of_memory_on_the_rest(allocator):
    lab = Lab.for_allocator(allocator)
    fits = lab.run(read_trace(STANDARD / "amptjp-bal.rep"))
    assert fits.valid
    too_big = lab.run(read_trace(STANDARD / "random-bal.rep"))
    assert not too_big.valid
    assert "random-bal.rep:" in too_big.error and "returned NULL: out of memory" in too_big.error


@pytest.mark.parametrize("fixture,words", [
    ("broken_overlap.c", "it overlaps the block of id"),
    ("broken_misaligned.c", "not aligned to 16 bytes"),
    ("broken_realloc.c", "after mm_realloc (contents not preserved)"),
])
def test_broken_allocators_are_caught_with_the_right_message(fixture, words):
    result = Lab.for_allocator(str(FIXTURES / fixture)).run(read_trace(REALLOC))
    assert not result.valid and words in result.error
    assert result.error.startswith(f"{REALLOC}:")                 # names the trace line


def test_broken_realloc_names_the_realloc_line():
    result = Lab.for_allocator(str(FIXTURES / "broken_realloc.c")).run(read_trace(REALLOC))
    assert result.error.startswith(f"{REALLOC}:7: op 2 (r 0 200): ")


def test_the_cli_table_and_score():
    proc = emu("malloclab", "firstfit-asm", ok=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Results for firstfit-asm:")
    for name in ("lifo", "mixed-sizes", "phases", "realloc-growth", "small-random"):
        assert f"\n{name} " in out
    assert "Perf index = " in out and "/100" in out


def test_the_cli_json_shape():
    out = json.loads(emu("malloclab", "bump-asm", REALLOC, "--json").stdout)
    assert set(out) == {"traces", "util", "kops", "score"}
    (trace,) = out["traces"]
    assert set(trace) == {"name", "valid", "util", "ops", "secs", "kops", "error"}
    assert trace["valid"] and trace["ops"] == 5 and trace["error"] is None


def test_an_invalid_trace_makes_the_cli_exit_1_and_report_it():
    proc = emu("malloclab", str(FIXTURES / "broken_misaligned.c"), REALLOC, ok=False)
    assert proc.returncode == 1
    assert "ERROR: " in proc.stdout and "not aligned to 16 bytes" in proc.stdout
    assert "no score" in proc.stdout


def test_bad_trace_input_is_one_line_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.rep"
    bad.write_text("0\n2\n2\n1\na 0 10\nf 1\n")
    proc = emu("malloclab", "implicit", bad, ok=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"emu malloclab: {bad}:6: free of id 1, which is not allocated"
    proc = emu("malloclab", "no-such-allocator", REALLOC, ok=False)
    assert proc.returncode == 2 and "no such file, and not one of" in proc.stderr


def test_plots_are_written_as_svg(tmp_path):
    emu("malloclab", "firstfit-asm", REALLOC, "--plot", tmp_path)
    for kind in ("util", "heap", "blocks"):
        root = ET.parse(tmp_path / f"realloc_trace-{kind}.svg").getroot()
        assert root.tag.endswith("svg") and root.findall(".//{*}image") + root.findall(".//{*}path")


@pytest.mark.parametrize("allocator", BUILTIN)
def test_the_heap_walk_reads_every_builtin_allocator(allocator):
    """The walker behind `heap` and the heap maps: at every sample the heap
    parses with no corrupt block, and it holds at least the live payload."""
    trace = read_trace(FIXTURES / "realloc_trace.rep")
    result = Lab.for_allocator(allocator).run(trace, sample_every=1)
    assert result.valid and len(result.samples) == trace.num_ops
    for sample, (payload, _) in zip(result.samples, result.series):
        assert all(b.state != "corrupt" for b in sample.blocks), sample.blocks
        allocated = sum(b.payload_size for b in sample.blocks if b.state == "allocated")
        assert allocated >= payload, (sample.op_index, allocated, payload)

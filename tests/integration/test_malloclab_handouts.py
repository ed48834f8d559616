"""Students' allocators as handed in: each handout's conventions build and run
unmodified, score what the same code scores natively, and their failures are
reported where they happen (fixtures in tests/fixtures/handouts/, written for
these tests in each handout's convention)."""

import re
import shutil

import pytest

from emu.malloclab.image import RET_BOOL, RET_INT, Settings
from emu.malloclab.lab import Lab
from emu.malloclab.native import build_native, run_native
from emu.malloclab.traces import OP_FREE, read_trace
from tests.conftest import EXAMPLES, FIXTURES, HANDOUTS, STANDARD_TRACES
from tests.integration.test_cli import emu

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")
PROJECT_TRACES = [EXAMPLES / "traces" / f"{name}.rep" for name in ("phases", "realloc-growth")]
SHORT = [STANDARD_TRACES / f"{name}.rep" for name in ("short1-bal", "short2-bal")] \
    if STANDARD_TRACES.is_dir() else []
FIXTURE_ALIGN = {"csapp": 8, "cmu_f18": 16, "mathy": 16}


@needs_gcc
@pytest.mark.parametrize("fixture", sorted(FIXTURE_ALIGN))
def test_each_handout_runs_unmodified_with_the_utilization_it_has_natively(fixture, tmp_path):
    spec = str(HANDOUTS / fixture / "mm.c")
    settings = Settings(align=FIXTURE_ALIGN[fixture])
    lab = Lab.for_allocator(spec)
    binary = build_native(spec, tmp_path)
    for path in PROJECT_TRACES + SHORT:
        trace = read_trace(path)
        ours, native = lab.run(trace, settings), run_native(binary, trace, settings,
                                                            lab.program.signatures, tmp_path)
        assert ours.valid, ours.error
        assert native.valid, native.output
        assert (ours.peak_payload, ours.peak_footprint) == \
            (native.peak_payload, native.peak_footprint), path.name
        assert ours.util == native.util


def test_the_csapp_allocator_is_told_to_use_align_8():
    lab = Lab.for_allocator(str(HANDOUTS / "csapp" / "mm.c"))
    result = lab.run(read_trace(PROJECT_TRACES[0]))
    assert not result.valid
    assert "not aligned to 16 bytes (it is 8-byte aligned" in result.error
    assert "run with --align 8" in result.error


def test_the_conventions_are_read_from_the_compiled_allocator():
    csapp = Lab.for_allocator(str(HANDOUTS / "csapp" / "mm.c")).program
    cmu = Lab.for_allocator(str(HANDOUTS / "cmu_f18" / "mm.c")).program
    assert (csapp.handout, csapp.signatures.init_returns, csapp.signatures.checkheap_returns,
            csapp.signatures.has_calloc) == ("csapp", RET_INT, RET_INT, False)
    assert (cmu.handout, cmu.signatures.init_returns, cmu.signatures.checkheap_returns,
            cmu.signatures.has_calloc) == ("cmu", RET_BOOL, RET_BOOL, True)


def test_the_heap_lies_above_4_gib_as_on_a_64_bit_grader():
    result = Lab.for_allocator(str(HANDOUTS / "cmu_f18" / "mm.c")).run(read_trace(PROJECT_TRACES[0]))
    assert result.valid and result.heap_start >> 32 != 0
    assert all(address >> 32 != 0 for address in result.addrs if address)


@needs_gcc
def test_a_pointer_kept_in_an_int_crashes_here_as_it_does_natively(tmp_path):
    spec = str(HANDOUTS / "int_pointers" / "mm.c")
    trace = read_trace(EXAMPLES / "traces" / "lifo.rep")
    lab = Lab.for_allocator(spec)
    result = lab.run(trace, Settings(align=8))
    assert not result.valid
    first, *rest = result.error.splitlines()
    assert first.startswith(f"{trace.path}:") and ": the allocator crashed in mm_malloc(" in first
    assert any("SIGSEGV: page fault" in line for line in rest)
    assert any("a heap address cut to 32 bits" in line for line in rest)
    assert rest[-1].endswith(f"--debug {result.failed_op} --align 8")
    native = run_native(build_native(spec, tmp_path), trace, Settings(align=8),
                        lab.program.signatures, tmp_path)
    assert native.status < 0                                 # killed by a signal natively too


def test_a_corrupting_allocator_is_caught_by_its_own_checker_at_the_op():
    trace = read_trace(EXAMPLES / "traces" / "lifo.rep")
    frees = [i for i, op in enumerate(trace.ops) if op.kind == OP_FREE]
    tenth_free = frees[9]                      # the fixture corrupts on its tenth free
    lab = Lab.for_allocator(str(HANDOUTS / "corrupting" / "mm.c"))
    assert lab.run(trace).valid                # the driver's own checks see nothing
    result = lab.run(trace, Settings(check_heap=True))
    assert not result.valid and result.failed_op == tenth_free
    line = trace.ops[tenth_free].line
    assert result.error.startswith(f"{trace.path}:{line}: op {tenth_free} (f ")
    assert "mm_checkheap returned false after the op" in result.error
    assert f"mm_checkheap({line}): block" in result.error     # what it printed, with the line


def test_an_int_checker_that_finds_nothing_passes_under_check_heap():
    result = Lab.for_allocator(str(HANDOUTS / "csapp" / "mm.c")).run(
        read_trace(PROJECT_TRACES[0]), Settings(align=8, check_heap=True))
    assert result.valid, result.error


@pytest.mark.parametrize("remove,words", [
    ("    mem_memset(bp, 0, asize);\n", "expected zeroed memory"),
    ("    if (asize / elements != size)\n        return NULL;"
     "                          /* the product overflowed */\n", "nmemb * size overflows"),
])
def test_calloc_must_zero_and_refuse_an_overflowing_product(tmp_path, remove, words):
    source = (HANDOUTS / "cmu_f18" / "mm.c").read_text()
    assert remove in source
    broken = tmp_path / "mm.c"
    broken.write_text(source.replace(remove, ""))
    result = Lab.for_allocator(str(broken)).run(read_trace(EXAMPLES / "traces" / "lifo.rep"))
    assert not result.valid and words in result.error


def test_the_warnings_of_the_handouts_era_are_shown_not_fatal(tmp_path):
    lone = tmp_path / "mm.c"
    lone.write_text(
        '#include "mm.h"\n#include "memlib.h"\n'
        'team_t team = {"t", "n", "i", "", ""};\n'
        'int mm_init(void) { return setup(); }              /* implicit declaration */\n'
        'int setup(void) { char *p = 0; int x = p; return x; }  /* int conversion */\n'
        'void *mm_malloc(size_t n) { char *p = mem_sbrk((n + 15) & ~15);\n'
        '    return p == (void *)-1 ? 0 : p; }\n'
        'void mm_free(void *p) { }\n'
        'void *mm_realloc(void *p, size_t n) { char *q = mm_malloc(n);\n'
        '    if (q && p) memcpy(q, p, n); return q; }\n')
    proc = emu("malloclab", lone, FIXTURES / "realloc_trace.rep", ok=False)
    assert proc.returncode == 0, proc.stderr
    assert "warning: call to undeclared function 'setup'" in proc.stderr
    assert "warning: incompatible pointer to integer conversion" in proc.stderr
    assert "driver.c" not in proc.stderr                       # only the student's own


def test_debug_opens_emu_debug_where_the_op_enters_the_allocator():
    spec = HANDOUTS / "cmu_f18" / "mm.c"
    proc = emu("malloclab", spec, PROJECT_TRACES[0], "--debug", "40", "-ex", "bt", "-ex",
               "heap 3", "-ex", "finish", "--batch")
    out = proc.stdout
    trace = read_trace(PROJECT_TRACES[0])
    assert f"Stopped at {PROJECT_TRACES[0]}:{trace.ops[40].line}: op 40 " in out
    assert "#0  mm_malloc" in out or "#0  mm_free" in out or "#0  mm_realloc" in out
    assert re.search(r"^#1  0x[0-9a-f]+ in check_(alloc|free|realloc) \(o=0x[0-9a-f]+", out, re.M)
    assert re.search(r"^#\d  main \(argc=", out, re.M)           # inlined into main: no address
    assert "heap 0x5555" in out                              # the heap, above 4 GiB
    assert "Run till exit" in out or "Value returned" in out or "main" in out


# -- exact instruction counts ---------------------------------------------------------

def _busy(seconds: float):
    """A process keeping a core busy (the 'loaded machine')."""
    import subprocess
    import sys
    return subprocess.Popen([sys.executable, "-c",
                             f"import time\nend = time.time() + {seconds}\n"
                             "while time.time() < end: pass\n"])


def test_instruction_counts_are_identical_in_two_runs_and_on_a_loaded_machine():
    lab = Lab.for_allocator("explicit")
    trace = read_trace(PROJECT_TRACES[0])
    quiet = lab.run(trace, Settings(count=True))
    hogs = [_busy(60), _busy(60)]
    try:
        loaded = lab.run(trace, Settings(count=True))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert quiet.valid and loaded.valid
    assert len(quiet.insns) == trace.num_ops and min(quiet.insns) > 0
    assert quiet.insns == loaded.insns and quiet.insns_per_op == loaded.insns_per_op


def test_the_native_counter_counts_each_op_as_the_python_reference_does():
    lab = Lab.for_allocator(str(HANDOUTS / "cmu_f18" / "mm.c"))
    trace = read_trace(FIXTURES / "realloc_trace.rep")
    native = lab.run(trace, Settings(count=True))
    python = lab.run(trace, Settings(count=True), native_counter=False)
    assert native.insns == python.insns and len(native.insns) == 5


def test_the_cli_reports_instructions_per_op_in_the_table_and_json():
    import json
    out = emu("malloclab", "explicit", FIXTURES / "realloc_trace.rep", "--throughput",
              "insns").stdout
    assert "insns/op" in out.splitlines()[1] and "Tref 200 insns/op" in out
    data = json.loads(emu("malloclab", "explicit", FIXTURES / "realloc_trace.rep",
                          "--throughput", "insns", "--json").stdout)
    (trace,) = data["traces"]
    assert trace["insns_per_op"] == trace["insns"] / 5 and data["insns_per_op"] > 0


def test_a_lone_csapp_mm_c_passes_from_the_command_line_with_align_8():
    proc = emu("malloclab", HANDOUTS / "csapp" / "mm.c", FIXTURES / "realloc_trace.rep",
               "--align", "8", "--check-heap", ok=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Perf index = " in proc.stdout


def test_mistaken_options_are_one_line_and_exit_2():
    proc = emu("malloclab", "implicit", FIXTURES / "realloc_trace.rep", "--check-heap", ok=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("emu malloclab: --check-heap: implicit defines no "
                                   "mm_checkheap (it must not be static, and must be called "
                                   "mm_checkheap)")
    proc = emu("malloclab", "implicit", FIXTURES / "realloc_trace.rep", "-ex", "heap", ok=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    proc = emu("malloclab", "implicit", FIXTURES / "realloc_trace.rep", "--debug", "9", ok=False)
    assert proc.returncode == 2 and "has ops 0..4" in proc.stderr

"""The lazy and cow labs' verdicts, as pure logic: given what the reference
run and the student's run left on the machine, which message comes first.
(No Unicorn here: the integration tests make the runs.)"""

from emu.labs.kinds.cow import compare as cow_compare
from emu.labs.kinds.cow.run import Checkpoint, CowSeen
from emu.labs.kinds.cow.scenarios import Scenario as CowScenario
from emu.labs.kinds.lazy import compare as lazy_compare
from emu.labs.kinds.lazy.run import Seen, first_difference, lazy_tolerance
from emu.labs.kinds.lazy.scenarios import Scenario as LazyScenario, scenarios_for, variant_include
from emu.labs.prng import Prng

HEAP = LazyScenario("heap", 7, 20)
SEGV = "SIGSEGV: page fault: write at 0x7ffff7ffd008: write to read-only (user mode)"


def seen(**changes) -> Seen:
    base = dict(status=0, stdout="heap: sum 25\n", faults=30, pages=39, leaked=0)
    return Seen(**{**base, **changes})


def test_a_matching_lazy_run_has_no_complaint_and_small_differences_are_tolerated():
    assert lazy_compare(HEAP, seen(), seen()) == ""
    assert lazy_tolerance(39) == 3
    assert lazy_compare(HEAP, seen(), seen(pages=42, faults=33)) == ""


def test_lazy_verdicts_come_in_order_status_place_output_pages_faults_frames():
    want = seen()
    assert "should have exited with status 0" in lazy_compare(HEAP, want, seen(status=139))
    assert "not lazy" in lazy_compare(HEAP, want, seen(pages=60))
    assert "which is not lazy" in lazy_compare(HEAP, want, seen(faults=10))
    assert "with the VMA's rights, once" in lazy_compare(HEAP, want, seen(faults=50))
    assert "1 frame was still in use" in lazy_compare(HEAP, want, seen(leaked=1))
    assert "zero every frame" in lazy_compare(HEAP, want, seen(stdout="heap: sum 99\n",
                                                                pages=60))
    died = seen(status=139, message=SEGV)
    assert "died at the wrong place" in lazy_compare(
        HEAP, died, seen(status=139, message=SEGV.replace("d008", "e008")))
    assert "should have died with SIGSEGV" in lazy_compare(HEAP, died, seen())


def test_first_difference_names_the_line():
    assert first_difference("a\nb\n", "a\nc\n") == "line 2 is 'c', expected 'b'"
    assert first_difference("a\nb\n", "a\n").startswith("it stopped after 1 lines")


def test_the_stack_scenarios_straddle_the_limit():
    for seed in range(20):
        rng = Prng.from_bytes(bytes([seed]))
        limit = 24 + seed
        assert scenarios_for("stack-growth", rng, limit)[0].n <= limit - 4
        assert scenarios_for("stack-limit", rng, limit)[0].n >= limit + 4
    assert "STACK_LIMIT equ 30 * PAGE_SIZE" in variant_include(30)


SIMPLE = CowScenario("simple", 1, 8)


def point(tag, digest="d", frames=50, leaking=None) -> Checkpoint:
    return Checkpoint(tag, digest, frames, 0, 8, leaking)


def cow(**changes) -> CowSeen:
    base = dict(statuses={1000: 0, 1001: 0}, checkpoints={1: point(1), 100: point(100)},
                leaked=0)
    return CowSeen(**{**base, **changes})


def test_cow_verdicts_read_machine_state_in_order():
    want = cow()
    assert cow_compare(SIMPLE, want, cow()) == ""
    assert "mapped writable on a frame that other processes map too" in cow_compare(
        SIMPLE, want, cow(broken=point(100, leaking=0x7000)))
    assert "its memory differs from the reference's" in cow_compare(
        SIMPLE, want, cow(broken=point(1, digest="x")))
    assert "the kernel panicked" in cow_compare(
        SIMPLE, want, cow(problems=["the kernel panicked freeing a frame: x"]))
    assert "child pid 1001 should have ended with status 0" in cow_compare(
        SIMPLE, want, cow(statuses={1000: 0, 1001: 139}))
    assert "never reached checkpoint 100" in cow_compare(
        SIMPLE, want, cow(checkpoints={1: point(1)}))
    assert "frames are in use where the reference uses 50" in cow_compare(
        SIMPLE, want, cow(checkpoints={1: point(1, frames=60), 100: point(100)}))
    assert "2 frames were still in use" in cow_compare(SIMPLE, want, cow(leaked=2))

"""Unicorn's TLB loses exactly the pages the kernel changes (emu/page_flush.py):
after munmap or mprotect a page the program has just used faults, and a page
mapped again shows its new frame, on both walkers, whether Unicorn's TLB is
flushed page by page or whole."""

import signal

import pytest

from emu import Budget, Machine
from emu.loader import load_program
from emu.runner import ProcessRunner
from tests.conftest import FIXTURES

STALE_TLB = FIXTURES / "stale_tlb.asm"


def run(case: str, native: bool, page_by_page: bool = True):
    machine = Machine(ram_mib=64, native=native)
    if native and not machine.mmu.native:
        pytest.skip("the native walker could not be built here")
    if not page_by_page:
        machine.mmu._page_flush = None          # what a Unicorn without tlb_flush_page gets
        if native:
            machine.mmu._native._state.flush_page = None
    runner = ProcessRunner(machine, load_program(STALE_TLB), [str(STALE_TLB), case])
    runner.resume(Budget(seconds=60))
    mapped = next(call.result for call in runner.process.syscalls if call.name == "mmap")
    result = runner.finish()
    process, = result.processes
    return runner.exit_code, process.outcome, mapped


def test_this_unicorn_flushes_single_pages():
    """The struct layout emu/page_flush.py relies on holds for the Unicorns it
    was read from (2.1.1 to 2.1.4): with another, every invalidation flushes
    the whole TLB, correct but slow, and this says so."""
    import unicorn
    version = tuple(int(part) for part in unicorn.__version__.split(".")[:3])
    if not (2, 1, 1) <= version <= (2, 1, 4):
        pytest.skip(f"page_flush.py's layout was checked for Unicorn 2.1.1-2.1.4, not "
                    f"{unicorn.__version__}")
    assert Machine(ram_mib=64).mmu.flushes_pages


@pytest.mark.parametrize("page_by_page", [True, False])
@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("case,page,access", [("u", 5, "read"), ("p", 6, "write"),
                                              ("w", 200, "read")])
def test_a_page_changed_under_the_tlb_faults(case, page, access, native, page_by_page):
    code, outcome, mapped = run(case, native, page_by_page)
    assert outcome.signal == signal.SIGSEGV, f"exit {code}: the stale translation was used"
    assert (outcome.fault.access, outcome.fault.address) == (access, mapped + 0x1000 * page)


@pytest.mark.parametrize("page_by_page", [True, False])
@pytest.mark.parametrize("native", [True, False])
def test_a_page_mapped_again_shows_its_new_frame(native, page_by_page):
    code, outcome, _ = run("r", native, page_by_page)
    assert outcome.signal is None and code == 0

"""The C allocators in examples/allocators/, each built for the runtime flavour
and run in the emulator: the shared alloc_test.c passes against every one of
them, and every demo checks its blocks and prints its utilization line."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from emu import Budget, Machine
from emu.elf import read_elf
from emu.runner import RunResult, ProcessRunner
from emu.toolchain import build
from tests.conftest import EXAMPLES

ALLOCATORS = EXAMPLES / "allocators"
NAMES = ("bump", "firstfit", "implicit", "explicit", "segregated", "buddy")
DEMO_OPS = 500
SUMMARY = re.compile(r"^(?P<name>\w+): (?P<ops>\d+) ops, peak payload (?P<peak>\d+) bytes, "
                     r"heap (?P<heap>\d+) bytes, utilization (?P<percent>\d+)\.(?P<tenth>\d)%$",
                     re.MULTILINE)


def build_allocator(*sources: str, defines=()) -> Path:
    """Build examples/allocators/<sources> for the runtime flavour (cached)."""
    return build([ALLOCATORS / s for s in sources], libc="runtime", defines=list(defines))


def run(elf, argv: list[str]) -> RunResult:
    return ProcessRunner(Machine(ram_mib=256), read_elf(elf), argv).run(Budget(seconds=120))


def report(result: RunResult) -> str:
    """What a failed run said, for the assertion message."""
    return (f"status {result.status}\n{result.stdout.decode(errors='replace')}"
            f"{result.stderr.decode(errors='replace')}{result.message}")


@functools.cache
def demo(name: str) -> RunResult:
    """The demo of allocator `name` with DEMO_OPS operations (run once per runner)."""
    return run(build_allocator(f"{name}.c"), [name, str(DEMO_OPS)])


def summary(name: str) -> re.Match:
    match = SUMMARY.search(demo(name).stdout.decode())
    assert match is not None, report(demo(name))
    return match


def utilization(name: str) -> int:
    """The demo's utilization in tenths of a percent."""
    match = summary(name)
    return int(match["percent"]) * 10 + int(match["tenth"])


@pytest.mark.parametrize("name", NAMES)
def test_allocator_passes_the_shared_test_program(name):
    result = run(build_allocator("alloc_test.c", f"{name}.c", defines=["MM_LIBRARY"]),
                 ["alloc_test"])
    assert result.exit_code == 0, report(result)
    assert f"PASS {name}\n" in result.stdout.decode(), report(result)


@pytest.mark.parametrize("name", NAMES)
def test_demo_keeps_every_block_intact_and_prints_its_summary(name):
    result = demo(name)
    assert result.exit_code == 0, report(result)
    match = summary(name)
    assert match["name"] == name and int(match["ops"]) == DEMO_OPS
    assert 0 < int(match["peak"]) <= int(match["heap"])
    assert "every block kept its bytes" in result.stdout.decode()


def test_demo_output_repeats_exactly():
    again = run(build_allocator("segregated.c"), ["segregated", str(DEMO_OPS)])
    assert again.stdout == demo("segregated").stdout


@pytest.mark.parametrize("name", ["firstfit", "implicit", "explicit", "segregated"])
def test_reusing_allocators_beat_the_bump_baseline(name):
    assert utilization(name) > 3 * utilization("bump")


def test_explicit_places_every_block_where_implicit_does():
    """Address-ordered first fit along the free list chooses the block that
    first fit along the heap chooses, so the two build the same heap."""
    implicit, explicit = summary("implicit"), summary("explicit")
    assert implicit.group(0).replace("implicit", "explicit", 1) == explicit.group(0)

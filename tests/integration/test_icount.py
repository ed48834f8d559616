"""The machine's exact instruction counter: the native C hook counts what the
Python reference counts, instruction for instruction and span for span, and
falls back to the reference when the library cannot be built."""

import pytest

from emu import hostlib, icount
from emu.machine import Machine

LOOP = """
count_loop:
        mov rcx, 1000
count_loop_next:
        call count_loop_mark
        dec rcx
        jnz count_loop_next
        ret
count_loop_mark:                ; opens a span; the next one closes it
        nop
        ret
"""
# per iteration: call, nop, ret, dec, jnz = 5; the loop also runs mov and the last ret


def run_counted(native: bool):
    machine = Machine(ram_mib=16)
    machine.load_source(LOOP, "<loop>")
    mark = machine.resolve("count_loop_mark")
    counter = machine.count_instructions(begin_at=mark, end_at=mark, capacity=10, native=native)
    machine.call("count_loop")
    machine.stop_counting(counter)
    return counter


def test_the_native_counter_counts_every_instruction_exactly():
    counter = run_counted(native=True)
    assert counter.native, icount.fallback_reason
    assert counter.count == 1 + 5 * 1000 + 1


def test_the_native_counter_agrees_with_the_python_reference():
    native, python = run_counted(native=True), run_counted(native=False)
    assert not python.native
    assert native.count == python.count
    assert native.spans() == python.spans()


def test_begin_and_end_at_one_address_measure_from_mark_to_mark():
    counter = run_counted(native=True)
    # span i runs from mark i to mark i+1 (the mark itself is counted at its
    # start), so each is one iteration: 5 instructions; at most `capacity`
    assert counter.spans() == [5] * 10


def test_without_a_compiler_the_counter_falls_back_to_python(monkeypatch):
    def no_compiler(_source):
        raise OSError("No module named ziglang")
    monkeypatch.setattr(hostlib, "_loaded", {})
    monkeypatch.setattr(hostlib, "_build", no_compiler)
    counter = run_counted(native=True)
    assert not counter.native and counter.count == 5002
    assert "could not be built (No module named ziglang)" in icount.fallback_reason


@pytest.mark.parametrize("native", [True, False])
def test_a_detached_counter_stops_counting(native):
    machine = Machine(ram_mib=16)
    machine.load_source(LOOP, "<loop>")
    counter = machine.count_instructions(native=native)
    machine.stop_counting(counter)
    machine.call("count_loop")
    assert counter.count == 0

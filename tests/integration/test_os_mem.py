"""asm/os_mem_*.asm in the guest against kernel/memory_map.py, and their contracts."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel import layout
from kernel.memory_map import MemoryMap
from tests.conftest import boot_with_routines

RAM_MIB = 64
CHUNKS = RAM_MIB // 2
FREE, USED = layout.CHUNK_FREE, layout.CHUNK_USED


@pytest.fixture(scope="module")
def shared():
    """One machine for the many hypothesis examples; each resets the map."""
    return boot_with_routines(RAM_MIB)


def guest_map(machine) -> bytes:
    return machine.ram.read(layout.MEMORY_MAP, layout.MEMORY_MAP_ENTRIES)


operation = st.one_of(
    st.tuples(st.just("allocate"), st.integers(0, CHUNKS + 1)),
    st.tuples(st.just("release"),
              st.integers(0, CHUNKS + 1),               # chunk index
              st.sampled_from([0, 0, 0, 4096, 1]),      # offset: mostly aligned
              st.integers(0, 5)),                       # count
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=st.lists(st.sampled_from([FREE, FREE, USED]), min_size=CHUNKS - 1,
                        max_size=CHUNKS - 1),
       ops=st.lists(operation, min_size=1, max_size=12))
def test_guest_and_python_allocators_agree(shared, initial, ops):
    entries = bytearray(layout.MEMORY_MAP_ENTRIES)
    entries[:CHUNKS] = bytes([USED] + initial)
    shared.ram.write_data(layout.MEMORY_MAP, bytes(entries))
    model = MemoryMap(entries, CHUNKS)
    for op in ops:
        if op[0] == "allocate":
            got = shared.call("os_mem_allocate", rcx=op[1])["rax"]
            expected = model.allocate(op[1])
        else:
            address = layout.chunk_base(op[1]) + op[2]
            got = shared.call("os_mem_release", rax=address, rcx=op[3])["rcx"]
            expected = model.release(address, op[3])
        assert got == expected, op
        assert guest_map(shared) == bytes(entries), op
    assert shared.call("os_mem_get_free")["rcx"] == model.free_count()


@pytest.mark.parametrize("routine,outputs,inputs", [
    ("os_mem_allocate", {"rax"}, {"rcx": 2}),
    ("os_mem_release", {"rcx"}, {"rax": 0x3e00000, "rcx": 1}),
    ("os_mem_get_free", {"rcx"}, {}),
])
def test_register_contract(kernel, routine, outputs, inputs):
    """Every register but the outputs is preserved, and DF is clear on return,
    even when the caller left DF set."""
    kernel.call("os_mem_allocate", rcx=1)          # so that release has a chunk to free
    rng = random.Random(routine)
    for _ in range(20):
        regs = {r: rng.getrandbits(64) for r in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi",
                                                  "rbp", "r8", "r9", "r10", "r11", "r12",
                                                  "r13", "r14", "r15")}
        regs.update(inputs)
        after = kernel.call(routine, rflags=layout_df_set(), **regs)
        for name, value in regs.items():
            if name not in outputs:
                assert after[name] == value, f"{routine} changed {name}"
        assert after["rsp"] == layout.KERNEL_STACK_TOP
        assert not after["rflags"] & (1 << 10), f"{routine} returned with DF set"


def layout_df_set() -> int:
    return 0x2 | (1 << 10)


def test_count_zero_returns_zero_and_changes_nothing(kernel):
    before = guest_map(kernel)
    assert kernel.call("os_mem_allocate", rcx=0)["rax"] == 0
    assert guest_map(kernel) == before


def test_count_larger_than_free_memory_returns_zero(kernel):
    before = guest_map(kernel)
    assert kernel.call("os_mem_allocate", rcx=CHUNKS)["rax"] == 0      # 31 are free
    assert kernel.call("os_mem_allocate", rcx=1 << 40)["rax"] == 0
    assert guest_map(kernel) == before


def test_exactly_all_free_chunks(kernel):
    """Reaches chunk 1, which the 2014 original never examined."""
    assert kernel.call("os_mem_allocate", rcx=CHUNKS - 1)["rax"] == layout.chunk_base(1)
    assert kernel.memory_map.free_count() == 0
    assert kernel.call("os_mem_allocate", rcx=1)["rax"] == 0


def test_fragmented_map_where_only_a_lower_run_fits(kernel):
    entries = [USED] + [FREE] * 3 + [USED] * 20 + [FREE, FREE, USED, FREE, USED, FREE, FREE, USED]
    kernel.ram.write_data(layout.MEMORY_MAP, bytes(entries))
    assert kernel.call("os_mem_allocate", rcx=3)["rax"] == layout.chunk_base(1)
    assert kernel.call("os_mem_allocate", rcx=2)["rax"] == layout.chunk_base(29)


def test_release_refuses_what_is_not_allocated(kernel):
    address = kernel.call("os_mem_allocate", rcx=2)["rax"]
    before = guest_map(kernel)
    for rax, rcx in ((0, 1), (address + 4096, 1), (address, 3), (layout.chunk_base(CHUNKS), 1)):
        assert kernel.call("os_mem_release", rax=rax, rcx=rcx)["rcx"] == 0, (rax, rcx)
    assert guest_map(kernel) == before
    assert kernel.call("os_mem_release", rax=address, rcx=2)["rcx"] == 2


def test_get_free_counts_what_python_counts(kernel):
    kernel.call("os_mem_allocate", rcx=5)
    assert kernel.call("os_mem_get_free")["rcx"] == kernel.memory_map.free_count() == CHUNKS - 6


def test_a_large_machine_allocates_near_the_top():
    machine = boot_with_routines(4096)
    assert machine.call("os_mem_allocate", rcx=16)["rax"] == layout.chunk_base(2048 - 16)

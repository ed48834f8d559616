"""The C walker (emu/native/mmu.c) against the Python walker (emu/mmu.py), the
reference: the same translations, the same A/D bits set in guest RAM, the same
refusals with the same reasons, and programs that run the same, with the same
page-fault counts and the same page tables at the end."""

import random
import signal

import pytest

from emu import Budget, Machine, hostlib
from emu.native_mmu import NativeWalker
from emu.guest_kernel import GuestKernel
from emu.loader import load_program
from emu.paging import (PAGE_4K, PTE_A, PTE_D, PTE_NX, PTE_P, PTE_PS, PTE_RW, PTE_US, make_pte,
                        refusal)
from emu.runner import ProcessRunner
from kernel.vma import EVERYWHERE
from tests.conftest import EXAMPLES, FIXTURES, ROOT, leaf_entries, vma_summary

ACCESSES = {16: "read", 17: "write", 18: "fetch"}
TABLES = 12                      # table frames in the random trees
INDEXES = (0, 1, 255, 511)       # the few indexes vaddrs use, so paths meet


def native_machine() -> Machine:
    machine = Machine(ram_mib=64)
    if not machine.mmu.native:
        pytest.skip("the native walker could not be built here")
    return machine


def random_entry(rng, tables, level, ram_size):
    """An entry for a random tree: absent, a table, a large page, or (rarely)
    one pointing outside RAM, with random permission and A/D bits."""
    def some(bit, chance):
        return bit if rng.random() < chance else 0
    flags = PTE_P | some(PTE_RW, .8) | some(PTE_US, .8) | some(PTE_NX, .2) | \
        some(PTE_A, .5) | some(PTE_D, .5)
    kind = rng.random()
    if kind < 0.06:
        return 0
    if kind < 0.09:
        return make_pte(ram_size + PAGE_4K * rng.randrange(4), flags)
    if level in (1, 2) and kind < 0.25:                       # a 1 GiB or 2 MiB page
        size = 1 << (30 if level == 1 else 21)
        return make_pte(size * rng.randrange(3), flags | PTE_PS)
    if level == 3:
        return make_pte(PAGE_4K * rng.randrange(ram_size // PAGE_4K), flags)
    return make_pte(rng.choice(tables), flags)


def build_tree(machine, rng):
    tables = [machine.frames.alloc() for _ in range(TABLES)]
    for level, table in zip([0] + [rng.randrange(1, 4) for _ in tables[1:]], tables):
        for index in INDEXES:
            machine.ram.write_u64(table + 8 * index,
                                  random_entry(rng, tables[1:], level, machine.ram.size))
    return tables


def random_vaddr(rng):
    vaddr = sum(rng.choice(INDEXES) << shift for shift in (39, 30, 21, 12))
    return vaddr | (0xFFFF << 48) if vaddr >> 47 else vaddr


def tables_bytes(machine, tables):
    return b"".join(machine.ram.page(t) for t in tables)


def restore(machine, tables, saved):
    for i, table in enumerate(tables):
        machine.ram.write_data(table, saved[i * PAGE_4K:(i + 1) * PAGE_4K])


def test_both_walkers_translate_refuse_and_mark_a_and_d_alike():
    machine = native_machine()
    mmu, native = machine.mmu, machine.mmu._native
    rng = random.Random(15)
    compared = refused = 0
    for _tree in range(40):
        tables = build_tree(machine, rng)
        for _ in range(100):
            vaddr, access, user = random_vaddr(rng), rng.choice((16, 17, 18)), rng.random() < .5
            mmu.switch(tables[0], user)
            before = tables_bytes(machine, tables)
            by_python = mmu._translate(vaddr, access)
            after_python = tables_bytes(machine, tables)
            restore(machine, tables, before)
            by_c = native.translate(vaddr, access)
            assert by_c == by_python, f"{vaddr:#x} {ACCESSES[access]} user={user}"
            assert tables_bytes(machine, tables) == after_python
            if by_c is None:
                walk = mmu.walk(vaddr)
                reason, leaf = native.refusal()
                assert reason == refusal(walk, ACCESSES[access], user)
                assert leaf == (walk.leaf.entry if walk.mapped else 0)
                refused += 1
            compared += 1
        mmu.switch(0, False)
    assert compared == 4000 and 500 < refused < 3500      # both outcomes well covered


def test_unmapping_in_c_clears_what_the_python_unmap_clears():
    """The same random maps (4 KiB and 2 MiB pages) and unmaps on two machines,
    one unmapping in C (emu_unmap_leaves) and one in Python: the same leaves
    removed, and after each unmap the same tables. A range that holds a 2 MiB
    page is left to the Python unmap on both (C refuses it, changing nothing)."""
    by_c, by_python = native_machine(), Machine(ram_mib=64)
    by_python.page_tables.unmap_leaves = None
    answers = []
    in_c = by_c.page_tables.unmap_leaves
    by_c.page_tables.unmap_leaves = lambda *args: answers.append(in_c(*args)) or answers[-1]
    rng = random.Random(1505)
    pairs = [(m.page_tables, m.page_tables.new_root()) for m in (by_c, by_python)]
    base, large = 0x7F00_0000_0000, 2 << 20
    for _ in range(500):
        start = base + rng.randrange(64) * PAGE_4K * 64
        if rng.random() < .5:       # some 4 KiB pages below base + 8 MiB, or a 2 MiB page above
            size = large if rng.random() < .1 else PAGE_4K * rng.randrange(1, 40)
            start = base + (large * rng.randrange(4, 8) if size == large else
                            (start - base) % (8 << 20))
            for tables, root in pairs:
                if not any(m.vaddr < start + size and start < m.vaddr + m.size
                           for m in tables.mappings(root)) and \
                        (size != large or not any(step.level == "PD" and step.present
                                                  for step in tables.walk(root, start).steps)):
                    tables.map(root, start, 0x400000, size, PTE_US | PTE_RW,
                               page_size=large if size == large else PAGE_4K)
            continue
        size = PAGE_4K * rng.choice((1, 16, 512, 3000))
        removed = [tables.unmap(root, start, size) for tables, root in pairs]
        assert removed[0] == removed[1]
        assert [(m.vaddr, m.entry) for m in pairs[0][0].mappings(pairs[0][1])] == \
            [(m.vaddr, m.entry) for m in pairs[1][0].mappings(pairs[1][1])]
    refused = sum(answer is None for answer in answers)
    cleared = sum(len(answer) for answer in answers if answer is not None)
    assert 0 < refused < len(answers) / 2 and cleared > 300, (refused, len(answers), cleared)


def run_both(path, argv, *, libc="musl", kernel=None, assisted=None, made=None,
             loan_frames=None, **options):
    """Run `path` on a machine with each walker; what the first process
    left: output, fault counts, every leaf entry of its address space, the
    frames in use, its VMAs and its log of system calls. `assisted` and
    `made` get the faults the assist handled and the calls made in C;
    `loan_frames` sets how many frames the allocator lends at a time."""
    image = load_program(path, libc=libc)
    seen = []
    for native in (True, False):
        machine = Machine(ram_mib=256, native=native)
        if native and not machine.mmu.native:
            pytest.skip("the native walker could not be built here")
        if loan_frames is not None:
            machine.frames.LOAN_FRAMES = loan_frames
        guest = GuestKernel.load(machine, kernel[0], **kernel[1]) if kernel else None
        runner = ProcessRunner(machine, image, [str(path), *argv], kernel=guest, **options)
        runner.resume(Budget(seconds=120))
        outcome = (runner.exit_code, bytes(runner.process.output[1]),
                   runner.aspace.page_faults, runner.aspace.cow_faults, leaf_entries(runner.aspace),
                   machine.frames.frames_in_use, vma_summary(runner.aspace),
                   [(r.number, r.args, r.result) for r in runner.process.syscalls])
        result = runner.finish()
        if native and assisted is not None:
            assisted.append(machine.mmu.assist.handled)
        if native and made is not None:
            made.append((machine.mmu.anon_maps.made, machine.mmu.assist.freed_elsewhere_total))
        seen.append((outcome, [(p.pid, p.page_faults, p.cow_faults, p.syscalls,
                                p.outcome.signal) for p in result.processes]))
    assert seen[0] == seen[1]
    return seen[0]


@pytest.mark.parametrize("path,argv", [
    (EXAMPLES / "allocators" / "implicit.c", ["300"]),
    (FIXTURES / "fork" / "cow_heap.c", []),
    (FIXTURES / "fork" / "pipe_pingpong.c", []),
    (FIXTURES / "mprotect_write.c", []),
    (FIXTURES / "munmap_all.c", []),
])
def test_programs_run_the_same_on_both_walkers(path, argv):
    (_code, _out, faults, _cow, entries, _frames, _vmas, _log), _ = run_both(path, argv)
    assert faults > 0 and entries
    assert any(entry & PTE_D for _, _, entry in entries)


def test_the_demand_zero_assist_maps_what_the_kernel_would():
    """kernel/assist.py: first touches the C walker maps itself give the same
    frames, tables, flags, fault counts and anon_vmas as the Python kernel
    mapping each (the Python walker has no assist), over every kind of page
    it must leave alone: guard pages, file pages after MADV_DONTNEED,
    mprotect, mremap, fork and copy-on-write."""
    assisted = []
    (code, out, faults, cow, entries, _frames, vmas, _log), processes = run_both(
        FIXTURES / "assist_mix.c", [], assisted=assisted)
    assert code == 0 and b"data after DONTNEED: file bytes 0\n" in out
    assert cow > 0 and len(processes) == 2
    assert faults > 100 and 0 < assisted[0] < faults     # most, not all, in C
    assert any(anon for *_, anon in vmas)


@pytest.mark.parametrize("loan_frames", [None, 1])
def test_mmap_and_munmap_made_in_c_leave_what_the_kernel_would(loan_frames):
    """bench/churn.c under musl maps each large block: most of its mmap and
    munmap calls are made in C (emu/native/anon_maps.c, kernel/anon_maps.py),
    which puts frames back on the lent chunks' lists or, with one chunk lent
    (loan_frames 1), on chunks taken after it; the rest (mremap, a munmap of
    frames C may not free) Python makes. The same VMAs, anon_vmas, frames,
    tables, faults and system-call log as the Python kernel making them
    all."""
    made = []
    (code, out, faults, _cow, entries, _frames, vmas, log), _ = run_both(
        ROOT / "bench" / "churn.c", ["200000"], made=made, loan_frames=loan_frames)
    calls = sum(number in (9, 11) for number, *_ in log)
    (in_c, freed_elsewhere), = made
    assert code == 0 and out.startswith(b"200000 ops") and entries and vmas
    assert calls > 10_000 and calls / 2 < in_c <= calls, (made, calls)
    assert freed_elsewhere > 100 if loan_frames else True, made


@pytest.mark.parametrize("argv", [[], ["moved"]])
def test_a_guard_page_on_listed_memory_faults_on_both_walkers(argv):
    """MADV_GUARD_INSTALL after the assist listed the VMA (and mremap moving
    the guard): the region must be forgotten, so the write is SIGSEGV as in
    Python's fault() and on Linux, not a fresh zero page."""
    (code, out, *_), processes = run_both(FIXTURES / "guard_after_mmap.c", argv)
    (_pid, faults, _cow, _calls, signo), = processes
    assert out == b"before the guard page\n" and signo == signal.SIGSEGV and faults > 0


def test_forgetting_every_region_forgets_every_region():
    """drop_regions over EVERYWHERE, whose end is 2^64 (one past a c_uint64)."""
    machine = native_machine()
    assist = machine.mmu.assist
    assist.add_region(0x5000, 0x10000, 0x20000, PTE_US, 0, 1)
    assert assist.holds(0x5000, 0x10000)
    assist.drop_regions(0x5000, *EVERYWHERE)
    assert not assist.holds(0x5000, 0x10000)


@pytest.mark.parametrize("pager", ["demand_pager.asm", "demand_pager.c"])
def test_a_guest_page_fault_handler_pages_the_same_on_both_walkers(pager):
    """--on-fault: the student's handler maps every page; both walkers must
    hand it the same faults and leave the same tables."""
    kernel = (FIXTURES / "kernel" / pager, {"on_fault": "os_page_fault"})
    (code, out, faults, _cow, entries, _frames, _vmas, _log), _ = run_both(
        EXAMPLES / "allocators" / "implicit.c", ["300"], kernel=kernel)
    assert code == 0 and faults > 0 and entries


def test_a_guest_pager_without_invlpg_sees_the_same_stale_translations(tmp_path):
    """pgaccess.asm less its invlpg, derived as test_guest_kernel.py does."""
    forgetful = tmp_path / "pgaccess_noinvlpg.asm"
    source = (FIXTURES / "kernel" / "pgaccess.asm").read_text()
    forgetful.write_text(source.replace("invlpg [r8]", "nop"))
    kernel = (forgetful, {"syscalls": {451: "sys_pgaccess"}})
    (_code, out, *_), _ = run_both(FIXTURES / "kernel" / "touch_pages.c", ["5", "90"],
                                   libc="runtime", kernel=kernel)
    assert out == b"first 0 0x0\nsecond 0 0x0\ntoo many pages: -22\n"


def run_implicit(machine):
    image = load_program(EXAMPLES / "allocators" / "implicit.c", libc="musl")
    runner = ProcessRunner(machine, image, ["implicit", "50"])
    runner.resume(Budget(seconds=120))
    return runner.exit_code, bytes(runner.process.output[1]), runner.aspace.page_faults


def test_emu_native_0_selects_the_python_walker(monkeypatch):
    native = native_machine()
    monkeypatch.setenv("EMU_NATIVE", "0")
    machine = Machine(ram_mib=64)
    assert not machine.mmu.native and hostlib.failure("mmu") == "EMU_NATIVE=0"
    assert run_implicit(machine) == run_implicit(native)


def test_without_a_compiler_the_mmu_falls_back_to_python_silently(monkeypatch):
    def no_compiler(_source):
        raise OSError("No module named ziglang")
    native = native_machine()
    monkeypatch.setattr(hostlib, "_loaded", {})
    monkeypatch.setattr(hostlib, "_build", no_compiler)
    machine = Machine(ram_mib=64)
    assert not machine.mmu.native
    assert hostlib.failure("mmu") == "No module named ziglang"
    assert run_implicit(machine) == run_implicit(native)


def test_a_munmap_in_c_frees_nothing_while_no_frame_is_lent():
    """After the allocator settles a loan and lends nothing new, the C munmap
    must leave the frames to Python: the pool's old chunk is no loan any
    more (emu/native/anon_maps.c's check_leaf; DemandZeroAssist.take_back)."""
    from tests.fuzz.machines import USER_BASE, image_of_bytes
    from tests.fuzz.test_fuzz_walkers import TOP, program
    touched = [("anon", 0, 4, False), ("touch_top", 4, True), ("touch_top", 5, True)]
    unmapped = touched + [("munmap_top", 4, 4)]
    end = len(program([]))
    machine = native_machine()
    runner = ProcessRunner(machine, image_of_bytes(program(unmapped)), ["unlent"])
    runner.resume(Budget(seconds=30), until=USER_BASE + len(program(touched)) - end)
    made = machine.mmu.anon_maps.made
    frames = [runner.aspace.tables.walk(runner.aspace.root, TOP + i * PAGE_4K).paddr
              for i in (4, 5)]
    assert made == 1 and all(machine.frames.refcount(f) == 1 for f in frames)
    machine.frames.settle()                      # the loan ends; nothing is lent again
    assert machine.mmu.assist.lent == 0
    runner.resume(Budget(seconds=30), until=USER_BASE + len(program(unmapped)) - end)
    assert machine.mmu.anon_maps.made == made    # Python made the munmap
    assert runner.process.syscalls[-1].name == "munmap"
    assert all(machine.frames.refcount(f) == 0 for f in frames)
    runner.finish()


def test_runners_one_after_another_on_a_machine_each_export_their_own_vmas():
    """The malloc lab and the labs run one program after another on one
    machine: C holds one process's VMAs at a time, and each runner must
    export its own (kernel/anon_maps.py's owner) before C makes its calls."""
    image = load_program(ROOT / "bench" / "churn.c", libc="musl")

    def run(machine):
        runner = ProcessRunner(machine, image, ["churn", "3000"])
        runner.resume(Budget(seconds=60))
        seen = (runner.exit_code, bytes(runner.process.output[1]), vma_summary(runner.aspace),
                leaf_entries(runner.aspace),
                [(r.number, r.args, r.result) for r in runner.process.syscalls])
        runner.finish()
        return seen

    alone = run(native_machine())
    machine = native_machine()
    assert run(machine) == alone and machine.mmu.anon_maps.made > 100
    made = machine.mmu.anon_maps.made
    assert run(machine) == alone and machine.mmu.anon_maps.made > made


def test_unicorns_tlb_grows_to_the_working_set():
    """Invalidations page by page never flush Unicorn's TLB whole, and only a
    whole flush lets QEMU size it again: without emu_tlb_retune a program
    touching 2,048 pages a pass refills nearly every touch from the
    software TLB; with it, a system call flushes whole now and then and the
    TLB grows to hold them."""
    def refills(retune: int) -> int:
        machine = native_machine()
        machine.mmu._native._state.retune_refills = retune
        runner = ProcessRunner(machine, load_program(FIXTURES / "tlb_working_set.c",
                                                     libc="musl"), ["tlb"])
        runner.resume(Budget(seconds=60))
        assert runner.exit_code == 0 and bytes(runner.process.output[1]) == b"1597440\n"
        return machine.mmu._native.counts[1]
    never, retuned = refills(0), refills(NativeWalker.RETUNE_REFILLS)
    assert never > 60_000 and retuned < never / 3, (never, retuned)


def run_image_both(code: bytes, setup=None, **options):
    """The fuzz target's straight-line `code` run on a machine with each
    walker (ProcessRunner `options`; setup(machine, runner) before the run):
    what the process left, and the frames in use once it is gone."""
    from tests.fuzz.machines import image_of_bytes
    from tests.fuzz.test_fuzz_walkers import _call
    image = image_of_bytes(code + _call(60, 0))
    seen = []
    for native in (True, False):
        machine = native_machine() if native else Machine(ram_mib=64, native=False)
        runner = ProcessRunner(machine, image, ["straight"], **options)
        extra = setup(machine, runner) if setup else None
        runner.resume(Budget(seconds=30))
        space = runner.aspace
        state = (runner.exit_code, str(runner.fault), extra, leaf_entries(space),
                 vma_summary(space), [(r.number, r.args, r.result) for r in runner.process.syscalls])
        runner.finish()
        seen.append((state, machine.frames.frames_in_use))
    assert seen[0] == seen[1]
    return seen[0]


def test_c_mmap_keeps_to_rlimit_data_when_the_data_is_over_it_already():
    """mremap with MREMAP_DONTUNMAP doubles the data without checking
    RLIMIT_DATA, as on Linux; a munmap then must not give C room the limit
    does not (the room C keeps may be below zero). Found in review."""
    from tests.fuzz.test_fuzz_walkers import _call
    page, window = PAGE_4K, 0x2000_0000
    top = 0x7FFF_F7FF_F000 - 4 * page
    code = _call(9, 0, 4 * page, 3, 0x22, -1, 0) + \
        _call(25, top, 4 * page, 4 * page, 1 | 4, window) + \
        _call(11, window, 2 * page) + _call(9, window + (1 << 20), page, 3, 0x22, -1, 0)
    (state, _frames) = run_image_both(code, data_limit=6 * page)
    mmap = state[-1][-2]                                 # before exit
    assert mmap[0] == 9 and mmap[2] == -12               # ENOMEM on both


def test_a_tool_hook_mid_run_sees_what_c_did():
    """The malloc lab's fill and verify hooks read and write the process
    mid-run: the kernel takes in the C mmap and munmap first (Machine's
    before_hook), so a write into a block C unmapped is refused, as without
    C, and no frame is left behind. Found in review."""
    from tests.fuzz.machines import USER_BASE
    from tests.fuzz.test_fuzz_walkers import _call
    window = 0x2000_0000
    before = _call(9, window, PAGE_4K, 3, 0x22, -1, 0) + _call(39) + _call(11, window, PAGE_4K)

    def hook(machine, runner):
        wrote = []
        machine.add_breakpoint(USER_BASE + len(before),
                               lambda _a: wrote.append(runner.process.write(window, b"hi")))
        return wrote
    (state, frames) = run_image_both(before + b"\x90", setup=hook)
    assert state[2] == [False] and frames == 0


def test_a_first_write_python_owes_an_anon_vma_keeps_its_neighbours():
    """The assist marks a first write to memory C does not hold as an
    "[anon]" rw-p VMA (here rwx) for Python to give its anon_vma at the next
    kernel entry, from the neighbours the write saw; C must make no call
    before then, or a munmap in C takes away the neighbour whose anon_vma
    the reference shares."""
    from tests.fuzz.test_fuzz_walkers import _call, _set
    page, window = PAGE_4K, 0x2000_0000
    write_at = b"\xc6\x03\x01"                      # mov byte [rbx], 1
    code = _call(9, window, 2 * page, 3, 0x32, -1, 0) + _set("rbx", window) + write_at + \
        _call(9, window + 2 * page, page, 7, 0x32, -1, 0) + _call(39) + \
        _set("rbx", window + 2 * page) + write_at + _call(11, window + page, page)
    (state, _frames) = run_image_both(code)
    anon_vmas = {v[0]: v[-1] for v in state[4]}
    assert anon_vmas[window] == anon_vmas[window + 2 * page] == 1   # shared, as the write saw

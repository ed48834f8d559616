"""Part C of the pagewalk lab: map_page() builds tables a user program runs on.

Each test takes a fresh machine with the lab's alloc_table (a pool of frames
in one 2 MiB chunk, poisoned first, so a table that is not zeroed shows) and
the student's map_page, gets a root from alloc_table, and maps the variant's
pages: code (r-x), data (rw-, NX), rodata (r--, NX), a stack page (rw-, NX,
in the data page's page table) and a kernel-only page (no US). Then:

  map-walks-agree   the MMU's walk of every page gives the asked frame and
                    rights, and nothing else is mapped
  user-program-runs a user-mode program on those tables sums rodata into data
  nx-readonly-trap  a user write to rodata, a jump into data and a user read
                    of the kernel page each fault, with the MMU's reason
  no-frame-leaks    every frame alloc_table gave is a table in the tree, and
                    no more tables than the pages need
  hidden: remap and out of frames: mapping a mapped page returns 1 and
                    changes nothing; with the pool empty it returns 2 and what
                    was allocated stays linked in
"""

from __future__ import annotations

import struct

from ....errors import GuestFault
from ....paging import (NO_EXECUTE, PAGE_4K, PTE_NX, PTE_RW, PTE_US, READ_ONLY, SUPERVISOR,
                        decode_flags, page_align_down)
from ..base import Outcome, full, none
from .map_run import (MAP_EXISTS, MAP_NO_MEMORY, OTHER_SLOT_DISTANCE, PROGRAM_BUDGET,
                      RESULT_WORDS, ROLE_FLAGS, SUM_WORDS, MapRun, describe_map, extra_pages,
                      map_all, role_pages, tables_in_tree, tables_needed, user_program,
                      address_of)
from .prepared import Prepared
from .walk_checks import walk_picture


# -- the tests --------------------------------------------------------------------------------

def check_walks_agree(spec, prepared: Prepared) -> Outcome:
    """Every mapped page walks to its frame with its rights; nothing else is mapped."""
    rng = prepared.stream(spec, "map-pages")
    run = MapRun(prepared)
    pages = role_pages(prepared)
    pages += extra_pages(rng, 16, {v for v, _ in pages})
    failed = map_all(run, pages, rng)
    if failed:
        return failed
    for vaddr, paddr, flags in run.mapped:
        problem = _compare_walk(run, vaddr, paddr, flags)
        if problem:
            return none(problem, walk_picture(run.machine, run.root, vaddr), run.repro(spec.name))
    asked = {vaddr for vaddr, _, _ in run.mapped}
    extra = [m.vaddr for m in run.machine.page_tables.mappings(run.root) if m.vaddr not in asked]
    if extra:
        return none(f"{extra[0]:#x} is mapped but no map_page call asked for it ({len(extra)} "
                    f"such pages): only the leaf entry for the asked page may be written",
                    walk_picture(run.machine, run.root, extra[0]), run.repro(spec.name))
    return full(spec, f"{len(run.mapped)} pages mapped, every walk right")


def _compare_walk(run: MapRun, vaddr: int, paddr: int, flags: int) -> str:
    walk = run.machine.mmu.walk(vaddr, root=run.root)
    if not walk.mapped:
        return f"after {describe_map(vaddr, paddr, flags)} the MMU's walk stops at " \
               f"{walk.stopped_at}: {walk.reason}"
    if walk.paddr != paddr or walk.page_size != PAGE_4K:
        return f"{vaddr:#x} leads to {walk.paddr:#x}, not to {paddr:#x}"
    wanted = {"user": bool(flags & PTE_US), "writable": bool(flags & PTE_RW),
              "executable": not flags & PTE_NX}
    found = {"user": walk.user, "writable": walk.writable, "executable": walk.executable}
    for right, value in wanted.items():
        if found[right] != value:
            return (f"after {describe_map(vaddr, paddr, flags)} the page is "
                    f"{'' if found[right] else 'not '}{right}, but {decode_flags(flags) or '0'} "
                    f"{'asks for' if value else 'does not ask for'} that: "
                    f"{RIGHT_HINTS[right, value]}")
    return ""


RIGHT_HINTS = {
    ("user", True): "the tables on the way need US too: link them with P | RW | US",
    ("user", False): "US belongs in the leaf only when the flags have it",
    ("writable", True): "RW must be in the leaf, and in the tables on the way",
    ("writable", False): "RW belongs in the leaf only when the flags have it",
    ("executable", True): "NX (bit 63) belongs in the leaf only when the flags have it",
    ("executable", False): "copy NX (bit 63) of the flags into the leaf: all 64 bits count",
}


def _prepare_program(spec, prepared: Prepared, rng):
    run = MapRun(prepared)
    failed = map_all(run, role_pages(prepared), rng)
    if failed:
        return None, None, failed
    program = user_program(prepared.params["layout"])
    frames = {vaddr: paddr for vaddr, paddr, _ in run.mapped}
    layout_ = prepared.params["layout"]
    run.machine.ram.write(frames[layout_["code"]], program.image())
    words = [rng.next_u64() >> 8 for _ in range(SUM_WORDS)]
    run.machine.ram.write_data(frames[layout_["rodata"]], struct.pack(f"<{SUM_WORDS}Q", *words))
    return run, program, (frames, words)


def _run_user(run: MapRun, program, label: str):
    """Run the user program from `label`; the GuestFault, or None at `done`."""
    try:
        run.machine.run(program.symbols[label], until=program.symbols["done"],
                        budget=PROGRAM_BUDGET, root=run.root, user=True)
    except GuestFault as fault:
        return fault
    return None


def check_user_program(spec, prepared: Prepared) -> Outcome:
    """A user-mode program sums rodata into data on the student's tables."""
    rng = prepared.stream(spec, "map-program")
    run, program, extra = _prepare_program(spec, prepared, rng)
    if run is None:
        return extra
    frames, words = extra
    fault = _run_user(run, program, "start")
    record = run.repro(spec.name) | {"entry": "start"}
    if fault is not None:
        return none(f"the user program faulted on your tables: {fault}",
                    walk_picture(run.machine, run.root, fault.address), record)
    data = run.machine.ram.read(frames[prepared.params["layout"]["data"]], 16)
    total, rsp = struct.unpack("<QQ", data)
    want = sum(words) & ((1 << 64) - 1)
    if total != want:
        return none(f"the user program ran but stored {total:#x} in data, not {want:#x}: "
                    f"rodata or data does not lead to the frames asked for", "", record)
    return full(spec, "the program summed rodata into data in user mode")


TRAPS = (("trap_write", "rodata", "write", READ_ONLY,
          "a page mapped without RW must have RW clear in its leaf"),
         ("trap_fetch", "data", "fetch", NO_EXECUTE,
          "a page mapped with NX must have bit 63 set in its leaf"),
         ("trap_kernel", "kernel", "read", SUPERVISOR,
          "a page mapped without US must have US clear in its leaf"))


def check_traps(spec, prepared: Prepared) -> Outcome:
    """Writing rodata, fetching from data, reading the kernel page: each traps as the MMU says."""
    rng = prepared.stream(spec, "map-traps")
    run, program, extra = _prepare_program(spec, prepared, rng)
    if run is None:
        return extra
    layout_ = prepared.params["layout"]
    for label, role, access, reason, hint in TRAPS:
        fault = _run_user(run, program, label)
        record = run.repro(spec.name) | {"entry": label}
        what = f"a user {access} of the {role} page ({layout_[role]:#x})"
        picture = walk_picture(run.machine, run.root, layout_[role])
        if fault is None:
            return none(f"{what} did not trap; the MMU must refuse it ({reason}): {hint}",
                        picture, record)
        if (fault.access, fault.reason, page_align_down(fault.address)) != (access, reason,
                                                                           layout_[role]):
            return none(f"{what} must fault there with {reason}, but the program faulted "
                        f"with {fault.reason} ({fault.access} at {fault.address:#x}): {hint}",
                        picture, record)
    return full(spec, "each forbidden access trapped with the right reason")


def check_no_leaks(spec, prepared: Prepared) -> Outcome:
    """Every frame alloc_table handed out is a table in the tree, and no more than needed."""
    rng = prepared.stream(spec, "map-leaks")
    run = MapRun(prepared)
    pages = role_pages(prepared)
    pages += extra_pages(rng, 16, {v for v, _ in pages})
    failed = map_all(run, pages, rng)
    if failed:
        return failed
    return _leak_verdict(spec, run) or full(spec, f"{run.allocated} frames from alloc_table, "
                                                  f"all of them tables in the tree")


def _leak_verdict(spec, run: MapRun, exact: bool = True) -> Outcome | None:
    """A failed Outcome when a handed-out frame is not in the tree, or (when
    `exact`) when there are more tables than the mapped pages need."""
    tree = set(tables_in_tree(run.machine, run.root))
    handed = {run.pool + i * PAGE_4K for i in range(run.allocated)}
    needed = tables_needed(v for v, _, _ in run.mapped)
    lost = sorted(handed - tree)
    if lost:
        return none(f"{len(lost)} of the {len(handed)} frames alloc_table handed out are not "
                    f"in the tree (the first: {lost[0]:#x}): allocate a table only when the "
                    f"entry is not present, and link it in at once", "", run.repro(spec.name))
    if exact and len(handed) > needed:
        return none(f"alloc_table handed out {len(handed)} frames for tables; these pages "
                    f"need {needed}", "", run.repro(spec.name))
    return None


def check_remap_and_oom(spec, prepared: Prepared) -> Outcome:
    """Mapping a mapped page returns 1 and changes nothing; with one frame left
    for three tables, 2 and nothing mapped, nothing leaked; then, with frames
    again, the same call succeeds."""
    rng = prepared.stream(spec, "map-oom")
    run = MapRun(prepared)
    data = prepared.params["layout"]["data"]
    failed = map_all(run, [(data, ROLE_FLAGS["data"])], rng) or _remap(spec, run, data, rng)
    if failed:
        return failed
    elsewhere = data + address_of(OTHER_SLOT_DISTANCE, 0, 0, 0)       # needs 3 new tables
    failed = _out_of_frames(spec, run, elsewhere, rng)
    if failed:
        return failed
    run.set_pool(run.machine.ram.read_u64(run.symbol("alloc_table_next")), 8)
    failed = map_all(run, [(elsewhere, ROLE_FLAGS["data"])], rng)
    return failed or _leak_verdict(spec, run) or full(spec)


def _remap(spec, run: MapRun, vaddr: int, rng) -> Outcome | None:
    """map_page on the mapped `vaddr`: 1, no frame taken, the entry unchanged."""
    entry_before = run.machine.mmu.walk(vaddr, root=run.root).steps[-1].entry
    count = run.allocated
    result, paddr, registers = run.map(vaddr, ROLE_FLAGS["data"], rng)
    got = result.registers["rax"] if result.returned else None
    wrong = [f"it returned {RESULT_WORDS.get(got, got)}"] if got != MAP_EXISTS else []
    if run.allocated != count:
        wrong.append(f"it took {run.allocated - count} frame(s) from alloc_table")
    if run.machine.mmu.walk(vaddr, root=run.root).steps[-1].entry != entry_before:
        wrong.append("it changed the entry")
    if not wrong:
        return None
    return none(f"{describe_map(vaddr, paddr, ROLE_FLAGS['data'])} on a mapped page must "
                f"return 1, allocate nothing and leave the entry as it was; "
                f"{', '.join(wrong)}", "", run.repro(spec.name, registers))


def _out_of_frames(spec, run: MapRun, vaddr: int, rng) -> Outcome | None:
    """With one frame left, map_page for `vaddr` (three tables short) returns 2,
    maps nothing, and the frame it took is linked in."""
    run.set_pool(run.machine.ram.read_u64(run.symbol("alloc_table_next")), 1)
    result, paddr, registers = run.map(vaddr, ROLE_FLAGS["data"], rng)
    got = result.registers["rax"] if result.returned else None
    if got != MAP_NO_MEMORY or run.machine.mmu.walk(vaddr, root=run.root).mapped:
        return none(f"{describe_map(vaddr, paddr, ROLE_FLAGS['data'])} with one frame left in "
                    f"the pool (it needs three tables) must return 2 and map nothing "
                    f"(returned {RESULT_WORDS.get(got, got)})", "",
                    run.repro(spec.name, registers))
    leak = _leak_verdict(spec, run, exact=False)
    if leak:
        leak.message = "after running out of frames: " + leak.message
    return leak



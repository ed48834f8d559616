"""Guest routines as the kernel's page-fault handler and system calls (--kernel),
with the contract of asm/kernel/emu_kernel.h: a demand pager in asm and in C
runs programs exactly as the built-in one does; a system call walks the tables
and reports Accessed bits; invlpg matters as on hardware; oopses kill only the
process; the debugger stops inside a routine."""

import json

import pytest

from emu import Budget, Machine
from emu.guest_kernel import GuestKernel
from emu.loader import load_program
from emu.runner import ProcessRunner
from tests.conftest import EXAMPLES, FIXTURES
from tests.fuzz.machines import BootState, assert_back_at_boot
from tests.integration.test_cli import emu

KERNEL = FIXTURES / "kernel"
PAGER = ["--kernel", KERNEL / "demand_pager.asm", "--on-fault", "os_page_fault"]
PGACCESS = ["--syscall", "451=sys_pgaccess"]


def run_json(program, options, guest_args):
    proc = emu("run", program, *options, "--json", *guest_args, ok=False)
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize("program,args", [
    (EXAMPLES / "allocators" / "implicit.c", ["--", "300"]),
    (EXAMPLES / "allocators" / "segregated.c", ["--", "300"]),
    (EXAMPLES / "hello.asm", []),
    (FIXTURES / "munmap_all.c", []),
    (FIXTURES / "null_write.c", []),
])
def test_the_asm_demand_pager_runs_programs_as_the_built_in_one_does(program, args):
    builtin = run_json(program, [], args)
    guest = run_json(program, PAGER, args)
    assert guest[0] == builtin[0]
    for key in ("stdout", "exit_code", "page_faults", "pages_mapped", "fault"):
        assert guest[1][key] == builtin[1][key], key


def test_the_c_demand_pager_too_and_every_frame_comes_back():
    machine = Machine(ram_mib=128)
    boot = BootState.of(machine)
    kernel = GuestKernel.load(machine, KERNEL / "demand_pager.c", on_fault="os_page_fault")
    image = load_program(EXAMPLES / "programs" / "mallocfun.c", libc="musl")
    result = ProcessRunner(machine, image, ["mallocfun", "50"], kernel=kernel).run(
        Budget(seconds=120))
    assert result.stdout.startswith(b"50 rounds, checksum") and result.exit_code == 7
    assert result.page_faults > 10
    assert_back_at_boot(machine, boot)


def test_a_syscall_routine_reports_accessed_bits_and_invlpg_makes_them_fresh():
    proc = emu("run", KERNEL / "touch_pages.c", "--kernel", KERNEL / "pgaccess.asm", *PGACCESS,
               "--", "5", "90004001")
    assert proc.stdout == "first 0 0x5\nsecond 0 0x90004001\ntoo many pages: -22\n"


def test_without_invlpg_the_stale_translations_keep_working_and_set_no_accessed_bit(tmp_path):
    """pgaccess.asm less its invlpg (a classic mistake): the TLB keeps the old
    translations, so touching those pages sets no Accessed bit, as on a CPU."""
    source = (KERNEL / "pgaccess.asm").read_text()
    assert source.count("invlpg [r8]") == 1
    forgetful = tmp_path / "pgaccess_noinvlpg.asm"
    forgetful.write_text(source.replace("invlpg [r8]", "nop"))
    proc = emu("run", KERNEL / "touch_pages.c", "--kernel", forgetful, *PGACCESS,
               "--", "5", "90")
    assert proc.stdout == "first 0 0x0\nsecond 0 0x0\ntoo many pages: -22\n"


def test_strace_shows_a_routine_s_system_calls_by_its_name():
    proc = emu("run", KERNEL / "touch_pages.c", "--kernel", KERNEL / "pgaccess.asm", *PGACCESS,
               "--strace", "--", "1", "2")
    assert "sys_pgaccess(" in proc.stderr and ") = -1 EINVAL" in proc.stderr


@pytest.mark.parametrize("routine,budget,words", [
    ("os_page_fault:\n  mov rax, [0]\n  ret\n", [], "read at 0x0: not present (kernel mode)"),
    ("os_page_fault:\n  jmp os_page_fault\n", ["--kernel-budget", "5000"],
     "did not return within 5,000 instructions"),
    ("os_page_fault:\n  mov eax, 39\n  syscall\n  ret\n", [], "a system call from inside"),
])
def test_a_broken_routine_is_a_kernel_oops_that_kills_the_process(tmp_path, routine, budget, words):
    broken = tmp_path / "broken.asm"
    broken.write_text(routine)
    proc = emu("run", EXAMPLES / "allocators" / "implicit.c", "--kernel", broken,
               "--on-fault", "os_page_fault", *budget, "--", "5", ok=False)
    assert proc.returncode == 137
    assert "kernel oops in os_page_fault (handling a fault)" in proc.stderr and words in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_refusing_handler_gives_the_process_sigsegv(tmp_path):
    refuse = tmp_path / "refuse.asm"
    refuse.write_text("os_page_fault:\n  mov eax, 1\n  ret\n")
    proc = emu("run", EXAMPLES / "allocators" / "implicit.c", "--kernel", refuse,
               "--on-fault", "os_page_fault", "--", "5", ok=False)
    assert proc.returncode == 139 and "SIGSEGV" in proc.stderr


@pytest.mark.parametrize("args,words", [
    (["--kernel", KERNEL / "demand_pager.asm", "--on-fault", "nope"], "no routine 'nope'"),
    (["--on-fault", "os_page_fault"], "--on-fault and --syscall name routines of a --kernel"),
    (["--kernel", KERNEL / "pgaccess.asm", "--syscall", "4096=sys_pgaccess"], "from 0 to 1023"),
    (["--kernel", KERNEL / "pgaccess.asm", "--syscall", "sys_pgaccess"], "expected N=SYMBOL"),
    (["--kernel", FIXTURES / "missing.asm"], "no such file"),
])
def test_bad_kernel_options_are_one_line(args, words):
    proc = emu("run", EXAMPLES / "hello.asm", *args, ok=False)
    assert proc.returncode == 2 and words in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_kernel_file_that_does_not_assemble_names_its_line(tmp_path):
    bad = tmp_path / "bad.asm"
    bad.write_text("os_page_fault:\n  mov rax,, 1\n")
    proc = emu("run", EXAMPLES / "hello.asm", "--kernel", bad, "--on-fault", "os_page_fault",
               ok=False)
    assert proc.returncode == 2 and f"{bad}:2:" in proc.stderr


def test_the_debugger_stops_and_steps_inside_the_fault_handler():
    out = emu("debug", EXAMPLES / "allocators" / "implicit.c", *PAGER, "--batch",
              "-ex", "break os_page_fault", "-ex", "continue", "-ex", "stepi 3",
              "-ex", "info registers rip", "-ex", "pt $rsp", "-ex", "delete", "-ex", "continue",
              "--", "20").stdout
    assert "Breakpoint 1, 0xffffffff801" in out and "in os_page_fault" in out
    assert "os_page_fault+8" in out
    assert "exited normally" in out


def test_the_pages_the_asm_pager_maps_grant_what_their_vma_allows():
    """Checked on the tables themselves, not only on the program's output: a
    pager that maps the wrong frame or forgets NX can still print right."""
    from tests.fuzz.test_fuzz_syscalls import check_pages_match_vmas
    machine = Machine(ram_mib=128)
    kernel = GuestKernel.load(machine, KERNEL / "demand_pager.asm", on_fault="os_page_fault")
    image = load_program(EXAMPLES / "allocators" / "implicit.c")
    runner = ProcessRunner(machine, image, ["implicit", "300"], kernel=kernel)
    runner.resume(Budget(instructions=300_000))
    space = runner.aspace
    check_pages_match_vmas(space)
    data = [v for v in space.vmas if not v.prot & 4 and v.name in ("[heap]", "[stack]")]
    leaves = [m for v in data for _, m in space.tables.leaves(space.root, v.start, v.size,
                                                             split=False)]
    assert leaves and all(m.entry & (1 << 63) for m in leaves)      # data pages are NX
    runner.finish()

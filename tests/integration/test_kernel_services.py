"""The kernel services the kernel labs need (asm/kernel/emu_kernel.h):
kernel_frame_refs sees copy-on-write sharing, kernel_demand_page does the
built-in demand paging and nothing more, a lab can withhold a service, and a
forked child's routines run in kernel mode however often it traps."""

import pytest

from emu import Budget, Machine
from emu.errors import UsageError
from emu.guest_kernel import GuestKernel
from emu.loader import load_program
from emu.runner import ProcessRunner
from tests.conftest import FIXTURES
from tests.fuzz.machines import BootState, assert_back_at_boot
from tests.integration.test_cli import emu

KERNEL = FIXTURES / "kernel"
SERVICES = ["--kernel", KERNEL / "services.asm", "--syscall", "460=sys_refs",
            "--syscall", "461=sys_demand"]


def test_frame_references_follow_a_fork_and_demand_paging_stops_at_present_pages():
    out = emu("run", KERNEL / "services.c", *SERVICES).stdout.splitlines()
    assert out == [
        "before fork: 1",
        "child, shared: 2",                            # parent and child hold the frame
        "child, after its write: 1",                   # the write copied it
        "parent, child gone: 1, still 1",              # the child's copy never showed here
        "untouched page: 0, then 1",                   # mapped, one reference
        "present page, even told not present: 1",      # never copy-on-write
        "write to a read-only page: 1",                # the VMA does not allow it
        "no mapping there: 1",
        "a new page reads 0",
    ]


def test_demand_paging_through_the_service_leaves_no_frame_behind_and_counts_no_fault():
    machine = Machine(ram_mib=128)
    boot = BootState.of(machine)
    kernel = GuestKernel.load(machine, KERNEL / "services.asm",
                              syscalls={460: "sys_refs", 461: "sys_demand"})
    runner = ProcessRunner(machine, load_program(KERNEL / "services.c"), ["services"],
                           kernel=kernel)
    result = runner.run(Budget(seconds=60))
    assert result.exit_code == 0
    # The parent faulted on three pages (its mapping, a stack page, its stdout
    # buffer); the page the service mapped is resident but no fault of its own.
    assert result.page_faults == 3
    assert_back_at_boot(machine, boot)


def test_a_withheld_service_is_an_oops_that_says_why(tmp_path):
    pager = tmp_path / "lazy.asm"
    pager.write_text("os_page_fault:\n  call kernel_demand_page\n  ret\n")
    machine = Machine(ram_mib=64)
    kernel = GuestKernel.load(machine, pager, on_fault="os_page_fault",
                              withheld={"kernel_demand_page": "map the page yourself"})
    runner = ProcessRunner(machine, load_program(FIXTURES / "null_write.c"), ["x"],
                           kernel=kernel)
    result = runner.run(Budget(seconds=60))
    assert result.signal == 9 and result.stopped == "oops"
    assert "kernel oops in os_page_fault" in result.message
    assert "kernel_demand_page, which is withheld here: map the page yourself" in result.message


def test_withholding_a_service_that_does_not_exist_is_a_usage_error(tmp_path):
    pager = tmp_path / "p.asm"
    pager.write_text("os_page_fault:\n  ret\n")
    with pytest.raises(UsageError, match="no kernel service 'kernel_teleport'"):
        GuestKernel.load(Machine(ram_mib=64), pager, withheld={"kernel_teleport": "no"})


def test_a_child_runs_its_routines_in_kernel_mode_every_time(tmp_path):
    """The child traps into a routine, makes a system call, traps again: the
    second routine must not start from the first one's stale registers."""
    program = tmp_path / "twice.c"
    program.write_text(
        '#include <stdio.h>\n#include "emu_syscall.h"\n'
        "static char page[4096];\n"
        "int main(void) {\n"
        "    page[0] = 1;\n"
        "    long pid = emu_syscall1(57, 0);\n"
        "    if (pid == 0) {\n"
        '        printf("child %ld\\n", emu_syscall1(460, page));\n'
        '        printf("child %ld\\n", emu_syscall1(460, page));\n'
        "        emu_syscall1(60, 0);\n"
        "    }\n"
        "    emu_syscall6(61, pid, 0, 0, 0, 0, 0);\n"
        '    printf("parent %ld\\n", emu_syscall1(460, page));\n'
        "    return 0;\n}\n")
    proc = emu("run", program, *SERVICES)
    assert proc.stdout == "child 2\nchild 2\nparent 1\n"


LOGGER = ("sys_log:\n  jmp kernel_log\n"
          "sys_vma:\n  mov rsi, 0x10\n  jmp kernel_find_vma\n")
ENDS_AT_A_PAGE = (                       # "hi" and its NUL in a page's last 3 bytes
    '#include "emu_syscall.h"\n'
    "int main(void) {\n"
    "    char *page = (char *)emu_syscall6(9, 0, 4096, 3, 0x22, -1, 0);\n"
    "    page[4093] = 'h'; page[4094] = 'i'; page[4095] = 0;\n"
    "    emu_syscall1(462, page + 4093);\n"
    "    return emu_syscall1(463, page) == 1 ? 0 : 5;\n}\n")


def test_kernel_log_reads_to_the_nul_and_a_bad_out_pointer_is_an_oops(tmp_path):
    (tmp_path / "log.asm").write_text(LOGGER)
    (tmp_path / "prog.c").write_text(ENDS_AT_A_PAGE)
    proc = emu("run", tmp_path / "prog.c", "--kernel", tmp_path / "log.asm",
               "--syscall", "462=sys_log", "--syscall", "463=sys_vma", ok=False)
    assert "[kernel] hi\n" in proc.stderr                 # text ends just before unmapped memory
    assert proc.returncode == 137, proc.stderr            # find_vma's out pointer 0x10: an oops
    assert "kernel oops in sys_vma" in proc.stderr
    assert "kernel_find_vma's out pointer 0x10 is not writable memory" in proc.stderr


def test_a_frame_a_routine_freed_while_mapped_is_a_panic_that_names_the_routines(tmp_path):
    freer = tmp_path / "freer.asm"          # services.asm's walk, then kernel_free_frame
    freer.write_text((KERNEL / "services.asm").read_text().replace(
        "jmp kernel_frame_refs", "jmp kernel_free_frame"))
    (tmp_path / "prog.c").write_text(
        '#include "emu_syscall.h"\nstatic char page[4096];\n'
        "int main(void) {\n    page[0] = 1;\n    emu_syscall1(460, (long)page);\n"
        "    page[1] = 2;\n    return 0;\n}\n")
    proc = emu("run", tmp_path / "prog.c", "--kernel", freer, "--syscall", "460=sys_refs",
               ok=False)
    assert proc.returncode == 70 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "is not an allocated frame (the kernel routines of freer.asm may have broken " \
           "the kernel's bookkeeping" in proc.stderr

"""`emu debug`: each command family, asserted on its output, and reverse
execution checked against a forward replay."""

import subprocess
import sys

import pytest

from emu.debug.debugger import Debugger
from emu.debug.repl import Repl
from tests.conftest import ASM, EXAMPLES, FIXTURES, ROOT

LIST = FIXTURES / "linked_list.c"
FIRSTFIT = ASM / "allocators" / "firstfit.asm"


@pytest.fixture
def repl():
    dbg = Debugger.start(LIST, ["linked_list"], ram_mib=64, link=[FIRSTFIT])
    r = Repl(dbg, show_context=False)
    yield r
    dbg.runner.finish()


def run(repl, *commands) -> str:
    return "\n".join(line for c in commands for line in repl.execute(c))


def line_of(text: str) -> int:
    for number, line in enumerate(LIST.read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(text)


# -- breakpoints and running -----------------------------------------------------------

def test_break_run_and_info_breakpoints(repl):
    out = run(repl, "break push", "run")
    assert "Breakpoint 1 at" in out and f"file linked_list.c, line {line_of('mm_malloc(sizeof')}" in out
    assert f"Breakpoint 1, push (head=0x0, value=10) at linked_list.c:{line_of('mm_malloc(sizeof')}" \
        in out
    out = run(repl, "c", "info breakpoints")
    assert "breakpoint already hit 2 times" in out


def test_tbreak_deletes_itself_and_delete_removes(repl):
    run(repl, "tbreak sum", "break push", "delete 2")
    out = run(repl, "run")
    assert "Temporary breakpoint 1, sum (head=0x" in out
    assert run(repl, "info breakpoints") == "No breakpoints or watchpoints."


def test_break_file_line_and_address(repl):
    line = line_of("total += head->value")
    out = run(repl, f"break linked_list.c:{line}", "run")
    assert f"linked_list.c:{line}" in out
    address = repl.dbg.target.rip
    run(repl, "delete", f"break *{address:#x}", "continue")
    assert repl.dbg.target.rip == address


def test_the_program_runs_to_its_exit(repl):
    assert run(repl, "run") == "[Inferior 1 (process 1000) exited with code 0226]"  # 150, octal
    assert repl.dbg.runner.exit_code == 150
    assert repl.dbg.runner.process.output[1] == b"sum 150\n"
    assert "the program is not running" in run(repl, "next")


# -- stepping ------------------------------------------------------------------------

def test_stepi_and_nexti_move_by_instructions(repl):
    run(repl, "break main", "run")
    rip = repl.dbg.target.rip
    run(repl, "stepi")
    assert repl.dbg.target.rip != rip
    run(repl, "si 3", "ni 2")
    assert len(repl.dbg.target.history) >= 5


def current_line(repl) -> int:
    return repl.dbg.info.line_at(repl.dbg.target.rip).line


def test_next_steps_over_calls_and_step_goes_into_them(repl):
    run(repl, "break main", "run")
    assert current_line(repl) == line_of("mm_init();")
    out = run(repl, "next")                           # over mm_init(): still in main
    assert out.startswith(f"{current_line(repl)}\t") and current_line(repl) > line_of("mm_init();")
    while current_line(repl) != line_of("list = push("):
        run(repl, "next")
    out = run(repl, "step")                           # into push(), after its prologue
    assert out.startswith("push (head=0x0, value=10) at linked_list.c:")


def test_finish_returns_to_the_caller_and_until_runs_the_loop(repl):
    run(repl, "break sum", "run")
    out = run(repl, "finish")
    assert out.startswith("Run till exit from #0  sum (head=0x") and "main () at linked_list.c" in out
    assert out.endswith("Value returned is $1 = 150")
    assert repl.dbg.target.registers()["rax"] == 150
    run(repl, "delete", "break push", "run", "finish")
    before = repl.dbg.target.rip
    out = run(repl, "delete", "until", "until")
    assert repl.dbg.target.rip != before


# -- data ------------------------------------------------------------------------------

def test_registers_print_set_and_x(repl):
    run(repl, "break push", "run")
    regs = repl.dbg.target.registers()
    assert run(repl, "info registers rip").startswith(f"rip           {regs['rip']:#x}")
    assert run(repl, "p/x $rsp") == f"$1 = {regs['rsp']:#x}"
    run(repl, "set $rax = 0x1234")
    assert run(repl, "print $rax") == f"$2 = {0x1234}"
    out = run(repl, "x/4gx $rsp")
    words = [repl.dbg.target.read_u64(regs["rsp"] + 8 * i) for i in range(4)]
    assert f"0x{words[0]:016x}" in out and f"0x{words[3]:016x}" in out
    assert "Cannot access memory at address 0x10" in run(repl, "x/2gx 0x10")


def test_disassemble_backtrace_and_info_symbol(repl):
    run(repl, "break push", "run")
    out = run(repl, "disassemble")
    assert out.startswith("Dump of assembler code for function push:") and "=> " in out
    frames = run(repl, "bt").splitlines()
    assert frames[0].startswith("#0  push (head=0x0, value=10) at linked_list.c")
    assert "in main () at linked_list.c" in frames[1]
    assert run(repl, "info symbol $rip").startswith("push + ")


def test_watchpoint_stops_after_the_write_with_old_and_new_values(repl):
    run(repl, "break mm_malloc", "run", "finish")
    first = repl.dbg.target.registers()["rax"]             # the first node's payload
    # the next block's header (size, then the in-use flag) starts 16 bytes on
    out = run(repl, f"watch {first + 16} 8", "delete 1", "continue")
    assert "Hardware watchpoint 2: *" in out
    assert "Old value = 0x0" in out and "New value = 0x20" in out   # a 32-byte block
    writer = repl.dbg.describe(repl.dbg.target.rip)
    assert writer.startswith("mm_malloc")                   # stopped inside the asm allocator


# -- OS views -----------------------------------------------------------------------

def test_pt_vmmap_memmap_syscalls(repl):
    run(repl, "break sum", "run")
    pt = run(repl, "pt $rsp")
    assert "in [stack] (rw-p)" in pt and "PML4[255]" in pt and "PT[" in pt and "user, writable, NX" in pt
    vmmap = run(repl, "vmmap")
    assert "[stack]" in vmmap and "[heap]" in vmmap and "linked_list.c" in vmmap
    assert "firstfit.asm" in vmmap
    assert "os_MemoryMap at 0x10000" in run(repl, "memmap")
    assert "brk(" in run(repl, "syscalls")


def test_heap_walks_the_firstfit_blocks(repl):
    run(repl, "break sum", "run")
    out = run(repl, "heap")
    assert "firstfit" in out and out.count("allocated") >= 5
    assert "payload      16 at" in out


# -- reverse execution ----------------------------------------------------------------

def test_reverse_stepping_restores_registers_and_memory_exactly():
    """Step forward N instructions (through mm_malloc, which grows the heap with
    a brk syscall and demand-paged writes), reverse all of them, and compare
    with the start; then replay forward and compare with the first run."""
    dbg = Debugger.start(LIST, ["linked_list"], ram_mib=64, link=[FIRSTFIT])
    dbg.break_at("push")
    dbg.cont()
    space = dbg.runner.aspace

    def state():
        resident = {m.vaddr: dbg.target.read(m.vaddr, m.size) for v in space.vmas
                    for _, m in space.tables.leaves(space.root, v.start, v.size, split=False)}
        return dbg.target.registers(), resident, space.brk, \
            [(v.start, v.end, v.prot) for v in space.vmas], \
            dbg.machine.frames.frames_in_use, dbg.machine.memory_map.free_count()

    start = state()
    steps = 0
    while steps < 400 and dbg.target.alive:
        dbg.target.step()
        steps += 1
    end = state()
    assert end != start
    syscalls_seen = dbg.runner.process.syscall_count
    for _ in range(steps):
        assert dbg.target.reverse_step().kind == "step"
    assert state() == start
    for _ in range(steps):
        dbg.target.step()
    assert state() == end
    assert dbg.runner.process.syscall_count == syscalls_seen
    dbg.runner.finish()


def test_reverse_continue_goes_back_to_a_breakpoint_then_to_the_start(repl):
    run(repl, "break push", "run")
    start = repl.dbg.target.rip
    run(repl, "next", "next")
    middle = repl.dbg.target.rip                     # n->next = head;
    run(repl, "next", "next", f"break *{middle:#x}")
    out = run(repl, "reverse-continue")
    assert repl.dbg.target.rip == middle and "Breakpoint 2, push (" in out
    out = run(repl, "reverse-continue")               # where recording began: gdb's wording
    assert repl.dbg.target.rip == start and "No more reverse-execution history." in out
    assert "No more reverse-execution history" in run(repl, "rsi")


def test_forward_after_reverse_replays_to_the_end_of_the_log(repl):
    run(repl, "break push", "run", "next", "next")
    end = repl.dbg.target.rip
    run(repl, "rsi 5", "delete")
    out = run(repl, "continue")                      # replays, stops where the log ended
    assert repl.dbg.target.rip == end and "No more reverse-execution history." in out
    assert "exited with code 0226" in run(repl, "continue")


def test_a_replayed_write_is_not_shown_again():
    """hello.asm's write, stepped over, undone and stepped over again: the
    program's output holds it once and the terminal saw it once, as under
    gdb's record; a replay that writes something else is shown."""
    shown = []
    dbg = Debugger.start(EXAMPLES / "hello.asm", ["hello"], ram_mib=64,
                         echo=lambda fd, data: shown.append((fd, bytes(data))))
    target = dbg.target
    for _ in range(5):                                   # ... through the write syscall
        target.step()
    hello = [(1, b"Hello from the guest!\n")]
    assert shown == hello
    assert target.reverse_step().kind == "step" and target.reverse_step().kind == "step"
    assert bytes(dbg.runner.process.output[1]) == b""
    target.step()
    target.step()
    assert shown == hello and bytes(dbg.runner.process.output[1]) == hello[0][1]
    target.reverse_step()                                # before the syscall again
    dbg.machine.set_reg("rsi", dbg.machine.reg("rsi") + 6)       # "from the guest!\n"...
    target.step()
    assert shown == hello + [(1, b"from the guest!\n\0\0\0\0\0\0")]
    dbg.runner.finish()


def test_stepi_onto_the_end_of_the_log_says_so_then_runs_live():
    """As native gdb with `record full` on the same program (nasm + ld):
    stepi 5, reverse-stepi 2, then single stepis: the one that replays the
    log's last instruction reports "No more reverse-execution history.", the
    next runs live."""
    dbg = Debugger.start(EXAMPLES / "hello.asm", ["hello"], ram_mib=64, echo=lambda *_: None)
    repl = Repl(dbg, show_context=False)
    run(repl, "stepi 5", "reverse-stepi 2")
    assert "No more reverse-execution history" not in run(repl, "stepi")     # the mov
    assert "No more reverse-execution history." in run(repl, "stepi")        # the syscall
    assert dbg.target.step().kind == "step"                                   # live again
    dbg.runner.finish()


# -- the command line ---------------------------------------------------------------------

def test_batch_command_file_and_bad_commands(tmp_path):
    script = tmp_path / "cmds.gdb"
    script.write_text("break sum\nrun\nbt\nfrobnicate\nbreak nowhere\nx/2gx 0\ndelete\ncontinue\n")
    proc = subprocess.run([sys.executable, "-m", "emu", "debug", str(LIST), "--link",
                           str(FIRSTFIT), "-x", str(script), "--batch", "--no-context"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Breakpoint 1, " in out and "#1 " in out
    assert 'Undefined command: "frobnicate".  Try "help".' in out
    assert "break: no symbol 'nowhere' in the program" in out
    assert "x: Cannot access memory at address 0x0" in out
    assert "sum 150" in out and "[Inferior 1 (process 1000) exited with code 0226]" in out
    assert "Traceback" not in proc.stderr


def test_context_is_shown_after_a_stop():
    dbg = Debugger.start(LIST, ["linked_list"], ram_mib=64, link=[FIRSTFIT])
    r = Repl(dbg)
    out = "\n".join(r.execute("break sum") + r.execute("run") + r.execute("stepi"))
    assert "──[ registers ]" in out and "──[ code ]" in out and "──[ stack ]" in out
    assert "──[ source linked_list.c:" in out and " → " in out
    assert "rip*" in out                                  # changed registers are marked
    dbg.runner.finish()


def test_a_store_that_starts_before_the_watched_bytes_still_stops(tmp_path):
    """Unicorn matches hooks on an access's first byte; the target widens them."""
    program = tmp_path / "straddle.asm"
    program.write_text("_start:\n  mov rax, 0x1111111122222222\n  mov [rel val - 4], rax\n"
                       "  mov eax, 60\n  xor edi, edi\n  syscall\n"
                       "section .data\npad: dd 0\nval: dd 0\n")
    dbg = Debugger.start(program, ["straddle"], ram_mib=16)
    r = Repl(dbg, show_context=False)
    out = run(r, "watch val 4", "continue")
    assert "Old value = 0x0" in out and "New value = 0x11111111" in out
    dbg.runner.finish()


def test_backtrace_in_a_function_before_its_frame_is_set_up():
    """clang may test arguments before `push rbp; mov rbp, rsp` (shrink
    wrapping): the caller must still show up as frame #1."""
    dbg = Debugger.start(EXAMPLES / "allocators" / "implicit.c", ["implicit", "20"], ram_mib=64)
    r = Repl(dbg, show_context=False)
    run(r, "break *mm_malloc", "run")
    frames = run(r, "bt").splitlines()
    assert frames[0].startswith("#0  mm_malloc (size=") and " at demo_main.h:" in frames[1]
    assert any(" main (argc=" in f for f in frames[1:])          # demo_* are inlined into main
    run(r, "si 8")                                     # now inside the set-up frame
    frames = run(r, "bt").splitlines()
    assert frames[1].startswith("#1  0x") and " in demo_malloc (" in frames[1], frames
    dbg.runner.finish()

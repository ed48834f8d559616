"""`emu debug --batch` at the C level: what a student types, and what gdb would print.

Programs: tests/fixtures/linked_list.c with asm/allocators/firstfit.asm linked
(C calling an asm allocator), and examples/allocators/implicit.c (clang -O2:
mm_free inlined into its callers, arguments in registers).
"""

from __future__ import annotations

import re
import subprocess
import sys

from emu.debug.lineedit import completions
from tests.conftest import ASM, EXAMPLES, FIXTURES, ROOT

LIST = FIXTURES / "linked_list.c"
FIRSTFIT = ASM / "allocators" / "firstfit.asm"
IMPLICIT = EXAMPLES / "allocators" / "implicit.c"
TIMEOUT = 300


def debug(program, *commands: str, link=(), args=(), env=None, stdin=None, batch=True) -> str:
    argv = [sys.executable, "-m", "emu", "debug", str(program), "--no-context"]
    for path in link:
        argv += ["--link", str(path)]
    for command in commands:
        argv += ["-ex", command]
    if batch:
        argv.append("--batch")
    if args:
        argv += ["--", *args]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
                          env=env, input=stdin)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_linked_asm_has_its_source_lines_breakpoints_and_named_operands():
    line = line_of(FIRSTFIT, "mov rax, [heap_start]")
    out = debug(LIST, f"break firstfit.asm:{line}", "run", "x/2i $pc", "next", "bt 2",
                link=[FIRSTFIT])
    assert f"Breakpoint 1 at 0x40000047: file firstfit.asm, line {line}." in out
    assert f"Breakpoint 1, mm_malloc () at firstfit.asm:{line}\n{line}\t        mov rax, " \
           f"[heap_start]" in out
    assert re.search(r"=> 0x40000047 <mm_malloc\+36>:\tmov rax, qword ptr \[rip \+ 0x[0-9a-f]+\]"
                     r"\s+# 0x40002000 <heap_start>", out), out
    assert f"\n{line + 1}\t        mov rcx, [heap_end]" in out          # next: one asm line
    assert re.search(r"#1  0x[0-9a-f]+ in push \(head=0x0, value=<optimized out>\) at "
                     r"linked_list\.c:13", out), out


def test_print_size_inside_mm_malloc_and_info_args():
    out = debug(IMPLICIT, "break mm_malloc", "run", "p size", "info args", "p/x size",
                "p size * 2", args=["20"])
    first = re.search(r"Breakpoint 1, mm_malloc \(size=(\d+)\) at implicit\.c:\d+", out)
    assert first, out
    size = int(first.group(1))
    assert f"$1 = {size}\nsize = {size}\n$2 = {size:#x}\n$3 = {2 * size}" in out


def test_info_locals_struct_through_a_pointer_and_a_cast():
    out = debug(LIST, "break sum", "run", "info locals", "p *head", "p head->next->value",
                "p *(long *)head", "p *head->next", "whatis head", link=[FIRSTFIT])
    assert "total = 0" in out
    assert re.search(r"\$1 = \{value = 50, next = 0x[0-9a-f]+\}\n\$2 = 40\n\$3 = 50\n"
                     r"\$4 = \{value = 40, next = 0x[0-9a-f]+\}\ntype = struct node \*", out), out


def test_break_mm_free_stops_in_an_inlined_copy():
    out = debug(IMPLICIT, "break mm_free", "info breakpoints", "run", "bt 3", args=["20"])
    assert re.search(r"Breakpoint 1 at 0x[0-9a-f]+: mm_free\. \(4 locations\)", out), out
    assert re.search(r"1\.4\s+y\s+0x[0-9a-f]+ in mm_free at implicit\.c:\d+", out), out
    assert re.search(r"\nBreakpoint 1, (0x[0-9a-f]+ in )?mm_free \(ptr=", out), out
    frames = [line for line in out.splitlines() if line.startswith("#")]
    assert re.match(r"#0  (0x[0-9a-f]+ in )?mm_free \(", frames[0]), frames
    assert frames[1].startswith("#1  demo_free (slot="), frames       # inlined: no address


def test_finish_prints_the_value_returned():
    out = debug(LIST, "break sum", "run", "finish", link=[FIRSTFIT])
    assert re.search(r"Run till exit from #0  sum \(head=0x[0-9a-f]+\) at linked_list\.c:"
                     r"\d+\n.*main \(\) at linked_list\.c:33\n33\t    long total = sum\(list\);"
                     r"\nValue returned is \$1 = 150", out), out


def test_list_around_the_stop_a_function_and_a_line():
    out = debug(LIST, "list sum", "list", "list linked_list.c:33", link=[FIRSTFIT])
    numbers = [int(line.split("\t")[0]) for line in out.splitlines()
               if re.match(r"\d+\t", line)]
    decl = line_of(LIST, "long sum(struct node *head)")
    assert numbers[:10] == list(range(decl - 5, decl + 5))            # centred on sum
    assert numbers[10:20] == list(range(decl + 5, decl + 15))         # and on from there
    assert numbers[20] == 28 and len(numbers) == 30                   # 33: lines 28..37


def test_up_and_frame_1_select_the_caller_and_its_locals():
    out = debug(LIST, "break sum", "run", "up", "info locals", "frame 1", "p list->value",
                "down", "p total", link=[FIRSTFIT])
    assert re.search(r"#1  0x[0-9a-f]+ in main \(\) at linked_list\.c:33\n33\t    long total"
                     r" = sum\(list\);", out), out
    assert re.search(r"list = 0x[0-9a-f]+", out), out
    assert "$1 = 50" in out and "#0  sum (head=" in out and "$2 = 0" in out


def test_watch_a_c_expression_shows_old_and_new_values():
    """head->value is in memory: a hardware-style watchpoint. total is in a
    register at -O2: a software watchpoint, deleted when sum() returns."""
    out = debug(LIST, "break linked_list.c:34", "run", "watch ((long *)list)[-1]", "continue",
                link=[FIRSTFIT])                  # the block's header word, freed by mm_free
    assert re.search(r"\nHardware watchpoint 2: \(\(long \*\)list\)\[-1\]\n\n"
                     r"Old value = 0\nNew value = 1\nmm_free \(\) at firstfit\.asm:\d+", out), out
    out = debug(LIST, "break sum", "run", "watch head->next->value", "watch total",
                "continue", "continue", "delete 2", "continue", "continue", "continue",
                "continue", "continue", link=[FIRSTFIT])
    assert "Hardware watchpoint 2: head->next->value" in out and "Watchpoint 3: total" in out
    assert "\nWatchpoint 3: total\n\nOld value = 0\nNew value = 50\n" in out
    assert "\nWatchpoint 3: total\n\nOld value = 50\nNew value = 90\n" in out
    assert "Old value = 140\nNew value = 150" in out
    assert "Watchpoint 3 deleted because the program has left the block in\n" \
           "which its expression is valid." in out


def test_display_shows_expressions_after_each_stop():
    out = debug(LIST, "break sum", "run", "display total", "display/x head->value", "next",
                "next", link=[FIRSTFIT])
    assert "1: total = 0\n2: /x head->value = 0x32" in out
    assert out.count("1: total = ") >= 3


def test_history_is_kept_across_sessions(tmp_path):
    env = {"EMU_DEBUG_HISTORY": str(tmp_path / "history"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    debug(LIST, link=[FIRSTFIT], env=env, stdin="break sum\ninfo breakpoints\nquit\n",
          batch=False)
    out = debug(LIST, link=[FIRSTFIT], env=env, stdin="show commands\nquit\n", batch=False)
    assert re.search(r"1  break sum\n\s+2  info breakpoints\n\s+3  quit", out), out
    assert (tmp_path / "history").read_text().startswith("break sum\ninfo breakpoints\n")


def test_tab_completes_commands_info_topics_and_symbols():
    commands = ["break", "backtrace", "bt", "info", "next"]
    topics = ["registers", "locals", "args"]
    assert completions("ba", "", commands, topics, lambda: []) == ["backtrace"]
    assert completions("lo", "info ", commands, topics, lambda: []) == ["locals"]
    assert completions("mm_", "break ", commands, topics,
                       lambda: ["mm_free", "mm_malloc", "main"]) == ["mm_free", "mm_malloc"]


def test_startup_takes_under_a_second_of_cpu_with_a_cached_build():
    """CPU time, not wall time: the machine running the tests may be busy."""
    import resource
    debug(IMPLICIT, "quit")                                    # builds and caches
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    debug(IMPLICIT, "quit")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    assert cpu < 1.0, f"emu debug took {cpu:.2f} s of CPU to start"

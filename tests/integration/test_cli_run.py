"""`emu run`: what a person sees, what --json gives scripts, and bad input."""

import json

import pytest

from tests.conftest import ASM, EXAMPLES, FIXTURES
from tests.integration.test_cli import emu


def test_run_prints_the_guest_output_and_returns_its_status():
    proc = emu("run", EXAMPLES / "programs" / "mallocfun.c", "--libc", "musl", "--", "9",
               ok=False)
    assert proc.returncode == 7
    assert proc.stdout.endswith("argv[1]=9 done\n")


def test_strace_and_maps():
    proc = emu("run", EXAMPLES / "hello.asm", "--strace", "--maps")
    assert 'write(1, "Hello from the guest!\\n", 22) = 22' in proc.stderr
    assert "exit(0) = 0" in proc.stderr
    assert "r-xp      4 KiB" in proc.stdout and "[stack]" in proc.stdout
    assert "2 system calls" in proc.stdout


def test_json_has_the_documented_shape():
    out = json.loads(emu("run", FIXTURES / "munmap_all.c", "--json").stdout)
    assert set(out) == {"exit_code", "stdout", "fault", "syscalls", "maps", "brk",
                        "pages_mapped", "page_faults", "processes"}
    (only,) = out["processes"]
    assert set(only) == {"pid", "ppid", "exit_code", "signal", "status", "page_faults",
                         "pages_shared_at_exit", "pages_mapped", "syscalls"}
    assert only["pid"] == 1000 and only["page_faults"]["copy_on_write"] == 0
    assert out["exit_code"] == 0 and out["stdout"] == "7 24\n" and out["fault"] is None
    assert "[stack]" in {m["name"] for m in out["maps"]}    # the program unmapped its [anon]
    assert all(set(m) == {"start", "end", "perms", "name"} for m in out["maps"])
    assert out["brk"]["start"] <= out["brk"]["end"] and out["page_faults"] > 0


def test_a_guest_fault_is_reported_and_exits_139():
    proc = emu("run", FIXTURES / "null_write.c", ok=False)
    assert proc.returncode == 139 and proc.stdout == "before\n"
    assert "SIGSEGV: page fault: write at 0x10: not present (user mode)" in proc.stderr
    out = json.loads(emu("run", FIXTURES / "null_write.c", "--json", ok=False).stdout)
    assert out["fault"] == {"address": 16, "access": "write",
                            "rip": out["fault"]["rip"], "reason": "not present"}
    assert out["exit_code"] is None


def test_a_runaway_loop_ends_with_124():
    proc = emu("run", FIXTURES / "spin.c", "--timeout", "0.3", ok=False)
    assert proc.returncode == 124 and "budget exceeded" in proc.stderr


def test_an_asm_allocator_links_with_a_c_program(tmp_path):
    program = tmp_path / "use.c"
    program.write_text(
        '#include <stdio.h>\n#include <string.h>\n#include "memlib.h"\n'
        "int mm_init(void); void *mm_malloc(size_t); void mm_free(void *);\n"
        "extern const char mm_name[];\n"
        "int main(void) { mm_init(); char *a = mm_malloc(20); strcpy(a, \"ok\");\n"
        "  printf(\"%s %s\", mm_name, a); mm_free(a); char *b = mm_malloc(20);\n"
        "  printf(\" %d\\n\", a == b); return 0; }\n")
    assert emu("run", program, "--link", ASM / "allocators" / "firstfit.asm").stdout == \
        "firstfit ok 1\n"
    assert emu("run", program, "--link", ASM / "allocators" / "bump.asm").stdout == \
        "bump ok 0\n"


@pytest.mark.parametrize("args,words", [
    (["run", "nope.c"], "nope.c: no such file"),
    (["run", FIXTURES / "spin.c", "--libc", "glibc"], "invalid choice: 'glibc'"),
    (["run", FIXTURES / "spin.c", "--ram-mib", "5"], "multiple of 2 MiB"),
    (["run", EXAMPLES / "hello.asm", "--link", ASM / "allocators" / "bump.asm"],
     "only a .c program can be linked"),
])
def test_bad_input_is_one_line_and_exit_2(args, words):
    proc = emu(*args, ok=False)
    assert proc.returncode == 2 and words in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_a_non_elf_file_is_refused_in_one_line(tmp_path):
    script = tmp_path / "prog"
    script.write_text("#!/bin/sh\n")
    proc = emu("run", script, ok=False)
    assert proc.returncode == 2 and "not an ELF file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_compiler_errors_are_shown_as_the_compiler_wrote_them():
    proc = emu("run", FIXTURES / "bad.c", ok=False)
    assert proc.returncode == 2
    assert "bad.c:1:" in proc.stderr and "undeclared_variable" in proc.stderr
    assert "Traceback" not in proc.stderr

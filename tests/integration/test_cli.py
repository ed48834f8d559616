"""The `emu` command: outputs people and scripts read, and bad input."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ASM, ROOT


def emu(*args, ok=True):
    proc = subprocess.run([sys.executable, "-m", "emu", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_call_json_has_the_documented_shape():
    out = json.loads(emu("call", ASM / "os_mem_allocate.asm", "os_mem_allocate",
                         "--reg", "rcx=3", "--ram-mib", "64", "--json").stdout)
    assert out["registers"]["rax"] == 29 << 21
    assert set(out["registers"]) == {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                     "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                                     "rip", "rflags"}
    assert out["memory_map"] == {"chunk_bytes": 2097152, "total": 32, "free": 28, "used": 4}
    assert out["fault"] is None


def test_call_shows_registers_and_the_memory_map():
    out = emu("call", ASM / "os_mem_allocate.asm", "os_mem_allocate", "--reg", "rcx=2",
              "--ram-mib", "16", "--show", "memmap").stdout
    assert "rax 0x0000000000c00000" in out
    assert "|#.....##|" in out


def test_call_reports_a_guest_fault_with_exit_139(tmp_path):
    bad = tmp_path / "bad.asm"
    bad.write_text("poke:\n  mov qword [0], 1\n  ret\n")
    proc = emu("call", bad, "poke", "--json", ok=False)
    assert proc.returncode == 139
    fault = json.loads(proc.stdout)["fault"]
    assert fault == {"address": 0, "access": "write", "rip": 0x100010, "reason": "not present"}
    text = emu("call", bad, "poke", ok=False).stdout
    assert "SIGSEGV: page fault: write at 0x0: not present (kernel mode)" in text
    assert "<poke>: mov qword ptr [0], 1" in text


def test_pt_walks_the_kernel_tables():
    out = emu("pt", "os_MemoryMap", "--ram-mib", "64").stdout
    assert "PT[ 16]" in out and "=> physical 0x10000 (4 KiB page, supervisor" in out
    walk = json.loads(emu("pt", "0x3a00123", "--ram-mib", "64", "--json").stdout)
    assert walk["paddr"] == 0x3a00123 and walk["page_size"] == 2 << 20
    assert [lvl["level"] for lvl in walk["levels"]] == ["PML4", "PDPT", "PD"]


def test_memmap_shows_runs():
    out = emu("memmap", "--ram-mib", "8").stdout
    assert "4 chunks of 2 MiB (8 MiB RAM): 3 free, 1 used" in out
    data = json.loads(emu("memmap", "--ram-mib", "8", "--json").stdout)
    assert data["free"] == 3 and data["runs"][0]["state"] == "used"


def test_demo_runs():
    out = emu("demo").stdout
    assert "os_mem_allocate rcx=4" in out and "Page walk of" in out


@pytest.mark.parametrize("args,words", [
    (["call", "missing.asm", "x"], "missing.asm: no such file"),
    (["call", ASM / "os_mem_allocate.asm", "nope"], "unknown symbol 'nope'"),
    (["call", ASM / "os_mem_allocate.asm", "os_mem_allocate", "--reg", "rzz=1"],
     "unknown register 'rzz'"),
    (["call", ASM / "os_mem_allocate.asm", "os_mem_allocate", "--reg", "rcx=twelve"],
     "'twelve' is not a number"),
    (["call", ASM / "os_mem_allocate.asm", "os_mem_allocate", "--reg", "rcx=0x1" + "0" * 17],
     "does not fit in 64 bits"),
    (["memmap", "--ram-mib", "3"], "multiple of 2 MiB"),
    (["memmap", "--ram-mib", str(256 * 1024)], "at most 128 GiB"),
    (["pt", "not_a_symbol"], "neither an address nor a known symbol"),
])
def test_bad_input_is_one_line_and_exit_2(args, words):
    proc = emu(*args, ok=False)
    assert proc.returncode == 2
    assert words in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_asm_file_with_errors_names_file_and_line(tmp_path):
    bad = tmp_path / "broken.asm"
    bad.write_text("start:\n  nop\n  mov rax,, 1\n  ret\n")
    proc = emu("call", bad, "start", ok=False)
    assert proc.returncode == 2
    assert f"{bad}:3:" in proc.stderr and "mov rax,, 1" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

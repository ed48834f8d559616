"""Programs as processes: output, exit status, faults, budgets, memory coming back."""

import shutil
import struct
import subprocess

import pytest

from emu import Budget, Machine
from emu.assembler import assemble
from emu.elf import image_from_program, read_elf
from emu.errors import EXIT_SOFTWARE, CompileError, ELFLoadError, KernelPanic
from emu.loader import load_program
from emu.runner import ProcessRunner
from emu.toolchain import build
from tests.conftest import EXAMPLES, FIXTURES

BUDGET = Budget(seconds=60)


def run(path, *args, ram_mib=64, budget=BUDGET, machine=None, **kw):
    machine = machine or Machine(ram_mib=ram_mib)
    image = load_program(path, **kw) if not isinstance(path, type(read_elf)) else path
    return ProcessRunner(machine, image, [str(path), *args]).run(budget)


def test_hello_asm_prints_and_exits_zero():
    result = run(EXAMPLES / "hello.asm")
    assert (result.exit_code, result.stdout) == (0, b"Hello from the guest!\n")
    assert result.syscalls == 2 and result.fault is None


def test_argv_reaches_a_c_program_and_its_exit_status_comes_back():
    result = run(EXAMPLES / "programs" / "mallocfun.c", "50", libc="musl")
    assert result.stdout.endswith(b"argv[1]=50 done\n") and result.exit_code == 7


def test_a_null_write_is_a_sigsegv_naming_the_function():
    result = run(FIXTURES / "null_write.c")
    assert result.stdout == b"before\n" and result.exit_code is None
    assert result.status == 139
    fault = result.fault
    assert (fault.address, fault.access, fault.reason) == (0x10, "write", "not present")
    assert fault.symbol.startswith("poke") and "mov dword ptr [rdi], 0x2a" in fault.instruction


def test_mprotect_then_write_faults_as_write_to_read_only():
    result = run(FIXTURES / "mprotect_write.c")
    assert result.stdout == b"read 1\n"
    assert (result.fault.access, result.fault.reason) == ("write", "write to read-only")


def test_an_infinite_loop_ends_with_the_budget():
    result = run(FIXTURES / "spin.c", budget=Budget(seconds=0.5))
    assert result.stopped == "budget" and result.status == 124
    assert "budget exceeded" in result.message


def test_heap_growth_stops_when_ram_runs_out_and_the_program_sees_it():
    result = run(FIXTURES / "hog.c", ram_mib=32)
    assert result.exit_code == 0
    got = int(result.stdout.split()[1])
    assert 20 <= got < 32


def test_touching_more_than_ram_is_an_out_of_memory_kill():
    result = run(FIXTURES / "hog.c", "mmap", ram_mib=32)
    assert result.stopped == "oom" and result.status == 137
    assert "out of memory" in result.message


def test_every_frame_and_chunk_comes_back_after_munmap_and_exit():
    machine = Machine(ram_mib=64)
    boot_free = machine.memory_map.free_count()
    result = run(FIXTURES / "munmap_all.c", machine=machine)
    assert result.stdout == b"7 24\n" and result.exit_code == 0
    assert machine.memory_map.free_count() == boot_free
    assert machine.frames.frames_in_use == 0
    for program in ("null_write.c", "hog.c"):           # a fault and an exhausted heap
        run(FIXTURES / program, machine=machine)
        assert machine.memory_map.free_count() == boot_free


def test_compile_errors_are_the_compilers_own():
    with pytest.raises(CompileError) as info:
        load_program(FIXTURES / "bad.c")
    assert "undeclared_variable" in str(info.value) and "bad.c:1" in str(info.value)


def _elf_header(elf_class: int, machine: int) -> bytes:
    ident = b"\x7fELF" + bytes([elf_class, 1, 1]) + bytes(9)
    return ident + struct.pack("<HHI", 2, machine, 1) + bytes(48)


@pytest.mark.parametrize("data,words", [
    (b"#!/bin/sh\necho hi\n", "not an ELF file"),
    (_elf_header(1, 3), "32-bit ELF"),
    (_elf_header(2, 183), "AArch64, not x86-64"),
    (b"\x7fELF\x02\x01\x01" + bytes(20), "corrupt ELF"),
])
def test_files_that_are_not_static_x86_64_elfs_are_refused(tmp_path, data, words):
    path = tmp_path / "prog"
    path.write_bytes(data)
    with pytest.raises(ELFLoadError, match=words):
        read_elf(path)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_a_dynamic_elf_is_refused(tmp_path):
    subprocess.run(["gcc", "-o", tmp_path / "dyn", FIXTURES / "spin.c"], check=True)
    with pytest.raises(ELFLoadError, match="dynamically linked .*build it with -static"):
        read_elf(tmp_path / "dyn")


def native_and_emulated(elf, *args):
    native = subprocess.run([elf, *args], capture_output=True, timeout=60)
    result = ProcessRunner(Machine(ram_mib=256), read_elf(elf), [str(elf), *args]).run(BUDGET)
    return native, result


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_a_gcc_static_glibc_program_prints_what_it_prints_natively(tmp_path):
    elf = tmp_path / "mallocfun"
    subprocess.run(["gcc", "-static", "-O2", "-o", elf, EXAMPLES / "programs" / "mallocfun.c"],
                   check=True)
    native, result = native_and_emulated(elf, "300")
    assert result.stdout == native.stdout and result.exit_code == native.returncode == 7


def test_a_zig_musl_program_prints_what_it_prints_natively():
    elf = build([EXAMPLES / "programs" / "mallocfun.c"], libc="musl")
    native, result = native_and_emulated(elf, "300")
    assert result.stdout == native.stdout and result.exit_code == native.returncode == 7


@pytest.mark.parametrize("vaddr", [0x0, 0xFFFF_8000_0040_0000, 0x7FFF_FFF0_0000])
def test_segments_outside_user_memory_are_refused(tmp_path, vaddr):
    """A segment at NULL, in the kernel half, or over the stack is refused."""
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, vaddr, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, vaddr, vaddr, 120, 120, 0x1000)
    path = tmp_path / "prog"
    path.write_bytes(header + phdr)
    with pytest.raises(ELFLoadError, match="outside user memory"):
        read_elf(path)


def test_a_kernel_panic_on_the_guests_behalf_stops_the_process_not_the_host(monkeypatch):
    from kernel.syscalls import TABLE, Syscall

    def panicking_write(proc, fd, buf, count):
        raise KernelPanic("sys_write: the output table is corrupt")
    monkeypatch.setitem(TABLE, 1, Syscall("write", panicking_write, ("fd", "buf", "size")))
    result = run(EXAMPLES / "hello.asm")
    assert result.stopped == "panic" and "sys_write: the output table" in result.message
    assert result.status == EXIT_SOFTWARE


def test_a_python_bug_in_a_syscall_is_not_taken_for_a_guest_problem(monkeypatch):
    """Only KernelPanic stops the process; any other exception is a bug the
    caller sees (the CLI reports it as an internal error)."""
    from kernel.syscalls import TABLE, Syscall
    broken = Syscall("write", lambda proc, fd, buf, count: 1 // 0, ("fd", "buf", "size"))
    monkeypatch.setitem(TABLE, 1, broken)
    with pytest.raises(ZeroDivisionError):
        run(EXAMPLES / "hello.asm")


def test_a_process_runs_its_own_code_on_frames_its_predecessor_ran_code_from():
    """Unicorn's write looks physical addresses up as virtual ones before dropping
    translated code; the machine drops it itself (Machine._code_written)."""
    machine = Machine(ram_mib=64)
    first = assemble("_start: mov eax, 60\nmov edi, 1\nsyscall", base=0x400000,
                     page_aligned=True)
    second = assemble("_start: mov eax, 60\nmov edi, 2\nsyscall", base=0x400000,
                      page_aligned=True)
    runners = [ProcessRunner(machine, image_from_program(first), ["one"])]
    assert runners[0].run(BUDGET).exit_code == 1
    runners.append(ProcessRunner(machine, image_from_program(second), ["two"]))
    assert runners[1].run(BUDGET).exit_code == 2

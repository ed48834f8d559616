"""Bad input from outside is one clear line and a documented exit status, never a
traceback: the cases a fuzz campaign found (issue 8), each a class to guard."""

import struct

import pytest
from elftools.elf.elffile import ELFFile

from emu.assembler import assemble
from emu.toolchain import build
from tests.conftest import EXAMPLES, FIXTURES
from tests.integration.test_cli import emu

ELF_ENTRY, ELF_PHOFF, ELF_SHOFF = 0x18, 0x20, 0x28
ELF_SHENTSIZE, ELF_SHNUM = 0x3A, 0x3C
SH_TYPE, SH_OFFSET = 0x04, 0x18
SHT_PROGBITS = 1


def one_line_error(proc, status: int, words: str) -> None:
    assert proc.returncode == status, proc.stderr
    assert words in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def elf_bytes() -> bytes:
    """A static executable with a symbol table, built once (runtime flavour)."""
    return build([FIXTURES / "counter.c"]).read_bytes()


def mutated(tmp_path, data: bytes, offset: int, fmt: str, value: int, name="prog"):
    raw = bytearray(data)
    struct.pack_into(fmt, raw, offset, value)
    path = tmp_path / name
    path.write_bytes(bytes(raw))
    return path


def section_header(data: bytes, name: str) -> int:
    """The file offset of section `name`'s header."""
    import io
    elf = ELFFile(io.BytesIO(data))
    index = next(i for i, s in enumerate(elf.iter_sections()) if s.name == name)
    shoff, = struct.unpack_from("<Q", data, ELF_SHOFF)
    entsize, = struct.unpack_from("<H", data, ELF_SHENTSIZE)
    return shoff + index * entsize


def test_an_elf_whose_program_headers_lie_past_2_to_the_64_is_refused(tmp_path, elf_bytes):
    path = mutated(tmp_path, elf_bytes, ELF_PHOFF, "<Q", 2**64 - 1)
    one_line_error(emu("run", path, ok=False), 2, "corrupt ELF file")


def test_an_elf_whose_entry_lies_outside_user_memory_is_refused_as_linux_does(tmp_path,
                                                                               elf_bytes):
    path = mutated(tmp_path, elf_bytes, ELF_ENTRY, "<Q", 2**64 - 0x1000)
    one_line_error(emu("run", path, ok=False), 2, "entry point")


def test_an_elf_with_a_section_offset_near_2_to_the_63_still_runs(tmp_path, elf_bytes):
    """Sections do not matter for running; symbols and debug info are optional."""
    at = section_header(elf_bytes, ".symtab")
    path = mutated(tmp_path, elf_bytes, at + SH_OFFSET, "<Q", 2**63 - 5)
    proc = emu("run", path, ok=False)
    assert proc.returncode == 6 and proc.stdout == "counter 6\n", proc.stderr


def test_an_elf_whose_symtab_is_no_longer_a_symbol_table_runs_without_symbols(tmp_path,
                                                                               elf_bytes):
    at = section_header(elf_bytes, ".symtab")
    path = mutated(tmp_path, elf_bytes, at + SH_TYPE, "<I", SHT_PROGBITS)
    proc = emu("run", path, ok=False)
    assert proc.returncode == 6 and proc.stdout == "counter 6\n", proc.stderr
    debug = emu("debug", path, "--batch", "-ex", "stepi", "-ex", "bt", ok=False)
    assert debug.returncode == 0 and "Traceback" not in debug.stderr


def minimal_elf(code: bytes, padding: int) -> bytes:
    """An ET_EXEC with one RWX PT_LOAD at 0x400000 holding `code` then
    `padding` file bytes (what a large initialised array makes)."""
    base, header, phdr = 0x400000, 64, 56
    size = header + phdr + len(code) + padding
    elf = struct.pack("<4sBBBB8xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 2, 62, 1,
                      base + header + phdr, header, 0, 0, header, phdr, 1, 64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 7, 0, base, base, size, size, 0x1000)
    return elf + load + code + bytes(padding)


def test_a_program_larger_than_the_machine_is_an_oom_kill_with_a_clear_line(tmp_path):
    code = assemble("mov eax, 60\nxor edi, edi\nsyscall", base=0).image()
    big = tmp_path / "big"
    big.write_bytes(minimal_elf(code, 12 << 20))
    one_line_error(emu("run", big, "--ram-mib", "8", ok=False), 137,
                   "out of memory: no free frame")
    small = tmp_path / "small"
    small.write_bytes(minimal_elf(code, 0))
    assert emu("run", small, "--ram-mib", "8").returncode == 0


def test_a_large_bss_is_demand_paged_as_on_linux(tmp_path):
    """Only the pages with file bytes are mapped when loading; 64 MiB of bss
    runs on a 16 MiB machine as long as it is not touched."""
    prog = tmp_path / "bss.asm"
    prog.write_text("section .bss\nspace: resb 64 * 1024 * 1024\nsection .text\n"
                    "_start: mov byte [space + 100], 1\n mov eax, 60\n movzx edi, byte [space + 100]\n"
                    " syscall\n")
    proc = emu("run", prog, "--ram-mib", "16", "--json", ok=False)
    assert proc.returncode == 1, proc.stderr


@pytest.mark.parametrize("command", ["run", "debug", "gdbserver", "malloclab"])
def test_a_300_character_file_name_is_one_line(command):
    name = "a" * 300 + ".c"
    args = ["implicit", name] if command == "malloclab" else [name]
    one_line_error(emu(command, *args, ok=False), 2, "file name too long")


def test_a_folder_given_as_a_program_is_one_line(tmp_path):
    one_line_error(emu("run", tmp_path, ok=False), 2, "is a folder")


def test_a_trace_header_with_2_to_the_64_ids_is_one_line(tmp_path):
    trace = tmp_path / "huge.rep"
    trace.write_text(f"20000\n{2**64}\n2\n1\na 0 16\nf 0\n")
    one_line_error(emu("malloclab", "implicit", trace, ok=False), 2,
                   "huge.rep:2: header: the number of ids")


@pytest.mark.parametrize("args,words", [
    (["malloclab", "implicit", EXAMPLES / "traces" / "lifo.rep",
      "--sample-every", "999999999999999999999"], "--sample-every"),
    (["malloclab", "implicit", EXAMPLES / "traces" / "lifo.rep", "--tref", "inf"], "--tref"),
    (["run", EXAMPLES / "hello.asm", "--max-insns", "99999999999999999999999"], "--max-insns"),
    (["run", EXAMPLES / "hello.asm", "--timeout", "1e300"], "--timeout"),
    (["run", EXAMPLES / "hello.asm", "--timeout", "nan"], "--timeout"),
    (["debug", EXAMPLES / "hello.asm", "--history", "999999999999999999999"], "--history"),
    (["gdbserver", EXAMPLES / "hello.asm", "--port", "70000"], "--port"),
])
def test_numbers_out_of_range_are_refused_by_the_parser(args, words):
    one_line_error(emu(*args, ok=False), 2, words)


def test_a_build_that_outlasts_the_time_budget_is_a_budget_stop(tmp_path):
    slow = tmp_path / "slow.c"
    slow.write_text("int main(void) { return 0; }\n")
    proc = emu("run", slow, "--cc", "sh -c 'sleep 5'", "--timeout", "0.5", ok=False)
    one_line_error(proc, 124, "building the program took more than the 0.5-second budget")


def test_an_internal_error_is_one_line_with_exit_70_and_a_request_to_report(monkeypatch,
                                                                           capsys):
    from emu import cli
    from emu.cli import memmap

    def broken(args):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(memmap, "run", broken)
    status = cli.main(["memmap"])
    err = capsys.readouterr().err
    assert status == 70
    assert err.count("\n") == 1 and "internal error: ZeroDivisionError: a bug" in err
    assert "please report" in err and "Traceback" not in err
    monkeypatch.setenv("EMU_DEBUG", "1")
    assert cli.main(["memmap"]) == 70
    assert "Traceback" in capsys.readouterr().err

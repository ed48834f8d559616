"""The NASM front end: keystone's traps are caught, NASM's choices are made,
errors name the line. Expected bytes below are NASM 2.16's, each with its
disassembly; tests/nasm/ compares thousands more against recorded NASM output."""

import time

import pytest
from keystone import KS_ARCH_X86, KS_MODE_64, Ks

from emu import AssemblyError, Machine
from emu import disasm
from emu.assembler import assemble
from emu.assembler.encode import Encoder

ALU = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "mov", "test"]


def one(source, base=0x100000, **symbols):
    program = assemble(source, base=base, symbols=symbols)
    insns = disasm.decode_many(bytes(program.section(".text").data), base)
    return [disasm.text(i) for i in insns]


def text_bytes(source, base=0x400000):
    return bytes(assemble(source, base=base).section(".text").data)


def error_of(source, file="t.asm"):
    with pytest.raises(AssemblyError) as info:
        assemble(source, file=file, base=0x400000)
    return info.value


# -- keystone's traps -------------------------------------------------------------------

def test_keystone_alone_miscompiles_mov_r64_from_an_absolute_address():
    """The trap this front end exists for: keystone makes it RIP-relative."""
    encoding, _ = Ks(KS_ARCH_X86, KS_MODE_64).asm("mov rbx, [0x900000]", 0x100000)
    insn = disasm.decode(bytes(encoding), 0x100000, detail=True)
    assert "rip" in disasm.text(insn)           # loads from 0x100007 + 0x900000


def test_absolute_operands_are_encoded_absolute():
    assert one("mov rbx, [0x900000]") == ["mov rbx, qword ptr [0x900000]"]
    assert one("mov rcx, [os_MemAmount]", os_MemAmount=0x1000) == ["mov rcx, qword ptr [0x1000]"]
    assert one("inc qword [0x900000]") == ["inc qword ptr [0x900000]"]
    assert one("lea rdi, [0x123456]") == ["lea rdi, [0x123456]"]


def test_the_guest_loads_from_the_address_written(machine):
    machine.ram.write(0x900000, (0x5A5A).to_bytes(8, "little"))
    machine.ram.write(0x900007 + 0x100000, (0xBAD).to_bytes(8, "little"))
    machine.load_source("load:\n  mov rbx, [0x900000]\n  ret\n")
    assert machine.call("load")["rbx"] == 0x5A5A


def test_rel_operands_are_rip_relative_and_point_at_the_label():
    program = assemble("lea rsi, [rel msg]\nmsg: db 'x'", base=0x100000)
    insn = disasm.decode(bytes(program.section(".text").data), 0x100000, detail=True)
    assert disasm.text(insn) == "lea rsi, [rip]"         # msg follows immediately
    program = assemble("default rel\nmov eax, [val]\nnop\nval: dd 7", base=0x200000)
    insn = disasm.decode(bytes(program.section(".text").data), 0x200000, detail=True)
    assert insn.op_str.endswith("[rip + 1]")


def test_branches_to_labels_and_symbols_land_exactly():
    program = assemble("jmp target\ncall os_thing\ntimes 300 nop\ntarget: ret",
                       base=0x100000, symbols={"os_thing": 0x100800})
    insns = disasm.decode_many(bytes(program.section(".text").data), 0x100000, 2)
    assert disasm.text(insns[0]) == f"jmp {program.symbols['target']:#x}"
    assert disasm.text(insns[1]) == "call 0x100800"


def test_expressions_with_symbols_are_evaluated_by_the_front_end():
    assert one("mov rsi, os_MemoryMap + 1", os_MemoryMap=0x10000) == ["mov esi, 0x10001"]
    assert one("a:\nnop\nb:\nmov rcx, b - a") == ["nop", "mov ecx, 1"]


def test_near_forces_a_32_bit_displacement():
    assert text_bytes("jmp near next\nnext: nop")[:5] == bytes.fromhex("e900000000")  # jmp $+5


def test_text_starts_exactly_at_the_base():
    assert assemble("t: nop", base=0x100008).symbols["t"] == 0x100008


# -- issue 9, part 1: never silently wrong ------------------------------------------------

@pytest.mark.parametrize("op,reg", [(op, reg) for op in ALU + ["lea"]
                                    for reg in ("rcx", "ecx", "cx", "cl")
                                    if (op, reg) != ("lea", "cl")])
def test_rsp_written_as_index_becomes_the_base_as_in_nasm(op, reg):
    """keystone dropped the rsp: [rbp + rsp*1] became [rbp]. NASM swaps them."""
    for address, meant in [("[rbp + rsp*1]", "rsp + rbp"), ("[rax + rsp]", "rsp + rax"),
                           ("[r12 + rsp]", "rsp + r12"), ("[rsp*1 + rbx]", "rsp + rbx")]:
        (text,) = one(f"{op} {reg}, {address}")
        assert f"[{meant}]" in text, (op, address, text)


def test_pushf_popf_and_sysret_have_nasm_operand_sizes():
    assert text_bytes("pushf\npopf") == bytes.fromhex("9c9d")     # pushfq; popfq
    assert text_bytes("sysret") == bytes.fromhex("0f07")           # sysret (32-bit return)


def test_rip_plus_offset_is_refused_with_nasm_spelling():
    err = error_of("mov rax, [rip + 0x10]")
    assert "[rel x]" in err.message and err.line == 1


def test_every_operand_is_checked_after_encoding(monkeypatch):
    """An encoding that decodes to something else is refused, naming both."""
    wrong = bytes.fromhex("488b442500")                # mov rax, qword ptr [rbp] (no rsp)
    monkeypatch.setattr(Encoder, "_keystone", lambda self, text, address, branch=False: wrong)
    err = error_of("mov rax, [rsp + rbp]")
    assert "refusing" in err.message and "[rbp" in err.message and err.line == 1


# -- issue 9, part 2: never fatal -------------------------------------------------------

@pytest.mark.parametrize("source", ["movzx rax, ah", "movsx r8d, ah", "mov ah, sil",
                                    "mov ah, [r8]", "xchg bh, r9b", "crc32 rax, ch",
                                    "add dh, spl", "movzx r12w, bh"])
def test_high_byte_registers_with_rex_are_refused_before_keystone_aborts(source):
    err = error_of(source)
    assert "high byte register" in err.message and err.line == 1


@pytest.mark.parametrize("op", ["rcl", "rcr", "rol", "ror", "shl", "shr", "sar", "sal"])
def test_shift_by_one_of_memory_encodes(op):
    (text,) = one(f"{op} byte [rdi], 1")
    assert text.startswith(("shl" if op == "sal" else op) + " byte ptr [rdi]")


def test_anything_keystone_raises_becomes_an_assembly_error(monkeypatch):
    def explode(self, text, address=0, as_bytes=False):
        raise ValueError("negative shift count")
    monkeypatch.setattr(Ks, "asm", explode)
    err = error_of("nop\nadd rax, 1", file="x.asm")
    assert (err.file, err.line) == ("x.asm", 1) and "ValueError" in err.message


# -- issue 9, part 3: the NASM people write ------------------------------------------------

def test_labels_without_a_colon_before_data_and_instructions():
    program = assemble("start mov eax, 1\nmsg db 'hi', 0\nsection .bss\nbuf resb 64\n",
                       base=0x400000)
    assert program.symbols["start"] == 0x400000 and program.symbols["msg"] == 0x400005
    assert program.section(".bss").size == 64 and "buf" in program.labels


def test_a_label_alone_without_a_colon_warns_as_nasm_does():
    program = assemble("lbl\nnop", file="t.asm", base=0x400000)
    assert program.symbols["lbl"] == 0x400000
    assert program.warnings == ["t.asm:1: warning: label 'lbl' alone on a line without a "
                                "colon might be in error"]


def test_size_keyword_glued_to_the_bracket():
    assert one("mov eax, DWORD[rbx]\nadd QWORD[rsp+8], 1") == \
        ["mov eax, dword ptr [rbx]", "add qword ptr [rsp + 8], 1"]


def test_floating_point_data():
    data = bytes(assemble("section .data\nd: dd 3.14\nq: dq 1.5e3\nf: dd __float32__(1.5)",
                          base=0x400000).section(".data").data)
    assert data == bytes.fromhex("c3f54840" "0000000000709740" "0000c03f")


def test_org_and_bits_in_both_spellings():
    assert text_bytes("[BITS 64]\n[ORG 0x400000]\nbits 64\norg 0x400000\nnop") == b"\x90"
    assert "not where this code is placed" in error_of("org 0x7c00\nnop").message
    assert "64" in error_of("bits 32").message


def test_strict_forces_the_immediate_size():
    assert text_bytes("push strict dword 5") == bytes.fromhex("6805000000")   # push 5 (imm32)
    assert text_bytes("push 5") == bytes.fromhex("6a05")                      # push 5 (imm8)


def test_dw_of_a_large_value_truncates_with_nasm_warning():
    program = assemble("section .data\nw: dw 70000", file="t.asm", base=0x400000)
    assert bytes(program.section(".data").data) == (70000 & 0xFFFF).to_bytes(2, "little")
    assert program.warnings and "t.asm:2: warning: word data exceeds bounds" in program.warnings[0]


def test_mov_r64_imm_is_nasm_mov_r32_when_it_fits_unsigned():
    assert text_bytes("mov rax, 5") == bytes.fromhex("b805000000")               # mov eax, 5
    assert text_bytes("mov rax, 0xffffffff") == bytes.fromhex("b8ffffffff")      # mov eax, -1
    assert text_bytes("mov rax, -1") == bytes.fromhex("48c7c0ffffffff")          # mov rax, -1
    assert text_bytes("mov rax, 1 << 40") == bytes.fromhex("48b80000000000010000")  # movabs


def test_absolute_address_is_disp32_not_movabs_and_labels_follow_nasm():
    program = assemble("mov rax, [0x1000]\nafter: nop", base=0x400000)
    assert bytes(program.section(".text").data)[:8] == \
        bytes.fromhex("488b042500100000")                      # mov rax, qword ptr [0x1000]
    assert program.symbols["after"] == 0x400008                # NASM's address for it
    assert text_bytes("mov rax, [qword 0x1000]") == \
        bytes.fromhex("48a10010000000000000")                  # movabs rax, [0x1000]


@pytest.mark.parametrize("source,words", [
    ("mov rax 5", "comma expected after 'rax'"),
    ("mov rzx, 5", "undefined symbol 'rzx'"),
    ("mov [rax], 5", "operation size not specified"),
    ("mov [rax], [rbx]", "at most one memory operand"),
    ("add eax, rbx", "mismatch in operand sizes: eax is 32-bit, rbx is 64-bit"),
    ("push eax", "not supported in 64-bit mode"),
    ("mvo rbx, 2", "'mvo' is not an instruction"),
    ("mov rax, [rax", "malformed memory operand"),
    ("mov rax, [rbx*3 + rcx]", "scale must be 1, 2, 4 or 8"),
    ("jmp short away\ntimes 200 nop\naway:", "short jump is out of range"),
])
def test_errors_say_what_is_wrong_in_the_source_terms(source, words):
    err = error_of(source)
    assert words in err.message and err.line == 1 and err.source == source.split("\n")[0]


def test_a_too_large_immediate_is_cut_with_nasm_warning():
    program = assemble("mov byte [rdi], 300", file="t.asm", base=0x400000)
    assert bytes(program.section(".text").data) == bytes.fromhex("c6072c")   # mov byte [rdi], 0x2c
    assert "byte value exceeds bounds" in program.warnings[0]


def test_a_syntax_error_reports_its_line_and_text():
    err = error_of("nop\nmov rax, 1\nmvo rbx, 2\nret\n", file="bad.asm")
    assert (err.file, err.line, err.source) == ("bad.asm", 3, "mvo rbx, 2")
    assert str(err).startswith("bad.asm:3: ")


@pytest.mark.parametrize("source,line,words", [
    ("nop\nnop\njmp nowhere\n", 3, "undefined symbol 'nowhere'"),
    ("x:\nnop\nx:\n", 3, "defined twice"),
    ("section .weird\n", 1, "unknown section"),
    ("%if 1\nnop\n", 0, "%endif"),
])
def test_front_end_errors_name_the_line(source, line, words):
    err = error_of(source)
    assert err.line == line and words in str(err)


def test_data_directives_strings_times_and_bss():
    program = assemble("section .data\nmsg: db `hi\\n`, 0\nw: dw 1, 2\nq: dq msg\n"
                       "pad: times 3 db 0xAA\nsection .bss\nbuf: resq 4\n", base=0x100000)
    data = program.section(".data")
    assert bytes(data.data) == b"hi\n\x00" + b"\x01\x00\x02\x00" + \
        program.symbols["msg"].to_bytes(8, "little") + b"\xaa" * 3
    assert program.section(".bss").size == 32


def test_redefining_a_kernel_symbol_is_refused():
    with pytest.raises(AssemblyError, match="already defined outside"):
        Machine(16).load_source("os_MemoryMap: nop")


def test_push_of_a_value_keystone_gets_wrong_is_encoded_as_nasm():
    """keystone encodes push 0xffff as push -1 (6a ff): the field is forced."""
    assert text_bytes("push 0xffff") == bytes.fromhex("68ffff0000")           # push 0xffff
    assert one("push 0x7fffffff\npush -1\nand rax, 0xfffffffffffffff0") == \
        ["push 0x7fffffff", "push -1", "and rax, 0xfffffffffffffff0"]


def test_backquote_escapes_as_nasm():
    program = assemble("section .data\nd: db `\\101\\012\\x41\\u00e9\\n`", base=0x400000)
    assert bytes(program.section(".data").data) == b"A\nA\xc3\xa9\n"


# -- issue 8: any input is a program or one error, quickly -----------------------------------

def quickly(source, seconds=5.0):
    """The AssemblyError `source` gives, which must come within `seconds`."""
    start = time.perf_counter()
    err = error_of(source)
    assert time.perf_counter() - start < seconds, source[:40]
    return err


@pytest.mark.parametrize("source", ["mov rax, é", "nop é", "é: nop", "mov é, 1",
                                    "mov rax, [é]", "%define é 1", "db \ud800"])
def test_non_ascii_where_nasm_wants_ascii_is_an_error_not_a_crash(source):
    assert quickly(source).line == 1


def test_non_ascii_in_strings_is_utf8_as_nasm_reads_it():
    data = bytes(assemble("section .data\nd: db 'é', `\\u20ac`", base=0x400000)
                 .section(".data").data)
    assert data == "é€".encode("utf-8")


def test_deeply_nested_parentheses_are_only_long():
    assert one("mov rax, " + "(" * 2000 + "1" + ")" * 2000) == ["mov eax, 1"]
    assert "missing ')'" in quickly("mov rax, " + "(" * 2000 + "1").message
    assert one("mov rax, [" + "(" * 2000 + "rbx" + ")" * 2000 + "]") == \
        ["mov rax, qword ptr [rbx]"]


@pytest.mark.parametrize("source,words", [
    ("align 1 << 62", "absurdly large"),
    ("section .bss\nalignb 1 << 40", "absurdly large"),
    ("times 1000000000 db 0", "exceed 16 MiB"),
    ("times 1 << 62 nop", "exceed"),
    ("resb 1 << 40", "exceed"),
    ("section .bss\nresb 1 << 40", "exceed 1024 MiB"),
    ("db 1\ntimes 100000 jmp $", "at most 10,000 copies"),
    ("%rep 1 << 40\nnop\n%endrep", "repetitions"),
    ("%macro m 0\nm\n%endmacro\nm", "nest more than"),
])
def test_runaway_sizes_are_one_quick_error(source, words):
    assert words in quickly(source).message


def test_runaway_preprocessing_stops_at_the_work_limit(monkeypatch):
    monkeypatch.setattr("emu.assembler.preprocess.MAX_WORK", 5_000)
    err = quickly("%assign i 0\n%rep 1000000\n%assign i i + 1\n%endrep")
    assert "more than 5,000 lines" in err.message and err.line == 3


def test_an_include_of_itself_or_of_a_device_is_one_error(tmp_path):
    looping = tmp_path / "loop.asm"
    looping.write_text(f'%include "{looping.name}"\n')
    with pytest.raises(AssemblyError, match="nests more than"):
        assemble(looping.read_text(), file=str(looping), base=0x400000)
    assert "not a regular file" in quickly('%include "/dev/zero"').message


@pytest.mark.parametrize("source", ["stosw [rax]", "repne stosw [rax + r9*2]",
                                    "scasb word [r8]", "lodsq [rsi]"])
def test_string_instructions_with_operands_never_reach_keystone(source):
    """keystone crashed the process (SIGSEGV) on these; NASM refuses them."""
    assert "takes no operands" in quickly(source).message


def test_numbers_too_large_are_nasms_warnings_or_one_error():
    program = assemble("section .data\nq: dq 1e999999999\nw: dq 0x1ffffffffffffffff",
                       base=0x400000)
    assert bytes(program.section(".data").data) == \
        (0x7FF0 << 48).to_bytes(8, "little") + (2**64 - 1).to_bytes(8, "little")
    assert len(program.warnings) == 2                 # overflow; does not fit in 64 bits
    assert quickly("dd 1." + "0" * 5000 + "1").line == 1


def test_extern_names_are_addresses_and_machine_symbols_constants():
    """As NASM: an extern is relocated (full-size, reachable by [rel x]), an equ is not."""
    assert one("extern ext\nmov rax, ext\nlea rsi, [rel ext]", base=0x400000, ext=0x401000) \
        == ["movabs rax, 0x401000", "lea rsi, [rip + 0xfef]"]
    assert one("mov rax, os_X", os_X=0x401000) == ["mov eax, 0x401000"]


def test_lock_is_refused_where_it_would_raise_ud():
    assert one("lock xchg rbx, [rax]\nlock add [rax], ebx") == \
        ["lock xchg qword ptr [rax], rbx", "lock add dword ptr [rax], ebx"]
    assert "raise #UD" in error_of("lock mov rax, rbx").message


def test_a_shift_without_a_count_is_refused_as_nasm_does():
    """keystone took `shl rax` as `shl rax, 1`; NASM has no such form."""
    assert "needs a count" in error_of("shl rax").message


def test_o64_sysret_returns_to_64_bit_code_as_in_nasm():
    assert text_bytes("o64 sysret\nsysret\no64 iret") == \
        bytes.fromhex("480f07" "0f07" "48cf")           # sysretq; sysret; iretq
    assert "only before" in error_of("o64 nop").message


def test_numbers_mean_the_same_whatever_radix_keystone_is_in():
    """keystone reads bare numbers in hex once its radix turns (#436): the
    encoder writes every number with its 0x, so the bytes stay NASM's."""
    from keystone import KS_OPT_SYNTAX_NASM
    from emu.assembler.assembly import Assembly
    source = ("mov rax, -22\nmov rbx, [rcx + 40]\nadd rdx, 1000\njmp $+100\n"
              "mov rsi, [rdi - 24]\n; radix test\n")       # a source no other test caches
    original = Assembly.__init__

    def with_hex_radix(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.encoder._ks.syntax = KS_OPT_SYNTAX_NASM        # keystone's radix is now 16
    try:
        Assembly.__init__ = with_hex_radix
        data = assemble(source, file="radix.asm", base=0x1000).section(".text").data
    finally:
        Assembly.__init__ = original
    # nasm -f bin (2.16.01), with org 0x1000
    assert bytes(data) == bytes.fromhex("48c7c0eaffffff488b59284881c2e8030000eb62488b77e8")

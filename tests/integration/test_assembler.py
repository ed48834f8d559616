"""The NASM front end: keystone's traps are caught, errors name the line."""

import pytest
from keystone import KS_ARCH_X86, KS_MODE_64, Ks

from emu import AssemblyError, Machine
from emu import disasm
from emu.assembler import assemble


def one(source, base=0x100000, **symbols):
    program = assemble(source, base=base, symbols=symbols)
    insns = disasm.decode_many(bytes(program.section(".text").data), base)
    return [disasm.text(i) for i in insns]


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
    assert one("mov rsi, os_MemoryMap + 1", os_MemoryMap=0x10000) == ["mov rsi, 0x10001"]
    assert one("a:\nnop\nb:\nmov rcx, b - a") == ["nop", "mov rcx, 1"]


def test_an_address_beyond_32_bits_is_refused_with_a_reason():
    with pytest.raises(AssemblyError) as info:
        assemble("mov rbx, [0x123456789]", base=0x100000)
    assert "32-bit" in str(info.value) and info.value.line == 1


def test_a_syntax_error_reports_its_line_and_text():
    with pytest.raises(AssemblyError) as info:
        assemble("nop\nmov rax, 1\nmvo rbx, 2\nret\n", file="bad.asm", base=0x100000)
    err = info.value
    assert (err.file, err.line, err.source) == ("bad.asm", 3, "mvo rbx, 2")
    assert str(err).startswith("bad.asm:3: ")


@pytest.mark.parametrize("source,line,words", [
    ("nop\nmov rax, [rax\n", 2, "unbalanced"),
    ("nop\nnop\njmp nowhere\n", 3, "undefined symbol 'nowhere'"),
    ("x:\nx:\n", 2, "defined twice"),
    ("db 300\n", 1, "does not fit"),
    ("section .weird\n", 1, "unknown section"),
])
def test_front_end_errors_name_the_line(source, line, words):
    with pytest.raises(AssemblyError) as info:
        assemble(source, file="t.asm", base=0x100000)
    assert info.value.line == line and words in str(info.value)


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


def test_immediates_keystone_gets_wrong_are_refused_not_miscompiled():
    with pytest.raises(AssemblyError, match="push -1"):
        assemble("push 0xffff", base=0x400000)           # keystone: 6a ff
    with pytest.raises(AssemblyError, match="does not fit in 1 byte"):
        assemble("mov byte [rdi], 300", base=0x400000)
    assert one("push 0x7fffffff\npush -1\nand rax, 0xfffffffffffffff0") == \
        ["push 0x7fffffff", "push -1", "and rax, 0xfffffffffffffff0"]


def test_near_forces_a_32_bit_displacement():
    program = assemble("jmp near next\nnext: nop", base=0x400000)
    assert bytes(program.section(".text").data)[:5] == bytes.fromhex("e900000000")


def test_backquote_escapes_as_nasm():
    program = assemble("section .data\nd: db `\\101\\012\\x41\\u00e9\\n`", base=0x400000)
    assert bytes(program.section(".data").data) == b"A\nA\xc3\xa9\n"


def test_oversized_sections_are_refused_quickly():
    with pytest.raises(AssemblyError, match="exceed"):
        assemble("section .bss\nbuf: resb 1 << 40", base=0x400000)
    with pytest.raises(AssemblyError, match="times count"):
        assemble("times 100000000000 nop", base=0x400000)


def test_text_starts_exactly_at_the_base():
    assert assemble("t: nop", base=0x100008).symbols["t"] == 0x100008

"""The generator's families of forms that are not instruction operand shapes:
data directives and floats, the preprocessor, and the syntax people write
and get wrong. Part of forms.py (see there); split off to keep each file short.
"""

from __future__ import annotations

def data(rng):
    out = []
    for unit, limit in (("db", 8), ("dw", 16), ("dd", 32), ("dq", 64)):
        for value in (0, 1, -1, (1 << (limit - 1)) - 1, -(1 << (limit - 1)),
                      (1 << limit) - 1, 1 << limit, -(1 << (limit - 1)) - 1):
            out.append(f"{unit} {value}")
        out.append(f"{unit} 1, 2, 3")
        out.append(f"{unit} 'abc'")
        out.append(f"{unit} 'a', 0")
        out.append(f"a: {unit} a")
        out.append(f"a: {unit} a - $$")
        out.append(f"{unit} $")
        out.append(f"{unit} $ - $$")
    for value in ("1.5", "3.14", "-0.0", "1e10", "1.5e3", "0.1", "1e40", "1e-50", "6.02e23",
                  "0x1.8p3", "1.", ".5", "1_000.5", "3.14159265358979", "1e308", "2.5e-310",
                  "__Infinity__", "-__Infinity__", "__QNaN__", "__SNaN__", "__NaN__",
                  "4.9406564584124654e-324", "65504.0", "65520.0", "3.4028235e38"):
        for unit in ("dw", "dd", "dq", "dt"):
            out.append(f"{unit} {value}")
    out += ["dd __float32__(1.5)", "dq __float64__(2.5)", "mov eax, __float32__(1.5)",
            "dd 1.5, 2, -3.25", "dq 1.0, 'ab'", "db 1.5", "dd 1.5 + 1"]
    out += [r'db "hi", 10, 0', "db 'it''s'", r"db `tab\there\n`", r"db `\x41\101\u00e9`",
            "db 'unterminated", 'db ""', "db `\\e`", "dw 'ab', 'c'", "dd 'abcd', 'abcde'",
            "dq 'abcdefgh'", "db 0x100", "db -129", "db 255", "db -128", "dt 1", "do 1",
            "db", "db 1,", "db 1,,2", "dq 1 << 63", "dw -32769"]
    out += ["times 5 db 0", "times 3 nop", "times 2 dw 1, 2", "times 0 db 1", "times -1 db 0",
            "times 4 - ($ - $$) db 0xcc", "db 1\ntimes 8 - ($ - $$) db 0", "align 8",
            "db 1\nalign 8", "db 1\nalign 16, db 0xcc", "db 1\nalignb 4", "db 1\nalign 3",
            "db 1\nalign 16\ndb 2", "nop\nalign 4\nnop", "db 1\nalign 8, nop",
            "x equ 5\nmov eax, x", "x equ 5 * 3 + 1\ndb x", "x: equ 7\ndb x",
            "x equ y + 1\ny equ 2\ndb x", "%define N 4\ndb N, N*2",
            "%define REG rax\nmov REG, 1", "%assign i 3\n%assign i i+1\ndb i",
            "msg: db 'hi'\nlen equ $ - msg\ndb len", "db $ - $$\ndb $ - $$",
            "resb 4", "resq 2\ndb 1", "a: resb 3\nb: db b - a", "dd $$", "times 3 db $ - $$"]
    for _ in range(30):
        a, b, c = rng.randrange(-300, 300), rng.randrange(1, 40), rng.randrange(0, 8)
        op = rng.choice(["+", "-", "*", "/", "//", "%", "%%", "<<", ">>", "&", "|", "^"])
        out.append(f"dd ({a} {op} {b}) + {c}")
    for _ in range(15):
        a, b = rng.randrange(-5, 6), rng.randrange(-5, 6)
        op = rng.choice(["<", "<=", ">", ">=", "==", "!=", "<>", "=", "&&", "||", "^^"])
        out.append(f"db ({a} {op} {b})")
    out += ["db ~0 & 0xff", "db !0", "db -(-3)", "db +3", "dq 0xffffffffffffffff",
            "dq 0x1ffffffffffffffff", "db 1 ? 2 : 3", "dd 5 / 0", "db (1", "db 1 +",
            "db 'a' + 1", "db `\\n` + 1", "dd 17q", "dd 101b", "dd 0o17", "dd 0y101",
            "dd 0t99", "dd 99d", "dd 0ffh", "dd $1f"]
    return out


def preprocessor(rng):
    return [
        "%ifdef X\ndb 1\n%else\ndb 2\n%endif",
        "%define X\n%ifdef X\ndb 1\n%else\ndb 2\n%endif",
        "%ifndef X\ndb 1\n%endif",
        "%if 1\ndb 1\n%elif 1\ndb 2\n%else\ndb 3\n%endif",
        "%if 0\ndb 1\n%elif 2 > 1\ndb 2\n%else\ndb 3\n%endif",
        "%assign n 5\n%if n == 5 && n < 6\ndb n\n%endif",
        "%if 0\n%if 1\ndb 1\n%endif\n%else\ndb 9\n%endif",
        "%macro twice 1\n%1\n%1\n%endmacro\ntwice nop",
        "%macro put 2\nmov %1, %2\n%endmacro\nput rax, 5\nput ecx, 6",
        "%macro count 0-3\ndb %0\n%endmacro\ncount\ncount 1\ncount 1, 2, 3",
        "%macro spin 0\n%%top: dec ecx\njnz %%top\n%endmacro\nspin\nspin",
        "%macro save 1-*\n%rep %0\npush %1\n%rotate 1\n%endrep\n%endmacro\nsave rax, rbx, rcx",
        "%macro greedy 1+\ndb %1\n%endmacro\ngreedy 1, 2, 3",
        "%macro dflt 1-2 7\ndb %1, %2\n%endmacro\ndflt 1\ndflt 1, 2",
        "%rep 3\nnop\n%endrep",
        "%assign i 0\n%rep 4\ndb i\n%assign i i+1\n%endrep",
        "%rep 0\nnop\n%endrep",
        "%rep 5\n%if 1\nnop\n%endif\n%endrep",
        "%define SQ(x) ((x) * (x))\ndb SQ(3)",
        "%define ADD(a, b) a + b\ndb ADD(1, 2) * 2",
        "%xdefine A 1\n%xdefine B A\n%undef A\ndb B",
        "%define A 1\n%undef A\n%ifdef A\ndb 1\n%else\ndb 0\n%endif",
        "%idefine big 3\ndb BIG",
        "%if 1\ndb 1",
        "%endif",
        "%else",
        "%macro m 1\ndb %1",
        "%endmacro",
        "%endrep",
        "%macro m 1\ndb %1\n%endmacro\nm",
        "%macro m 1\ndb %1\n%endmacro\nm 1, 2",
        "%error stop here",
        "%unknown foo",
        "%rep 3\n%exitrep\nnop\n%endrep",
        "%ifidn rax, rax\ndb 1\n%endif",
        "%ifidni RAX, rax\ndb 1\n%endif",
        "%macro m 1\n%ifidn %1, rax\ndb 1\n%else\ndb 2\n%endif\n%endmacro\nm rax\nm rbx",
        "%define X 1\n%ifdef X\n%ifndef Y\ndb 3\n%endif\n%endif",
        "%if 1 < 2\ndb 1\n%endif",
        "%if X\ndb 1\n%endif",
        "label: %define X 2",
        "%macro lbl 0\n%%a: jmp %%a\n%endmacro\nlbl",
        "%assign x 10 / 3\ndb x",
        "%define EMPTY\ndb 1 EMPTY",
    ]


def syntax(rng):
    """What people write and what they get wrong."""
    return [
        "msg db 'hi', 0", "buf resb 64", "count dd 0", "start mov eax, 1",
        "x equ 3\nlabel2 db x", "lbl\nnop", "nop ; comment", "mov eax,DWORD[rbx]",
        "mov eax, dword[rbx+4]", "mov QWORD[rsp+8], rax", "add byte[rdi], 1",
        "mov eax, [dword rbx]", "bits 64", "[bits 64]", "BITS 64", "bits 32", "bits 16",
        "use64", "[BITS 64]\nnop", "org 0x400000", "[ORG 0x400000]", "org 0",
        "section .text\nnop", "[section .text]\nnop", "segment .text\nnop",
        "global f\nf: ret", "extern g", "cpu x64", "default rel", "default abs",
        "mov rax 5", "mov rzx, 5", "mov [rax], 5", "mov [rax], [rbx]", "mov al, 1, 2",
        "add eax, rbx", "push eax", "mov eax, 5 5", "mov rax, (1", "mov rax, [rax",
        "mov rax, rax]", "jmp", "jmp nowhere", "mov rax, é", "nop é", "db 'é'",
        "mov rax, 1 +", "mov, rax", "mov rax,", ",", ":", "a:: nop", "mov 5, rax",
        "lea rax, 5", "lea rax, rbx", "inc [rax]", "mov byte [rax], ax", "mov ax, byte 5",
        "mov qword rax, 5", "mov eax, qword [rax]", "movzx rax, qword [rax]",
        "xor rax, rax, rax", "ret rax", "int", "int -1", "MOV RAX, RBX", "Mov Eax, 1",
        "NOP", "a: a: nop", "a:\na:", ".loc: nop", "x: .loc: nop", "a:\n.l:\njmp .l",
        "a:\n.l:\nb:\njmp a.l", "..@x: nop", "$rax: nop\njmp $rax", "rax: nop",
        "times 3", "times nop", "times 1000000000000 db 0", "align 0", "align -8",
        "align 1 << 62", "mov eax, 1\n\n\nnop", "\tmov\teax,\t1", "  label:   ret  ",
        "mov rax, 'abcdefgh'", "mov rax, 'abcdefghi'", "mov al, 'a'", "cmp al, `\\n`",
        "mov eax, 1_000_000", "mov eax, 0x_ff", "mov eax, 08", "mov eax, 1fh",
        "mov eax, 0ffffffffh", "mov eax, ffh", "jmp short $ + 200", "jmp short far_away",
        "mov rax, [rax + 1 + 2 * 3]", "mov rax, [2 * 3 + rax]", "mov rax, [rax * 2 * 2]",
        "mov rax, [(rax)]", "mov rax, [rax + (1 << 4)]", "lea rax, [rax + -8]",
        "mov rax, [rax--8]", "mov rax, [-rax]",
    ]

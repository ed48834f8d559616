"""What `emu run` pays for before the first guest instruction, and the CPU the
guest sees: a run imports no tool it does not use (keystone, capstone, the
debugger, the gdb stub, the labs), the machine boots without the assembler,
and CPUID describes a Nehalem with SSE switched on."""

import subprocess
import sys

from emu import Machine
from emu.assembler import assemble
from emu.machine import RETURN_TRAP_CODE
from emu.toolchain import build
from tests.conftest import ROOT

UNUSED_BY_RUN = ("keystone", "capstone", "emu.assembler", "emu.debug", "emu.gdbstub",
                 "emu.malloclab", "emu.labs", "matplotlib", "numpy")
LIST_IMPORTS = """
import sys
from emu.cli import main
status = main(["run", sys.argv[1]])
print(" ".join(sorted(sys.modules)))
sys.exit(status)
"""


def test_emu_run_imports_no_tool_it_does_not_use(tmp_path):
    source = tmp_path / "quiet.c"
    source.write_text("int main(void) { return 3; }\n")
    program = build([source])
    proc = subprocess.run([sys.executable, "-c", LIST_IMPORTS, str(program)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    loaded = proc.stdout.split()
    assert "emu.runner" in loaded and "unicorn" in loaded
    assert [m for m in loaded if m.split(".")[0] in UNUSED_BY_RUN or
            m.startswith(UNUSED_BY_RUN)] == []


def test_the_return_trap_is_the_encoding_of_hlt():
    assert bytes(assemble("hlt", base=0).section(".text").data) == RETURN_TRAP_CODE
    machine = Machine(ram_mib=16)
    assert machine.symbols.lookup(machine.resolve("kernel_return_trap"))[0] == \
        "kernel_return_trap"


CPUID_PROBE = """
cpuid_probe:
        mov eax, 1
        cpuid                   ; ecx: SSE4.2 is bit 20, AVX bit 28; edx: SSE2 bit 26
        mov rax, rcx
        shl rax, 32
        or rax, rdx
        pxor xmm0, xmm0         ; #UD unless CR4.OSFXSR is on
        ret
"""


def test_the_guest_sees_a_nehalem_with_sse_and_without_avx():
    machine = Machine(ram_mib=16)
    machine.load_source(CPUID_PROBE, "<cpuid>")
    value = machine.call("cpuid_probe")["rax"]
    ecx, edx = value >> 32, value & 0xFFFF_FFFF
    assert edx & 1 << 26 and ecx & 1 << 20          # SSE2, SSE4.2
    assert not ecx & 1 << 28                        # no AVX: glibc takes the SSE paths

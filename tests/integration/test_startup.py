"""What `emu run` pays for before the first guest instruction, and the CPU the
guest sees: a run imports no tool it does not use (keystone, capstone, the
debugger, the gdb stub, the labs), and the machine boots without the assembler."""

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

"""Every module imports alone, in a fresh interpreter: no import cycles, and
the kernel does not need the tools layer (emu/__init__ loads nothing eagerly)."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import ROOT

PACKAGES = ("emu", "kernel")


def all_modules() -> list[str]:
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def import_alone(module: str) -> str:
    """'' when `module` imports in a fresh interpreter, else the error's last line."""
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    return "" if proc.returncode == 0 else f"{module}: {proc.stderr.strip().splitlines()[-1]}"


def test_every_module_imports_alone_in_a_fresh_interpreter():
    modules = all_modules()
    assert len(modules) > 50 and "kernel.frames" in modules and "kernel.boot" in modules
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [f for f in pool.map(import_alone, modules) if f]
    assert failures == []


def test_the_kernel_does_not_load_the_tools_layer():
    code = ("import sys, kernel.boot, kernel.syscalls, kernel.page_tables\n"
            "tools = [m for m in sys.modules if m.split('.')[0] == 'emu' and m not in "
            "('emu', 'emu.errors', 'emu.paging')]\n"
            "print(','.join(sorted(tools)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    assert proc.stdout.strip() == ""


# Only the machine and its MMU hold the Unicorn object; registers.py names the
# CPU's register ids. Everything else goes through Machine's API.
# emu/native_mmu.py, emu/register_batch.py, emu/syscall_entry.py: the C TLB
# fill, register batches and the syscall hook are added through libunicorn's C
# API, which only that layer may call; emu/icount.py: the machine's
# instruction counter, a hook given to libunicorn.
UNICORN_OWNERS = {"emu/machine.py", "emu/mmu.py", "emu/native_mmu.py", "emu/register_batch.py",
                   "emu/syscall_entry.py", "emu/icount.py", "emu/page_flush.py"}
REGISTER_TABLE = "emu/registers.py"


def test_only_the_machine_and_the_mmu_touch_unicorn():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if name in UNICORN_OWNERS:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                imports_unicorn = line.lstrip().startswith(("from unicorn", "import unicorn"))
                allowed = name == REGISTER_TABLE and line.startswith("from unicorn import x86_const")
                if (imports_unicorn and not allowed) or ".uc." in line or "._uc" in line:
                    offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


def test_page_tables_are_edited_only_by_the_kernel():
    """The MMU walks; kernel/page_tables.py edits (xv6's vm.c)."""
    assert not (ROOT / "emu" / "page_tables.py").exists()
    mmu = (ROOT / "emu" / "mmu.py").read_text()
    assert "def map(" not in mmu and "def unmap(" not in mmu and "def protect(" not in mmu

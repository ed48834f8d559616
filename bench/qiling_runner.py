"""`python bench/qiling_runner.py ELF [ARGS]`: run a static x86-64 ELF under Qiling.

For `make bench` (bench/workloads.py), with a Python that has Qiling installed
in its own environment (`pip install qiling` in a separate venv: Qiling pins
its own Unicorn). The root file system is an empty folder: the workloads are
static and open no files, but glibc reads /proc/self/exe, which Qiling
answers only for a program inside the root file system, so the ELF is copied in.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from qiling import Qiling
from qiling.const import QL_VERBOSE


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as rootfs:
        inside = Path(rootfs) / Path(argv[0]).name
        shutil.copy(argv[0], inside)
        ql = Qiling([str(inside), *argv[1:]], rootfs=rootfs, verbose=QL_VERBOSE.DISABLED)
        ql.run()
        return ql.os.exit_code if hasattr(ql.os, "exit_code") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

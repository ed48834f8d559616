"""`make bench`: every benchmark, one run each, figures as ratios measured together."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (churn_bench, debug_bench, fork_bench, gdb_roundtrip,  # noqa: E402
                   malloclab_bench, mmu_loop, workloads)


def main() -> int:
    for bench in (workloads, mmu_loop, churn_bench, fork_bench, gdb_roundtrip, debug_bench,
                  malloclab_bench):
        bench.main()
        print()
        gc.collect()          # each starts without the last one's machines around
    return 0


if __name__ == "__main__":
    sys.exit(main())

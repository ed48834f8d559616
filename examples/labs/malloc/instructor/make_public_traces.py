"""Write the malloc lab's public traces (tests/*.rep) from the lab's generator.

    .venv/bin/python examples/labs/malloc/instructor/make_public_traces.py

They are the project's own traces, made by emu/labs/kinds/malloc/tracegen.py
with a fixed seed, the generator the hidden traces come from; a test checks
the committed files match what this writes.
"""

from __future__ import annotations

from pathlib import Path

from emu.labs.kinds.malloc.tracegen import generate_text
from emu.labs.prng import Prng

TESTS = Path(__file__).resolve().parent.parent / "tests"
SEED = b"emu malloc lab public traces 2026"
PUBLIC = (("program", 700), ("binary", 700), ("coalescing", 600), ("random", 700),
          ("realloc", 600))


def public_texts() -> dict[str, str]:
    """{file name: .rep text} of every public trace."""
    return {f"{family}.rep": generate_text(family, Prng.from_bytes(SEED + family.encode()), ops)
            for family, ops in PUBLIC}


if __name__ == "__main__":
    for name, text in public_texts().items():
        (TESTS / name).write_text(text)
        print(f"wrote {TESTS / name}")

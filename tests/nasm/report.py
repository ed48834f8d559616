"""The differential's figures, as the README gives them:

    python -m tests.nasm.report        (from the project root; no nasm needed)
"""

from __future__ import annotations

import collections

from .compare import (DELIBERATE, SPURIOUS_WARNINGS, load_forms, load_programs,
                      program_verdict, verdict)


def main() -> None:
    counts = collections.Counter()
    equivalent = []
    for record in load_forms():
        result = verdict(record)
        counts[result.kind] += 1
        if result.kind == "equivalent":
            equivalent.append(f"{record['form']}: {result.detail}")
    programs = collections.Counter(program_verdict(name, record).kind
                                   for name, record in load_programs().items())
    total = sum(counts.values())
    print(f"forms tested          {total:6,}")
    for kind in ("identical", "equivalent", "refused", "deliberate"):
        print(f"  {kind:19} {counts.pop(kind, 0):6,}")
    for kind, n in counts.items():
        print(f"  FAILED {kind:12} {n:6,}")
    print(f"whole programs        {sum(programs.values()):6,}   "
          f"identical {programs['identical']}")
    print("equivalent forms:")
    for line in equivalent:
        print("  " + line)
    print("NASM accepts, we refuse on purpose:")
    for form, reason in DELIBERATE.items():
        print(f"  {form!r}: {reason}")
    print("NASM warns, we do not:")
    for form, reason in SPURIOUS_WARNINGS.items():
        print(f"  {form!r}: {reason}")


if __name__ == "__main__":
    main()

"""Write NASM's verdicts for the differential test: run with nasm installed.

    python -m tests.nasm.regenerate            (from the project root)

For every generated form (tests/nasm/forms.py) and every whole program in
tests/nasm/programs/, runs `nasm -f bin` and records what it made:

    reference/forms.jsonl     one line per form:
                              {"form": ..., "bytes": "4889d8", "warnings": [...]}
                              or {"form": ..., "error": "NASM's message"}
    reference/programs.json   {name: {"bytes": hex of the flat image,
                                      "symbols": {label: address}}}

Programs are laid out as our assembler lays out a user program (sections on
their own pages from BASE), with a header that only NASM sees: it gives
NASM's bin format the same section order and alignment, and asks for a map
file, whose symbol table is recorded. The tests read these files and never
need nasm.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from .forms import BASE, SEED, forms, source

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
PROGRAMS = HERE / "programs"

PROGRAM_HEADER = f"""bits 64
org {BASE:#x}
section .text
section .rodata follows=.text align=4096
section .data follows=.rodata align=4096
section .bss follows=.data align=4096 nobits
section .text
[map symbols {{map}}]
"""


def run_nasm(text: str, workdir: Path, name: str = "form", include: Path | None = None) -> dict:
    """{"bytes": hex, "warnings": [...]} or {"error": message} for one source.
    NASM looks for %include files in the current directory and in `include`."""
    src, out = workdir / f"{name}.asm", workdir / f"{name}.bin"
    src.write_text(text)
    out.unlink(missing_ok=True)
    options = [f"-I{include}/"] if include else []
    done = subprocess.run(["nasm", "-f", "bin", *options, "-o", str(out), str(src)],
                          capture_output=True, text=True, cwd=workdir)
    stderr = done.stderr.replace(f"{workdir}/", "")      # the temporary directory varies
    messages = [_message(line) for line in stderr.splitlines() if line.strip()]
    if done.returncode != 0:
        errors = [m for m in messages if m.startswith("error")] or messages
        return {"error": errors[0] if errors else f"nasm exited {done.returncode}"}
    record = {"bytes": out.read_bytes().hex()}
    warnings = [m for m in messages if m.startswith("warning")]
    if warnings:
        record["warnings"] = warnings
    return record


def _message(line: str) -> str:
    """'t.asm:3: error: x' -> 'error: x' (paths are the temp dir's)."""
    return re.sub(r"^\S*?:\d+: ", "", line.strip())


def read_map(path: Path) -> dict[str, int]:
    """Labels and addresses from a NASM map file's symbol tables."""
    symbols = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"\s*([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+(\S+)", line)
        if m:
            symbols[m.group(3)] = int(m.group(2), 16)
    return symbols


def regenerate_forms(workdir: Path) -> int:
    lines = []
    for form in forms(SEED):
        record = {"form": form, **run_nasm(source(form), workdir)}
        lines.append(json.dumps(record, ensure_ascii=False))
    (REFERENCE / "forms.jsonl").write_text("\n".join(lines) + "\n")
    return len(lines)


def regenerate_programs(workdir: Path) -> int:
    programs = {}
    for path in sorted(PROGRAMS.glob("*.asm")):
        map_file = workdir / f"{path.stem}.map"
        # Our %include is relative to the including file; NASM's searches -I.
        header = PROGRAM_HEADER.format(map=map_file)
        text = header + f'%include "{path}"\n'
        record = run_nasm(text, workdir, path.stem, include=path.parent)
        if "error" in record:
            raise SystemExit(f"{path.name}: nasm refused it: {record['error']}")
        record["symbols"] = read_map(map_file)
        programs[path.name] = record
    (REFERENCE / "programs.json").write_text(json.dumps(programs, indent=1, sort_keys=True)
                                             + "\n")
    return len(programs)


def main() -> None:
    version = subprocess.run(["nasm", "-v"], capture_output=True, text=True).stdout.strip()
    REFERENCE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        n_forms = regenerate_forms(Path(tmp))
        n_programs = regenerate_programs(Path(tmp))
    (REFERENCE / "VERSION").write_text(version + "\n")
    print(f"{version}: {n_forms} forms, {n_programs} programs -> {REFERENCE}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""`emu lab init`: a student's handout folder for one variant.

    handout/
      README.md        the lab's README with {{placeholders}} filled in
      <starter files>  from the lab's starter/ folder, filled in the same way
      tests/           the lab's public tests and .gdb walk-throughs
      <generated>      files the kind makes for this variant (a quiz, a program)
      emu-lab.json     which lab and variant this is (for `emu lab check`)

Nothing from the lab's instructor/ folder is ever copied. The same lab and
variant always give byte-identical files: no dates, no machine names, keys
in a fixed order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import UsageError
from .catalog import HANDOUT_PARTS, Lab

MARKER = "emu-lab.json"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


def render(text: str, values: dict[str, str], where: str) -> str:
    """`text` with every {{name}} replaced; UsageError naming an unknown one."""
    def substitute(match):
        key = match.group(1)
        if key not in values:
            raise UsageError(f"{where}: unknown placeholder {{{{{key}}}}}")
        return str(values[key])
    return PLACEHOLDER.sub(substitute, text)


def points_table(config) -> str:
    """The lab's tests as a Markdown table: part, test, points, when it runs."""
    rows = ["| part | test | points | run by |", "|---|---|---:|---|"]
    for test in config.tests:
        runner = "the grader (hidden)" if test.hidden else "`emu lab check` and the grader"
        rows.append(f"| {test.part} | {test.title} | {test.points} | {runner} |")
    rows.append(f"| | **total** | **{config.max_points}** | |")
    return "\n".join(rows)


def common_values(lab: Lab, variant) -> dict[str, str]:
    config = lab.config
    public = sum(t.points for t in config.tests if not t.hidden)
    return {"lab": lab.name, "title": config.title, "hours": config.hours,
            "who": variant.who, "variant": variant.id,
            "points_table": points_table(config), "max_points": str(config.max_points),
            "public_points": str(public), "hidden_points": str(config.max_points - public),
            "starter_score": str(config.starter_score),
            "submit_files": ", ".join(f"`{name}`" for name in config.submit)}


def handout_files(lab: Lab, variant) -> dict[str, bytes]:
    """Every file of the handout, by relative path, as bytes."""
    params = lab.kind.draw_params(lab.config, variant)
    values = {**common_values(lab, variant),
              **lab.kind.template_values(lab.config, variant, params)}
    files: dict[str, str] = {"README.md": render((lab.root / "README.md").read_text(),
                                                  values, f"{lab.name}/README.md")}
    for part in HANDOUT_PARTS:
        folder = lab.root / part
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder)
            target = str(relative) if part == "starter" else f"{part}/{relative}"
            files[target] = render(path.read_text(), values, f"{lab.name}/{part}/{relative}")
    files.update(lab.kind.generated_files(lab.config, variant, params))
    files[MARKER] = json.dumps(variant.marker(), sort_keys=True, indent=2) + "\n"
    return {name: text.encode() for name, text in sorted(files.items())}


def write_handout(lab: Lab, variant, folder: Path) -> list[str]:
    """Write the handout into `folder` (new or empty); returns the file names."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"{folder}: already exists and is not empty (choose another --dir)")
    files = handout_files(lab, variant)
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return list(files)


def read_marker(folder: Path) -> dict:
    """The emu-lab.json of a handout or submission folder; UsageError if none."""
    path = folder / MARKER
    if not path.is_file():
        raise UsageError(f"{folder}: no {MARKER} here: run this in the folder `emu lab init` "
                         f"made (or name it: emu lab check DIR)")
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object")
    return data

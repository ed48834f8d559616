"""What the pagewalk handout shows for a variant: the quiz and Part C's layout."""

from __future__ import annotations

from .map_run import ROLE_FLAGS
from .quiz import build_quiz, quiz_text
from ....paging import decode_flags


def generated_files(variant) -> dict[str, str]:
    return {"quiz.md": quiz_text(build_quiz(variant))}


def template_values(config, variant, params) -> dict[str, str]:
    layout_ = params["layout"]
    rows = ["| page | virtual address | flags map_page gets |", "|---|---|---|"]
    rows += [f"| {role} | `{vaddr:#x}` | {decode_flags(ROLE_FLAGS[role]).replace('P ', '') or '0'} |"
             for role, vaddr in layout_.items()]
    budgets = config.budgets
    return {"layout_table": "\n".join(rows), "walk_budget": f"{budgets.get('walk_call', 0):,}",
            "map_budget": f"{budgets.get('map_call', 0):,}"}

"""The pagewalk lab: page tables by hand (A), walk() in asm (B), map_page() in asm (C).

A variant draws the quiz's tables and questions, the addresses walk() is
tried on (public from the handout seed, hidden from the hidden seed), and the
virtual layout of Part C's user program. Every expected answer comes from the
machine's own MMU walk (probes.expected), never from a second implementation.
"""

from __future__ import annotations

from pathlib import Path

from ....errors import AssemblyError
from ...kernel_debug import kernel_call_session, program_session
from ...prng import Prng
from ...variants import handout_variant
from ..base import LabKind, Outcome, ReproSession, SubmissionError, none
from . import handout
from .map_checks import (check_no_leaks, check_remap_and_oom, check_traps, check_user_program,
                         check_walks_agree)
from .map_run import MapRun, draw_layout, user_program
from .prepared import Prepared, map_machine, walk_machine
from .probes import Probe, decode, expected
from .quiz import build_quiz, grade_answer, parse_answers, solution_lines
from .walk_checks import (category_check, check_contract, check_hidden, tables_for,
                          walk_picture)

QUIZ_POINTS_EACH = 2


def check_quiz(spec, prepared: Prepared) -> Outcome:
    """Part A: two points a question; the wrong ones are named."""
    if not prepared.answers_file.is_file():
        return none("answers.txt is missing: Part A's answers go there, one line a question")
    quiz = build_quiz(prepared.variant)
    answers = parse_answers(prepared.answers_file.read_text(errors="replace"))
    wrong = []
    for question in quiz.questions:
        verdict = grade_answer(question, answers.get(question.number, "")) \
            if question.number in answers else "no answer"
        if verdict:
            wrong.append(f"Q{question.number}: {verdict}")
    points = min(spec.points, QUIZ_POINTS_EACH * (len(quiz.questions) - len(wrong)))
    message = f"{len(quiz.questions) - len(wrong)} of {len(quiz.questions)} right"
    return Outcome(points, message + (f"; {'; '.join(wrong)}" if wrong else ""))


def _needs(path_name: str, check):
    """A test of one part: it fails with one line when that part's file is missing."""
    def run(spec, prepared: Prepared) -> Outcome:
        if not (prepared.submission / path_name).is_file():
            return none(f"{path_name} is missing from the submission")
        return check(spec, prepared)
    run.__name__ = getattr(check, "__name__", "check")
    return run


TESTS = {
    "quiz": check_quiz,
    "walk-4k": _needs("walk.asm", category_check("4k")),
    "walk-2m": _needs("walk.asm", category_check("2m")),
    "walk-high-half": _needs("walk.asm", category_check("high-half")),
    "walk-not-present": _needs("walk.asm", category_check("not-present")),
    "walk-permissions": _needs("walk.asm", category_check("permissions")),
    "walk-non-canonical": _needs("walk.asm", category_check("non-canonical")),
    "walk-contract": _needs("walk.asm", check_contract),
    "hidden-walk": _needs("walk.asm", check_hidden),
    "map-walks-agree": _needs("map_page.asm", check_walks_agree),
    "map-user-program": _needs("map_page.asm", check_user_program),
    "map-traps": _needs("map_page.asm", check_traps),
    "map-no-leaks": _needs("map_page.asm", check_no_leaks),
    "hidden-map-remap-oom": _needs("map_page.asm", check_remap_and_oom),
}


class PagewalkKind(LabKind):
    name = "pagewalk"
    TESTS = TESTS

    def draw_params(self, config, variant) -> dict:
        return {"layout": draw_layout(variant.stream("layout"))}

    def template_values(self, config, variant, params) -> dict[str, str]:
        return handout.template_values(config, variant, params)

    def generated_files(self, config, variant, params) -> dict[str, str]:
        return handout.generated_files(variant)

    def prepare(self, lab, variant, params, submission: Path) -> Prepared:
        prepared = Prepared(params, variant, submission, lab.root / "starter" / "alloc_table.asm",
                            dict(lab.config.budgets))
        for key in ("walk_call", "map_call"):
            lab.config.budget(key)
        _check_builds(prepared)
        return prepared

    def solve(self, lab, variant, params) -> list[str]:
        return ["Part A (answers.txt):"] + solution_lines(build_quiz(variant)) + [
            "Part C layout: " + ", ".join(f"{role} {vaddr:#x}"
                                          for role, vaddr in params["layout"].items())]

    def repro(self, lab, record: dict, submission: Path) -> ReproSession:
        prepared = self.prepare(lab, _variant(record), self.draw_params(
            lab.config, _variant(record)), submission)
        case = record["case"]
        if case.get("part") == "walk":
            return _walk_repro(prepared, case, record["test"])
        return _map_repro(prepared, case, record["test"])


def _variant(record):
    return handout_variant(record["variant"])


def _check_builds(prepared: Prepared) -> None:
    errors = []
    if prepared.walk_file.is_file():
        errors += _assembles(prepared, "walk.asm", walk_machine, "walk")
    if prepared.map_file.is_file():
        errors += _assembles(prepared, "map_page.asm", map_machine, "map_page")
    if errors:
        raise SubmissionError(errors)


def _assembles(prepared, name, make, label) -> list[str]:
    try:
        _, program = make(prepared)
    except AssemblyError as exc:
        return [f"assembly error: {exc}"]
    return [] if label in program.labels else [f"{name} must define the label {label}"]


def _walk_repro(prepared: Prepared, case: dict, test: str) -> ReproSession:
    seed = bytes.fromhex(case["table_seed"])
    probe = Probe(case["vaddr"], case["kind"], case["user"])

    def make_machine():
        machine, program = walk_machine(prepared)
        tables_for(machine, seed)
        return machine, program
    root = case["registers"]["rdi"]
    machine, _ = make_machine()
    banner = [f"{test}: {probe.describe()} with CR3 = {root:#x} in RDI, the address in RSI, "
              f"the access ({probe.access}) in RDX; the MMU says {decode(expected(machine, root, probe))}.",
              *walk_picture(machine, root, probe.vaddr).splitlines(),
              "Stopped at walk's first instruction. Tables are at physical = virtual: "
              "`x/gx ADDRESS` reads an entry; `stepi`, `finish`, `reverse-stepi` work."]
    session = kernel_call_session(make_machine, str(prepared.walk_file), "walk",
                                  case["registers"], 0x2)
    return ReproSession(banner, kernel_call=session)


def _map_repro(prepared: Prepared, case: dict, test: str) -> ReproSession:
    pages = [tuple(p) for p in case["pages"]]

    def replay():
        run = MapRun(prepared)
        rng = Prng.from_bytes(b"repro")
        for vaddr, paddr, flags in pages:
            run.map(vaddr, flags, rng, paddr=paddr)
        return run
    if case.get("entry"):
        return _program_repro(prepared, replay, case["entry"], test)
    registers = case.get("registers") or {}

    def make_machine():
        run = replay()
        return run.machine, run.program
    session = kernel_call_session(make_machine, str(prepared.map_file), "map_page", registers, 0x2)
    banner = [f"{test}: the call that failed, map_page(cr3={registers.get('rdi', 0):#x}, "
              f"va={registers.get('rsi', 0):#x}, pa={registers.get('rdx', 0):#x}, "
              f"flags={registers.get('rcx', 0):#x}), after the {len(pages)} pages mapped "
              f"before it.", "Stopped at the first instruction of map_page. `break "
              "alloc_table`, `finish`, `x/gx ADDRESS` and `reverse-stepi` work."]
    return ReproSession(banner, kernel_call=session)


def _program_repro(prepared: Prepared, replay, entry: str, test: str) -> ReproSession:
    layout_ = prepared.params["layout"]

    def make_machine():
        run = replay()
        program = user_program(layout_)
        frames = {vaddr: paddr for vaddr, paddr, _ in run.mapped}
        run.machine.ram.write(frames[layout_["code"]], program.image())
        return run.machine, program, run.root
    session = program_session(make_machine, entry)
    banner = [f"{test}: the user program, from `{entry}`, in user mode on the tables your "
              f"map_page built.", "`pt ADDRESS` walks your tables; `stepi` runs into the "
              "fault; `x/gx` reads through your tables."]
    return ReproSession(banner, kernel_call=session)


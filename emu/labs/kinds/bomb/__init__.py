"""The bomb lab: memory forensics with `emu debug` on one's own seeded program.

The variant is a program (program.py) and three facts the README asks about
(the n of the n-th malloc, the word and its value). The student runs it,
answers in answers.txt, and the grader runs the same program (replay.py) and
compares. There is no code to build: a missing answers.txt is a format error.

answers.txt:
    phase_1: 0x3fe06070                    the physical address of bomb_key
    phase_2: 0x4032c0                      what the n-th bomb_malloc returned
    phase_3: 0x40021c 69                   the store's address and r12 (the iteration)
    phase_4: 0x7ffff7ff1000-0x7ffff7ff4000 the VMA the fault hit, as vmmap shows it
    secret:  0x800000003fe0b025            the PT entry of bomb_motto at the end
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..base import LabKind, Outcome, ReproSession, SubmissionError, full, none
from ...variants import handout_variant
from .program import generate
from .replay import Answers, replay

ANSWERS = "answers.txt"
PHASES = ("phase_1", "phase_2", "phase_3", "phase_4", "secret")
LINE = re.compile(r"^\s*(phase_[1-4]|secret)\s*[:=]\s*(.*?)\s*$", re.IGNORECASE)
NUMBER = re.compile(r"^(0x[0-9a-f_]+|\d[\d_]*)$", re.IGNORECASE)
PTE_ACCESSED = 1 << 5


@dataclass
class Prepared:
    bomb: object
    answers: Answers
    given: dict[str, str]


def bomb_of(variant):
    return generate(variant.stream("bomb"), variant.id)


def parse_answers(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = LINE.match(line.split("#", 1)[0])
        if match and match.group(2):
            found[match.group(1).lower()] = match.group(2)
    return found


def numbers(text: str) -> list[int] | None:
    """The numbers in an answer ('0x40021c 69', '0x1000-0x4000'), or None."""
    words = text.replace("-", " ").replace(",", " ").split()
    if not words or not all(NUMBER.match(w) for w in words):
        return None
    return [int(w.replace("_", ""), 0) for w in words]


def _answer(prepared: Prepared, phase: str, count: int):
    """(numbers, None) or (None, Outcome) when the answer is missing or malformed."""
    text = prepared.given.get(phase)
    if text is None:
        return None, none(f"no {phase} line in answers.txt")
    values = numbers(text)
    if values is None or len(values) != count:
        form = {1: "one number", 2: "two numbers: the address and the iteration",
                3: "three"}[count] if phase != "phase_4" else "START-END"
        return None, none(f"{phase}: '{text}' is not {form}")
    return values, None


def _repro(phase: str) -> dict:
    return {"phase": phase}


def check_phase_1(spec, prepared: Prepared) -> Outcome:
    """The physical address of bomb_key, as the MMU translates it at load."""
    values, problem = _answer(prepared, "phase_1", 1)
    if problem:
        return problem
    a = prepared.answers
    if values[0] == a.key_physical:
        return full(spec)
    hint = ("that is bomb_key's virtual address; the question asks where it is in RAM: "
            "`pt bomb_key` walks the tables" if values[0] == a.key_virtual else
            "`pt bomb_key` in emu debug shows the walk and the physical address")
    return none(f"phase_1: {values[0]:#x} is not it: {hint}", repro=_repro("phase_1"))


def check_phase_2(spec, prepared: Prepared) -> Outcome:
    """What the n-th bomb_malloc returned in the grader's run."""
    values, problem = _answer(prepared, "phase_2", 1)
    if problem:
        return problem
    a, n = prepared.answers, prepared.bomb.malloc_call
    if values[0] == a.malloc_result:
        return full(spec)
    calls = [i + 1 for i, r in enumerate(a.malloc_results) if r == values[0]]
    hint = (f"that is what call {calls[0]} returned; count the calls from 1 (blocks are "
            f"reused after bomb_free, so an address can come back)" if calls else
            f"break at bomb_malloc_return and continue {n} times, then look at rax")
    return none(f"phase_2: {values[0]:#x} is not what call {n} returned: {hint}",
                repro=_repro("phase_2"))


def check_phase_3(spec, prepared: Prepared) -> Outcome:
    """The store that first changed the word to its final value, and r12 then."""
    values, problem = _answer(prepared, "phase_3", 2)
    if problem:
        return problem
    a = prepared.answers
    if tuple(values) == (a.first_store, a.first_iteration):
        return full(spec)
    sets = [c for c in a.changes if c[2] == prepared.bomb.value]
    if tuple(values) == sets[-1][:2]:
        hint = ("that is the last store of that value; the question asks for the first "
                "(reverse-continue from the end stops at the last one first)")
    elif values[0] == a.first_store:
        hint = "the store is right; r12 at that moment is not"
    else:
        hint = ("`watch *(long *)(bomb_table+8*WORD)` and continue: each stop shows the old and new "
                "value and the store's address; r12 is the iteration")
    return none(f"phase_3: {values[0]:#x} {values[1]} is not it: {hint}",
                repro=_repro("phase_3"))


def check_phase_4(spec, prepared: Prepared) -> Outcome:
    """The VMA holding the faulting address, as vmmap shows it at the fault."""
    values, problem = _answer(prepared, "phase_4", 2)
    if problem:
        return problem
    a = prepared.answers
    if tuple(values) == a.vma:
        return full(spec)
    if values[0] <= a.fault_address < values[1]:
        hint = "that range holds the fault, but vmmap shows the mapping's bounds differently"
    elif tuple(values) in a.vmas:
        hint = f"that is another mapping; the fault was at {a.fault_address:#x}"
    else:
        hint = "run to the fault in emu debug, then `vmmap` and find the line that holds it"
    return none(f"phase_4: {values[0]:#x}-{values[1]:#x} is not it: {hint}",
                repro=_repro("phase_4"))


def check_secret(spec, prepared: Prepared) -> Outcome:
    """The PT entry that maps bomb_motto, read after the fault (A set)."""
    values, problem = _answer(prepared, "secret", 1)
    if problem:
        return problem
    a = prepared.answers
    if values[0] == a.motto_pte:
        return full(spec)
    if values[0] == a.motto_pd_entry:
        hint = "that is the PD entry; the PT entry is the last level of `pt`"
    elif values[0] == a.motto_pte & ~PTE_ACCESSED:
        hint = ("that is the entry before phase_1 read bomb_motto; the MMU sets A (bit 5) "
                "when it uses an entry: read it after the bomb went off")
    else:
        hint = "`pt bomb_motto` after the fault shows it"
    return none(f"secret: {values[0]:#x} is not it: {hint}", repro=_repro("secret"))


TESTS = {"phase-1": check_phase_1, "phase-2": check_phase_2, "phase-3": check_phase_3,
         "phase-4": check_phase_4, "secret-phase": check_secret}


class BombKind(LabKind):
    name = "bomb"
    TESTS = TESTS

    def draw_params(self, config, variant) -> dict:
        bomb = bomb_of(variant)
        return {"malloc_call": bomb.malloc_call, "word": bomb.word, "value": bomb.value}

    def template_values(self, config, variant, params) -> dict[str, str]:
        return {"malloc_call": str(params["malloc_call"]), "word": str(params["word"]),
                "word_offset": str(8 * params["word"]), "value": f"{params['value']:#x}"}

    def generated_files(self, config, variant, params) -> dict[str, str]:
        return {"bomb.asm": bomb_of(variant).source}

    def prepare(self, lab, variant, params, submission: Path) -> Prepared:
        path = submission / ANSWERS
        if not path.is_file():
            raise SubmissionError([f"{ANSWERS} is missing: the answers go there, one line "
                                   f"a phase (see the README)"])
        given = parse_answers(path.read_text(errors="replace"))
        if not given:
            raise SubmissionError([f"{ANSWERS} has no answer lines (phase_1: ... and so on)"])
        bomb = bomb_of(variant)
        return Prepared(bomb, replay(bomb), given)

    def solve(self, lab, variant, params) -> list[str]:
        bomb = bomb_of(variant)
        a = replay(bomb)
        return [f"phase_1: {a.key_physical:#x}", f"phase_2: {a.malloc_result:#x}",
                f"phase_3: {a.first_store:#x} {a.first_iteration}",
                f"phase_4: {a.vma[0]:#x}-{a.vma[1]:#x}", f"secret: {a.motto_pte:#x}"]

    def repro(self, lab, record: dict, submission: Path) -> ReproSession:
        variant = handout_variant(record["variant"])
        source = bomb_of(variant).source
        program = submission / "bomb.asm"
        if not program.is_file() or program.read_text() != source:
            program = submission / ".emu-lab" / "bomb.asm"
            program.parent.mkdir(parents=True, exist_ok=True)
            program.write_text(source)
        phase = record["case"]["phase"]
        where = "phase_4" if phase == "secret" else phase
        return ReproSession([f"{record['test']}: your bomb in emu debug, stopped at {where}; "
                             f"`continue`, `pt`, `vmmap`, `watch`, `reverse-stepi` are yours."],
                            program=program, commands=[f"break {where}", "run"])

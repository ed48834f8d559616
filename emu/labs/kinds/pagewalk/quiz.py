"""Part A of the pagewalk lab: walk a small set of tables by hand.

The quiz machine holds seeded tables (tables.QUIZ_SHAPE: about a dozen
pages) and a random 64-bit value at every address a question reaches. The
handout prints every nonzero word of every table page and those values,
then twelve questions: a virtual address, an access kind and a privilege.

answers.txt, one line per question:

    Q1: 0x3c01238 = 0x8c0f2d5e11aa0b9e       the physical address and the value read
    Q2: fault PD not-present                 the level and the reason the walk stops
    Q3: fault none non-canonical

Levels: PML4, PDPT, PD, PT, none. Reasons: not-present, supervisor,
read-only, nx, non-canonical. Case and spaces do not matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ....errors import KernelPanic
from ....machine import Machine
from ....paging import ENTRIES, PAGE_4K, page_align_down
from .probes import LEVEL_NAMES, REASON_WORDS, WALK_FAULT, Probe, draw, expected
from .tables import QUIZ_SHAPE, build_tables

QUIZ_RAM_MIB = 256
MAX_TABLE_DRAWS = 50
QUESTIONS = (("4k", 3), ("2m", 2), ("high-half", 1), ("not-present", 2), ("permissions", 2),
             ("non-canonical", 1), ("4k", 1))
ANSWER_LINE = re.compile(r"^\s*q\s*(\d+)\s*[:.]\s*(.*?)\s*$", re.IGNORECASE)
LEVEL_WORDS = {name.lower(): code for code, name in LEVEL_NAMES.items()}
REASON_NUMBERS = {word: code for code, word in REASON_WORDS.items()}


@dataclass
class Question:
    number: int
    probe: Probe
    answer: int              # walk()'s encoding: a physical address or a fault
    value: int | None        # the 8-byte value at the address, for allowed accesses


@dataclass
class Quiz:
    root: int
    pages: dict[int, list[tuple[int, int]]]      # table page -> [(index, entry)] nonzero
    words: list[tuple[int, int]]                 # (physical address, value), sorted
    questions: list[Question]


def build_quiz(variant) -> Quiz:
    """The variant's quiz: always the same tables, values and questions. Small
    random tables may lack a category (no 2 MiB page, say): those are drawn
    again, from the same stream, until every question has its kind."""
    table_rng, question_rng = variant.stream("quiz-tables"), variant.stream("quiz-questions")
    wanted = sum(count for _, count in QUESTIONS)
    for _ in range(MAX_TABLE_DRAWS):
        machine = Machine(ram_mib=QUIZ_RAM_MIB)
        tables = build_tables(machine, table_rng, QUIZ_SHAPE)
        quiz = _questions(machine, tables, question_rng)
        if len(quiz.questions) == wanted:
            return quiz
    raise KernelPanic("pagewalk quiz: no tables with every kind of question")


def _questions(machine, tables, rng) -> Quiz:
    questions, words = [], {}
    for category, count in QUESTIONS:
        for probe in draw(tables, category, rng, count):
            probe = Probe(page_align_down(probe.vaddr, 8), probe.kind, probe.user)
            answer = expected(machine, tables.root, probe)
            value = None
            if not answer & WALK_FAULT:
                value = words.setdefault(answer, rng.next_u64())
                for _ in range(2):                       # decoys in the same page
                    decoy = page_align_down(answer, PAGE_4K) + 8 * rng.below(PAGE_4K // 8)
                    words.setdefault(decoy, rng.next_u64())
            questions.append(Question(len(questions) + 1, probe, answer, value))
    pages = {frame: _nonzero(machine, frame) for frame in tables.table_frames}
    return Quiz(tables.root, pages, sorted(words.items()), questions)


def _nonzero(machine, frame: int) -> list[tuple[int, int]]:
    return [(i, machine.ram.read_u64(frame + 8 * i)) for i in range(ENTRIES)
            if machine.ram.read_u64(frame + 8 * i)]


def quiz_text(quiz: Quiz) -> str:
    """quiz.md: the tables, the values, the questions."""
    lines = ["# Part A: walk these tables by hand", "",
             f"CR3 = `{quiz.root:#x}`. The machine maps RAM at physical = virtual for the "
             "kernel, and these are every nonzero 8-byte word of every page-table page it "
             "has (a page not listed here is all zeros):", "", "```"]
    for frame in sorted(quiz.pages):
        lines.append(f"page {frame:#x}:")
        lines += [f"  [{i:3}] @{frame + 8 * i:#x} = {entry:#018x}" for i, entry in quiz.pages[frame]]
    lines += ["```", "", "The 8-byte values stored at some physical addresses (little-endian "
              "words, as `x/gx` shows them):", "", "```"]
    lines += [f"  {address:#x}: {value:#018x}" for address, value in quiz.words]
    lines += ["```", "", "For each access: the physical address and the 8-byte value read "
              "there, or the level and reason the walk stops (write them in answers.txt).", ""]
    lines += [f"- **Q{q.number}** {q.probe.kind} ({'user' if q.probe.user else 'supervisor'}) "
              f"at `{q.probe.vaddr:#x}`" for q in quiz.questions]
    return "\n".join(lines) + "\n"


def solution_lines(quiz: Quiz) -> list[str]:
    return [f"Q{q.number}: {format_answer(q)}" for q in quiz.questions]


def format_answer(question: Question) -> str:
    if question.value is not None:
        return f"{question.answer:#x} = {question.value:#x}"
    level, reason = (question.answer >> 8) & 0xFF, question.answer & 0xFF
    return f"fault {LEVEL_NAMES[level]} {REASON_WORDS[reason]}"


def parse_answers(text: str) -> dict[int, str]:
    """{question number: the answer text} from answers.txt (comments: #)."""
    answers = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        match = ANSWER_LINE.match(line)
        if match and match.group(2):
            answers[int(match.group(1))] = match.group(2)
    return answers


def grade_answer(question: Question, text: str) -> str:
    """'' when `text` answers `question` right, else what is wrong with it."""
    words = text.replace("=", " = ").lower().split()
    if words and words[0] == "fault":
        if len(words) != 3 or words[1] not in LEVEL_WORDS or words[2] not in REASON_NUMBERS:
            return "write a fault as: fault LEVEL REASON (e.g. fault PD not-present)"
        got = WALK_FAULT | LEVEL_WORDS[words[1]] << 8 | REASON_NUMBERS[words[2]]
        return "" if got == question.answer else "wrong"
    try:
        address, value = _numbers(words)
    except ValueError:
        return "write an access as: PHYSICAL = VALUE (e.g. 0x3c01238 = 0x8c0f...)"
    if question.value is None or address != question.answer:
        return "wrong"
    return "" if value == question.value else "the address is right, the value is not"


def _numbers(words: list[str]) -> tuple[int, int]:
    if len(words) != 3 or words[1] != "=":
        raise ValueError("not ADDRESS = VALUE")
    return int(words[0].replace("_", ""), 0), int(words[2].replace("_", ""), 0)



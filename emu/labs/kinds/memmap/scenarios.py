"""Calls whose right answer is the same under every variant's rules.

The contract tests (registers, direction flag, entries 0 and 1, budget,
performance) must not depend on the policy, or one policy mistake would cost
every test. So they use maps where the rules agree:

  allocate   exactly one free run is at least COUNT long, and it is exactly
             COUNT long: every policy takes all of it
  release    a range of used chunks: both rules free all of it
  get_free   one free run and nothing else free: its length either way

Each generator checks that agreement against the model before using a case.
"""

from __future__ import annotations

from kernel import layout

from ....errors import KernelPanic
from .cases import ALLOCATE, GET_FREE, RELEASE, Case
from .model import FREE, GET_FREE_RULES, POLICIES, RELEASE_RULES, USED
from .replay import apply, new_model


def one_fit_map(chunks: int, count: int, at: int, shorter: int) -> bytes:
    """All used but one free run of exactly `count` at entry `at`, and runs of
    `shorter` (< count) free chunks everywhere else there is room."""
    entries = bytearray([USED]) * chunks
    entries[at:at + count] = bytes([FREE]) * count
    index = 2
    while shorter and index + shorter < chunks:
        if not (at - shorter - 1 <= index <= at + count):
            entries[index:index + shorter] = bytes([FREE]) * shorter
        index += shorter + 1
    return bytes(entries)


def agreed(case: Case) -> Case:
    """`case`, after checking every rule gives the same answers on it."""
    answers = set()
    for policy in POLICIES:
        for release in RELEASE_RULES:
            for get_free in GET_FREE_RULES:
                model = new_model({"policy": policy, "release": release,
                                   "get_free": get_free}, case.entries)
                answers.add(tuple(apply(model, op) for op in case.ops))
    if len(answers) != 1:
        raise KernelPanic(f"memmap scenarios: the rules disagree on {case.title}")
    return case


def contract_cases(rng, chunks: int) -> list[Case]:
    """A few calls of each routine whose answers every variant agrees on."""
    cases = []
    for i in range(3):
        count = rng.between(2, min(6, chunks // 4))     # 2 or more: a backward
                                                        # rep stosb (DF set) shows
        at = rng.between(2, chunks - count)
        entries = one_fit_map(chunks, count, at, shorter=count - 1)
        cases.append(agreed(Case(f"allocate scenario {i + 1}", entries, [(ALLOCATE, count)])))
        used = bytes([USED]) * chunks
        first = rng.between(2, chunks - 2)
        cases.append(agreed(Case(f"release scenario {i + 1}", used,
                                 [(RELEASE, layout.chunk_base(first),
                                   rng.between(2, min(8, chunks - first)))])))
        cases.append(agreed(Case(f"get_free scenario {i + 1}",
                                 one_fit_map(chunks, count, at, shorter=0), [(GET_FREE,)])))
    return cases


def entry_one_cases(chunks: int) -> list[Case]:
    """Chunk 1 is the only place that fits; chunk 0 is never handed out."""
    only_one = bytearray([USED]) * chunks
    only_one[1] = FREE
    low_run = one_fit_map(chunks, 3, 1, shorter=2)
    return [agreed(Case("only chunk 1 is free", bytes(only_one),
                        [(GET_FREE,), (ALLOCATE, 1), (ALLOCATE, 1), (RELEASE, 0, 1)])),
            agreed(Case("the only run of 3 starts at chunk 1", low_run, [(ALLOCATE, 3)])),
            agreed(Case("releasing chunk 1", bytes([USED]) * chunks,
                        [(RELEASE, layout.chunk_base(1), 1), (GET_FREE,)]))]


def scan_cases(chunks: int, count: int) -> list[Case]:
    """The longest scans: the one fitting run at the bottom, then at the top,
    with runs of count - 1 free chunks everywhere else."""
    return [agreed(Case(f"one run of {count} at the bottom",
                        one_fit_map(chunks, count, 2, shorter=count - 1), [(ALLOCATE, count)])),
            agreed(Case(f"one run of {count} at the top",
                        one_fit_map(chunks, count, chunks - count, shorter=count - 1),
                        [(ALLOCATE, count)]))]

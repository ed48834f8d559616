"""The cow lab's scenarios: which runs of tests/cowtests.c each test makes,
and what each checkpoint tag means (the program's header says what each
scenario does).

    test              scenarios                     cowtest's
    simple-fork       simple                        simpletest
    three-children    three                         threetest
    pipe-through      pipe                          filetest (through a pipe)
    fork-loop         loop                          forkforkfork, in a row
    parent-first      first                         (hidden)
    read-only         readonly: a child must die    (hidden)
    more-seeds        simple and three again        (hidden)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    n: int

    @property
    def argv(self) -> list[str]:
        return ["cowtests", self.name, str(self.seed), str(self.n)]

    @property
    def label(self) -> str:
        return f"`cowtests {self.name} {self.seed} {self.n}`"

    def to_json(self) -> dict:
        return {"name": self.name, "seed": self.seed, "n": self.n}

    @classmethod
    def from_json(cls, data: dict) -> "Scenario":
        return cls(str(data["name"]), int(data["seed"]), int(data["n"]))


def _seed(stream) -> int:
    return stream.between(1, 999_999)


def scenarios_for(test: str, stream) -> list[Scenario]:
    """The runs test `test` makes, drawn from `stream` (public or hidden)."""
    make = {
        "simple-fork": lambda: [Scenario("simple", _seed(stream), stream.between(64, 128))],
        "three-children": lambda: [Scenario("three", _seed(stream), stream.between(48, 96))],
        "pipe-through": lambda: [Scenario("pipe", _seed(stream), stream.between(8, 20))],
        "fork-loop": lambda: [Scenario("loop", _seed(stream), stream.between(24, 40))],
        "parent-first": lambda: [Scenario("first", _seed(stream), stream.between(16, 48))],
        "read-only": lambda: [Scenario("readonly", _seed(stream), stream.between(8, 32))],
        "more-seeds": lambda: [Scenario("simple", _seed(stream), stream.between(32, 64)),
                               Scenario("three", _seed(stream), stream.between(24, 48))],
    }
    return make[test]()


def who(tag: int) -> str:
    """Which process a checkpoint tag belongs to, in words."""
    return "the parent" if tag < 100 else f"child {tag // 100}"


# What a process must see at a checkpoint, for the failure message.
SEES = {
    "simple": {1: "its own pages after the child rewrote half of its copies",
               2: "its pages rewritten, once the child is gone",
               100: "the parent's pages, just after the fork",
               101: "the pages it rewrote itself"},
    "three": {1: "its own pages after three children rewrote theirs",
              2: "its pages rewritten, once the children are gone"},
    "pipe": {1: "its own pages, which neither child may change",
             100: "the pages the sender rewrote",
             200: "exactly the sender's pages, read from the pipe into its own copy"},
    "loop": {},
    "first": {1: "the pages it has just rewritten",
              2: "the same, after the child read the old ones",
              100: "the parent's pages as they were at the fork, though the parent "
                   "rewrote them since"},
    "readonly": {1: "its own pages, whatever the dying child wrote",
                 100: "the pages it rewrote before its fatal write"},
}


def sees(scenario: Scenario, tag: int) -> str:
    table = SEES[scenario.name]
    if tag in table:
        return table[tag]
    if scenario.name == "three":
        return ("the parent's pages, just after the fork" if tag % 100 == 0
                else "the pages it rewrote itself")
    if scenario.name == "loop":
        return "the parent's pages after another child came and went"
    return "its pages"

"""The lazy lab's scenarios: which runs of tests/lazytests.c each test makes.

A scenario is one run, `lazytests NAME SEED N`: the program does the rest
(its header says what each NAME does). The seeds and sizes come from the
variant: the public tests from the handout's stream, so `emu lab check`
makes the same runs as the grader, the hidden ones from the hidden seed.

    test              scenarios                      the process must
    heap-sbrk         heap                           exit 0
    mmap-sparse       sparse                         exit 0
    stack-growth      stack, within the limit        exit 0
    mprotect-write    mprotect                       die: SIGSEGV
    munmap-touch      munmap                         die: SIGSEGV
    dontneed-zeros    dontneed                       exit 0, reading zeros back
    stack-limit       stack, past the limit          die: SIGSEGV   (hidden)
    exec-data         nx                             die: SIGSEGV   (hidden)
    wild-address      wild                           die: SIGSEGV   (hidden)
    more-seeds        heap, sparse, dontneed again   exit 0         (hidden)
"""

from __future__ import annotations

from dataclasses import dataclass

STACK_TOP = 0x7FFF_FFFF_F000          # kernel/address_space.py: the top of [stack]
PAGE = 4096


@dataclass(frozen=True)
class Scenario:
    """One run of lazytests: argv and what it is about."""
    name: str
    seed: int
    n: int

    @property
    def argv(self) -> list[str]:
        return ["lazytests", self.name, str(self.seed), str(self.n)]

    @property
    def label(self) -> str:
        return f"`lazytests {self.name} {self.seed} {self.n}`"

    def to_json(self) -> dict:
        return {"name": self.name, "seed": self.seed, "n": self.n}

    @classmethod
    def from_json(cls, data: dict) -> "Scenario":
        return cls(str(data["name"]), int(data["seed"]), int(data["n"]))


# What a scenario is for, in the words a failure message uses.
PURPOSE = {
    "heap": "sbrk grows [heap]; its pages must appear, zeroed, when first touched",
    "sparse": "a big mmap touched here and there: only the touched pages get frames",
    "stack": "the stack grows down into [stack], page by page, up to the stack limit",
    "mprotect": "a write to a PROT_READ mapping, on a page never written, must not go through",
    "munmap": "a page that munmap took away must stay away",
    "dontneed": "pages dropped with MADV_DONTNEED read zeros when touched again",
    "nx": "data is not code: a fetch from a mapping without PROT_EXEC must fault",
    "wild": "an address no VMA covers is no page at all",
}


def draw_limit(stream, low_pages: int, high_pages: int) -> int:
    """The variant's stack limit in pages."""
    return stream.between(low_pages, high_pages)


def _seed(stream) -> int:
    return stream.between(1, 999_999)


def scenarios_for(test: str, stream, limit_pages: int) -> list[Scenario]:
    """The runs test `test` makes, drawn from `stream` (public or hidden)."""
    make = {
        "heap-sbrk": lambda: [Scenario("heap", _seed(stream), stream.between(12, 24))],
        "mmap-sparse": lambda: [Scenario("sparse", _seed(stream), stream.between(40, 80))],
        "stack-growth": lambda: [Scenario("stack", _seed(stream),
                                          limit_pages - stream.between(4, 8))],
        "mprotect-write": lambda: [Scenario("mprotect", _seed(stream), stream.between(4, 10))],
        "munmap-touch": lambda: [Scenario("munmap", _seed(stream), stream.between(6, 12))],
        "dontneed-zeros": lambda: [Scenario("dontneed", _seed(stream), stream.between(6, 12))],
        "stack-limit": lambda: [Scenario("stack", _seed(stream),
                                         limit_pages + stream.between(4, 12))],
        "exec-data": lambda: [Scenario("nx", _seed(stream), stream.between(2, 6))],
        "wild-address": lambda: [Scenario("wild", _seed(stream), stream.between(2, 6))],
        "more-seeds": lambda: [Scenario("heap", _seed(stream), stream.between(24, 40)),
                               Scenario("sparse", _seed(stream), stream.between(80, 120)),
                               Scenario("dontneed", _seed(stream), stream.between(12, 20))],
    }
    return make[test]()


def variant_header(limit_pages: int) -> str:
    """variant.h: the same constants for a handler in C."""
    return (f"/* variant.h -- your variant's constants (the grader writes its own copy) */\n"
            f"#define STACK_TOP   {STACK_TOP:#x}ull   /* the top of [stack] */\n"
            f"#define STACK_LIMIT ({limit_pages}ull * PAGE_SIZE)   /* how deep the stack "
            f"may grow ({limit_pages * PAGE // 1024} KiB) */\n")


def variant_include(limit_pages: int) -> str:
    """variant.inc: the constants a handler %includes."""
    return (f"; variant.inc -- your variant's constants (the grader writes its own copy)\n"
            f"STACK_TOP   equ {STACK_TOP:#x}      ; the top of [stack]\n"
            f"STACK_LIMIT equ {limit_pages} * PAGE_SIZE    ; how deep the stack may grow "
            f"({limit_pages * PAGE // 1024} KiB)\n")

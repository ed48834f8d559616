"""What the memmap handout shows for a variant: its rules, its starting map,
the constants file the routines are assembled with, and a first call to try."""

from __future__ import annotations

from .cases import start_map
from .model import FREE, GET_FREE_RULES, POLICIES, RELEASE_RULES
from .replay import map_picture, new_model

TRY_COUNT = 3

POLICY_TEXT = {
    "highest-fit": "**highest fit**: take the highest run of free chunks that is long enough; "
                   "if the run is longer than RCX, take its top RCX chunks (this is what "
                   "`asm/os_mem_allocate.asm` does)",
    "lowest-first-fit": "**lowest first fit**: take the lowest run of RCX free chunks (the "
                        "first one an upward scan from entry 1 meets)",
    "best-fit": "**best fit**: among the maximal runs of free chunks at least RCX long, take "
                "the shortest (the lowest of equal ones), and its lowest RCX chunks",
}
RELEASE_TEXT = {
    "all-or-nothing": "**all or nothing**: if any chunk of the range is not used, refuse "
                      "(RCX = 0) and change nothing; else free them all (RCX = count)",
    "best-effort": "**best effort**: free the chunks of the range that are used and return "
                   "how many that was in RCX (0 when none was)",
}
GET_FREE_TEXT = {
    "free-count": "**free count**: RCX = the number of free chunks",
    "largest-run": "**largest run**: RCX = the length of the longest run of free chunks "
                   "(the largest os_mem_allocate that can succeed)",
}


def variant_source(variant, params: dict) -> str:
    """variant.asm: the constants every routine is assembled with."""
    def number(table, value):
        return table.index(value) + 1
    lines = [
        f"; variant.asm -- your memmap variant ({variant.who}, variant {variant.id}).",
        "; The grader assembles your routines after this file, so they may use these names.",
        "; Made by `emu lab init`; do not edit it (the grader uses its own copy).",
        "",
        *[f"MEMMAP_{name.upper().replace('-', '_'):<20} equ {i + 1}"
          for i, name in enumerate(POLICIES)],
        *[f"MEMMAP_{name.upper().replace('-', '_'):<20} equ {i + 1}"
          for i, name in enumerate(RELEASE_RULES)],
        *[f"MEMMAP_{name.upper().replace('-', '_'):<20} equ {i + 1}"
          for i, name in enumerate(GET_FREE_RULES)],
        "",
        f"MEMMAP_POLICY               equ {number(POLICIES, params['policy'])}"
        f"      ; {params['policy']}",
        f"MEMMAP_RELEASE              equ {number(RELEASE_RULES, params['release'])}"
        f"      ; {params['release']}",
        f"MEMMAP_GET_FREE             equ {number(GET_FREE_RULES, params['get_free'])}"
        f"      ; {params['get_free']}",
        f"MEMMAP_RAM_MIB              equ {params['ram_mib']}",
    ]
    return "\n".join(lines) + "\n"


def try_source(params: dict) -> str:
    """tests/try.asm: set up the starting map, then call os_mem_allocate once."""
    chunks = params["ram_mib"] // 2
    entries = start_map(params["start_used"], chunks)
    rows = [", ".join(str(e) for e in entries[i:i + 32]) for i in range(0, chunks, 32)]
    data = "\n".join(f"        db {row}" for row in rows)
    return f"""; try -- copy your variant's starting map into the os_MemoryMap, then call
; os_mem_allocate with RCX = {TRY_COUNT}. Run it (from the handout folder) with:
;
;   emu call tests/try.asm try --load variant.asm --load os_mem_allocate.asm \\
;       --load os_mem_release.asm --load os_mem_get_free.asm \\
;       --ram-mib {params['ram_mib']} --show memmap
;
; The README says what RAX must be.

try:
        push rsi
        push rdi
        push rcx
        cld
        mov rsi, try_start_map          ; copy {chunks} entries into the os_MemoryMap
        mov rdi, os_MemoryMap
        mov rcx, {chunks}
        rep movsb
        pop rcx
        pop rdi
        pop rsi
        mov rcx, {TRY_COUNT}
        call os_mem_allocate            ; RAX = the address, or 0
        ret

try_start_map:
{data}
"""


def try_answer(params: dict) -> int:
    chunks = params["ram_mib"] // 2
    return new_model(params, start_map(params["start_used"], chunks)).allocate(TRY_COUNT)


def template_values(config, params: dict) -> dict[str, str]:
    chunks = params["ram_mib"] // 2
    budgets = config.budgets
    return {
        "ram_mib": str(params["ram_mib"]), "chunks": str(chunks),
        "policy": params["policy"], "policy_text": POLICY_TEXT[params["policy"]],
        "release_rule": params["release"], "release_text": RELEASE_TEXT[params["release"]],
        "get_free_rule": params["get_free"], "get_free_text": GET_FREE_TEXT[params["get_free"]],
        "start_map": map_picture(start_map(params["start_used"], chunks)),
        "try_count": str(TRY_COUNT), "try_answer": f"{try_answer(params):#x}",
        "call_budget": f"{budgets.get('call_base', 0) + budgets.get('call_per_chunk', 0) * chunks:,}",
        "call_base": str(budgets.get("call_base", 0)),
        "call_per_chunk": str(budgets.get("call_per_chunk", 0)),
        "perf_full": str(budgets.get("perf_full_per_chunk", 0)),
        "perf_half": str(budgets.get("perf_half_per_chunk", 0)),
    }


def answers(params: dict) -> list[str]:
    """`emu lab solve memmap --seed N`: the variant and what the first call returns."""
    chunks = params["ram_mib"] // 2
    free = start_map(params["start_used"], chunks).count(FREE)
    return [f"RAM {params['ram_mib']} MiB ({chunks} chunks); policy {params['policy']}; "
            f"release {params['release']}; get_free {params['get_free']}",
            f"starting map: {free} free, {chunks - free} used chunks",
            f"tests/try.asm: os_mem_allocate(rcx={TRY_COUNT}) on the starting map returns "
            f"{try_answer(params):#x}",
            "(the lab is code: `emu lab check` and the reference in instructor/ do the rest)"]


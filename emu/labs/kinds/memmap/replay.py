"""Replaying a Case through the student's routines and the model, side by side.

For each call the guest gets random canaries in the registers it does not
take; its answer register and then the whole os_MemoryMap (all 65,536
bytes, so a write past the end of RAM shows) are compared with the model's.
The first difference ends the replay with a message that says what the
variant's rule expected and why, and a repro record holding the map just
before that call, the call, and its registers.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel import layout

from ..calls import RFLAGS_CLEAR, call_routine, canaries
from .cases import ALLOCATE, GET_FREE, RELEASE, RELEASE_TAKEN, largest_free
from .model import FREE, POLICIES, USED, VariantMemoryMap

ROUTINES = {ALLOCATE: "os_mem_allocate", RELEASE: "os_mem_release",
            GET_FREE: "os_mem_get_free"}
OUTPUT = {ALLOCATE: "rax", RELEASE: "rcx", GET_FREE: "rcx"}
STATE = {0: "absent", FREE: "free", USED: "used"}
SHOWN_DIFFERENCES = 6


@dataclass
class Mismatch:
    """Why a replay stopped: one line, details, and what repro needs."""
    message: str
    details: str
    repro: dict


def new_model(params: dict, entries: bytes) -> VariantMemoryMap:
    """The model over a full-size copy of the map (entries beyond RAM absent)."""
    full = bytearray(layout.MEMORY_MAP_ENTRIES)
    full[:len(entries)] = entries
    return VariantMemoryMap(full, len(entries), params["policy"], params["release"],
                            params["get_free"])


def describe_call(op) -> str:
    if op[0] == ALLOCATE:
        return f"os_mem_allocate(rcx={op[1]})"
    if op[0] == RELEASE:
        return f"os_mem_release(rax={op[1]:#x}, rcx={op[2]})"
    return "os_mem_get_free()"


def inputs(op) -> dict[str, int]:
    if op[0] == ALLOCATE:
        return {"rcx": op[1]}
    if op[0] == RELEASE:
        return {"rax": op[1], "rcx": op[2]}
    return {}


def resolve(op, taken: list):
    """A concrete call for `op`: RELEASE_TAKEN becomes a RELEASE of an earlier
    successful allocation (whole, or its first half)."""
    if op[0] != RELEASE_TAKEN:
        return op
    if not taken:
        return (GET_FREE,)
    address, count = taken[op[1] % len(taken)]
    return (RELEASE, address, count if op[2] == "whole" else max(1, count // 2))


def apply(model: VariantMemoryMap, op) -> int:
    """What the model answers for `op` (changing its map as the call would)."""
    if op[0] == ALLOCATE:
        return model.allocate(op[1])
    if op[0] == RELEASE:
        return model.release(op[1], op[2])
    return model.get_free()


def replay(machine, params: dict, case, rng, budget: int, rflags: int = RFLAGS_CLEAR,
           after_call=None) -> Mismatch | None:
    """Run `case` on `machine`; None when every call matched the model.
    `after_call(op, before, after)` may add a check of its own (it returns a
    message, or "" when content)."""
    model = new_model(params, case.entries)
    machine.ram.write_data(layout.MEMORY_MAP, bytes(model.entries))
    taken: list[tuple[int, int]] = []
    for op in case.ops:
        op = resolve(op, taken)
        before = model.snapshot()
        expected = apply(model, op)
        registers = canaries(rng, inputs(op))
        result = call_routine(machine, ROUTINES[op[0]], registers, budget, rflags)
        repro = {"ram_mib": machine.ram_mib, "entries": encode_runs(before), "call": list(op),
                 "registers": registers, "rflags": rflags}
        where = f"{case.title}, call {describe_call(op)}"
        if not result.returned or result.problem:
            return Mismatch(f"{where}: {result.problem}", map_picture(before), repro)
        got = result.registers[OUTPUT[op[0]]]
        if got != expected:
            return Mismatch(f"{where}: returned {OUTPUT[op[0]]}={_value(op, got)}, expected "
                            f"{_value(op, expected)}. {explain(params, op, before, expected)}",
                            map_picture(before), repro)
        guest = machine.ram.read(layout.MEMORY_MAP, layout.MEMORY_MAP_ENTRIES)
        if guest != bytes(model.entries):
            return Mismatch(f"{where}: the answer was right but the map is not: "
                            f"{map_differences(bytes(model.entries), guest)}",
                            map_picture(before), repro)
        problem = after_call(op, registers, result) if after_call else ""
        if problem:
            return Mismatch(f"{where}: {problem}", "", repro)
        if op[0] == ALLOCATE and expected:
            taken.append((expected, op[1]))
    return None


def _value(op, value: int) -> str:
    return f"{value:#x}" if op[0] == ALLOCATE else str(value)


# -- messages ------------------------------------------------------------------------------

POLICY_WORDS = {"highest-fit": "highest fit (the highest run of free chunks that fits)",
                "lowest-first-fit": "lowest first fit (the lowest run of free chunks that fits)",
                "best-fit": "best fit (the shortest free run that fits, the lowest of equals)"}


def explain(params: dict, op, before: bytes, expected: int) -> str:
    """Why the model's answer is what it is, in the variant's own terms."""
    if op[0] == ALLOCATE:
        return _explain_allocate(params, op[1], before, expected)
    if op[0] == RELEASE:
        return _explain_release(params, op, before, expected)
    rule = params["get_free"]
    return ("Your variant's get_free counts the free chunks." if rule == "free-count" else
            "Your variant's get_free returns the length of the longest run of free chunks.")


def _explain_allocate(params, count: int, before: bytes, expected: int) -> str:
    policy = params["policy"]
    if count == 0:
        return "A count of 0 gets nothing: RAX = 0."
    if expected == 0:
        return (f"No run of {count} free chunks exists (the longest is "
                f"{largest_free(before)}), so the answer is 0 and the map is unchanged.")
    others = {other: new_model({**params, "policy": other}, before).allocate(count)
              for other in POLICIES if other != policy}
    chunk = layout.chunk_of(expected)
    if all(address == expected for address in others.values()):
        return f"Every policy takes chunk {chunk} here: it starts the only run that fits."
    compare = "; ".join(f"{other} would give {address:#x}" for other, address in others.items())
    return f"Your variant's policy is {POLICY_WORDS[policy]}: chunk {chunk} ({compare})."


def _explain_release(params, op, before: bytes, expected: int) -> str:
    _, address, count = op
    chunks = len(before)
    if address == 0 or address % layout.CHUNK_SIZE:
        return "The address must be a nonzero multiple of 2 MiB (0x200000): refuse, RCX = 0."
    if count == 0:
        return "A count of 0 releases nothing: RCX = 0."
    first = layout.chunk_of(address)
    if first + count > chunks:
        return (f"Chunks {first}..{first + count - 1} run past the end of RAM "
                f"({chunks} chunks): refuse, RCX = 0.")
    states = before[first:first + count]
    if params["release"] == "all-or-nothing":
        if expected == 0:
            free = next(first + i for i, s in enumerate(states) if s != USED)
            return (f"Chunk {free} in that range is {STATE[before[free]]}; your variant's rule "
                    f"is all-or-nothing: refuse the whole release, RCX = 0.")
        return "Every chunk in the range is used: free them all, RCX = count."
    return (f"Your variant's rule is best-effort: free the used chunks of the range "
            f"({states.count(USED)} of {count} here) and return how many.")


def map_differences(expected: bytes, found: bytes) -> str:
    diffs = [i for i in range(len(expected)) if expected[i] != found[i]]
    shown = ", ".join(f"chunk {i}: expected {STATE.get(expected[i], expected[i])}, found "
                      f"{STATE.get(found[i], found[i])}" for i in diffs[:SHOWN_DIFFERENCES])
    more = f" (and {len(diffs) - SHOWN_DIFFERENCES} more)" if len(diffs) > SHOWN_DIFFERENCES else ""
    return shown + more


def map_picture(entries: bytes, width: int = 64) -> str:
    """The map before the call: '#' used, '.' free, 64 chunks a row."""
    rows = ["the map before this call ('#' used, '.' free; chunk 0 at the left):"]
    symbols = {USED: "#", FREE: "."}
    for start in range(0, len(entries), width):
        row = "".join(symbols.get(e, "?") for e in entries[start:start + width])
        rows.append(f"  {start:5}  {row}")
    return "\n".join(rows)


def encode_runs(entries: bytes) -> list:
    """A map as [[value, count], ...] (repro records stay small)."""
    runs: list = []
    for value in entries:
        if runs and runs[-1][0] == value:
            runs[-1][1] += 1
        else:
            runs.append([value, 1])
    return runs


def decode_runs(runs: list) -> bytes:
    return b"".join(bytes([value]) * count for value, count in runs)


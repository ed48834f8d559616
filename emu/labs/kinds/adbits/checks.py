"""Comparing what the student's calls reported with what the MMU recorded.

For each call of a script, in order, the first difference is the test's
message: the call (as the program made it), what came back, what a correct
kernel reports (the model of scripts.py, which a test holds to the MMU's own
bits), and why, from the script's history and the tables as the call began
and after it returned:

    call 2, sys_pgaccess(0xf81de0000, 62, bitmap): bit 2 (page 4, 0xf81de2000) is 0,
    expected 1: page 4 was touched again after call 0 cleared its A bit, yet its
    leaf entry had A clear when this call began: without invlpg after clearing,
    the CPU keeps the old translation in its TLB and never sets A again

Nothing is learnt from the program's printed lines: the result, the bitmap
buffer (with its guard bytes) and the page tables are read from the machine
(run.py).
"""

from __future__ import annotations

import re

from ..kernel_runs import RAM_MIB
from .run import POISON, Region, ScriptRun, SeenCall
from .scripts import EINVAL, HUGE_PAGES, PGACCESS, PGDIRTY, Call, Expected, Script

BIT_NAMES = {PGACCESS: "A", PGDIRTY: "D"}
PHYSICAL_READ = re.compile(r"(?:read|write) at (0x[0-9a-f]+): not present \(kernel mode\)")


class History:
    """Which pages the script touched, and how, between its calls."""

    def __init__(self, script: Script):
        self.script = script
        self.touches: list[list[tuple[int, bool]]] = [[]]   # per gap: (page, write)
        for op in script.ops:
            if op[0] in "rw":
                self.touches[-1].append((int(op[1:]), op[0] == "w"))
            else:
                self.touches.append([])

    def touched(self, page: int, before: int, since: int = 0, writes: bool = False) -> bool:
        """Was `page` touched (written, with `writes`) after call since-1 and before call `before`?"""
        return any(p == page and (w or not writes)
                   for gap in self.touches[since:before + 1] for p, w in gap)

    def last_covering(self, page: int, before: int) -> int | None:
        """The last valid call of call `before`'s kind, before it, whose range held `page`."""
        kind = self.script.calls[before].kind
        for index in range(before - 1, -1, -1):
            call = self.script.calls[index]
            if call.kind == kind and call.start <= page < call.start + call.pages \
                    and self.script.expected[index].result == 0:
                return index
        return None


def first_difference(run: ScriptRun, script: Script, region: Region,
                     limit: int) -> tuple[int | None, str]:
    """(None, '') when every call returned and wrote what it should; else the
    first failing call's index (None when the failure came after the last
    call) and one message."""
    history = History(script)
    seen = {call.index: call for call in run.calls}
    for index, (call, expected) in enumerate(zip(script.calls, script.expected)):
        where = f"call {index}, {call.describe(region.base)}"
        got = seen.get(index)
        if got is None:
            ending = run.outcome.ending()
            return index, f"{where}: the program never got back from it ({ending}){_oops_hint(ending)}"
        problem = _result_problem(call, expected, got.result, limit) \
            or _buffer_problem(call, expected, got.buffer) \
            or _bit_problem(call, expected, got, index, history, run, region)
        if problem:
            return index, f"{where}: {problem}"
    if run.outcome.status != 0:
        return None, f"the program {run.outcome.ending()} after its last call"
    return None, ""


def _oops_hint(ending: str) -> str:
    """A hint for the classic oops: a table's physical address used as a pointer."""
    match = PHYSICAL_READ.search(ending)
    if match and int(match.group(1), 16) < RAM_MIB << 20:
        return ("; an entry's address is physical: the kernel reaches physical pa at "
                "DIRECT_MAP + pa")
    return ""


def _result_problem(call: Call, expected: Expected, result: int, limit: int) -> str:
    if result == expected.result:
        return ""
    if expected.result == EINVAL:
        why = ("the address is not page-aligned" if call.offset else
               "npages is 0" if call.pages == 0 else
               f"npages = {call.pages} is more than this variant's limit of {limit}")
        return f"returned {result}, expected -EINVAL (-22): {why}"
    exactly = f"; npages = {limit} is the limit itself, which is allowed" \
        if call.pages == limit else ""
    return (f"returned {result}, expected 0 (a page-aligned address and 1 <= npages <= {limit} "
            f"is a valid call{exactly})")


def _buffer_problem(call: Call, expected: Expected, buffer: bytes) -> str:
    """Bytes written where nothing may be: past the bitmap, or on an EINVAL."""
    size = 0 if expected.bitmap is None else len(expected.bitmap)
    for offset in range(size, len(buffer)):
        if buffer[offset] != POISON:
            if expected.bitmap is None:
                return (f"returned -EINVAL but wrote byte {offset} of the bitmap "
                        f"(a refused call writes nothing)")
            return (f"wrote byte {offset} of the bitmap, past its (npages + 7) / 8 = {size} "
                    f"bytes (the user's buffer may end there)")
    return ""


def _bit_problem(call: Call, expected: Expected, got: SeenCall, index: int, history: History,
                 run: ScriptRun, region: Region) -> str:
    if expected.bitmap is None:
        return ""
    bit = BIT_NAMES[call.kind]
    for i in range(8 * len(expected.bitmap)):
        want = expected.bitmap[i // 8] >> (i % 8) & 1
        have = got.buffer[i // 8] >> (i % 8) & 1
        if want == have:
            continue
        if i >= call.pages:
            return (f"bit {i} of the bitmap is 1, but the call asked about {call.pages} pages: "
                    f"the bits past npages in the last byte must be 0")
        page = call.start + i
        head = (f"bit {i} (page {page}, {region.address(page):#x}) is {have}, expected {want}: ")
        if want:
            return head + _why_set(call, i, page, bit, got, index, history, region)
        return head + _why_clear(call, page, bit, index, history, run)
    return ""


def _why_set(call: Call, i: int, page: int, bit: str, got: SeenCall, index: int,
             history: History, region: Region) -> str:
    """Why the MMU should have had the bit set that the call reported as 0."""
    did = "written" if bit == "D" else "touched"
    last = history.last_covering(page, index)
    if page not in got.set_before and last is not None and history.touched(page, last):
        return (f"page {page} was {did} again after call {last} cleared its {bit} bit, yet "
                f"its leaf entry had {bit} clear when this call began: without invlpg after "
                f"clearing, the CPU keeps the old translation in its TLB and never sets "
                f"{bit} again")
    if region.low <= page < region.low + HUGE_PAGES:
        earlier = [j for j in range(i) if region.low <= call.start + j
                   and got.buffer[j // 8] >> (j % 8) & 1]
        text = (f"page {page} lies in the 2 MiB page at {region.huge:#x}, mapped by one PD "
                f"entry with PS (bit 7), whose {bit} bit stands for all {HUGE_PAGES} of its "
                f"4 KiB pages, and it was set")
        if earlier:
            return text + (f"; the call reported it for page {call.start + earlier[0]} of the "
                           f"same 2 MiB page: report every page of the range before clearing "
                           f"anything")
        return text + "; a PD entry with PS is the leaf: the walk stops there"
    return (f"page {page} was {did} "
            f"{'since call ' + str(last) if last is not None else 'before the call'}, and its "
            f"leaf entry had {bit} set when the call began")


def _why_clear(call: Call, page: int, bit: str, index: int, history: History,
               run: ScriptRun) -> str:
    """Why the MMU had the bit clear that the call reported as 1."""
    last = history.last_covering(page, index)
    previous = next((c for c in run.calls if c.index == last), None)
    if previous is not None and page in previous.still_set:
        return (f"call {last} reported page {page} and left its {bit} bit set in the page "
                f"table: a call must clear the bits it reports, so the next call sees only "
                f"pages touched since")
    if bit == "D" and history.touched(page, index, 0 if last is None else last + 1):
        return f"page {page} was only read: a read sets A, never D"
    if last is not None:
        return f"page {page} was not touched since call {last} cleared its {bit} bit"
    return f"page {page} was never touched, or is not mapped at all"

"""heap: the blocks of the heap in address order (allocated / free / overhead)."""

from ...heap import heap_lines, walk_heap
from ...paging import page_align_down, page_align_up
from .base import Command, CommandError


def _heap(repl, args: str):
    text = args.strip()
    try:
        limit = int(text) if text else 60
    except ValueError:
        raise CommandError(f"heap: '{text}' is not a number of blocks") from None
    dbg = repl.dbg
    space = dbg.runner.aspace
    walk = walk_heap(dbg.target.read, dbg.image.symbols, space.brk_start, space.brk,
                     dbg.heap_walker)
    first, end = page_align_down(walk.start), page_align_up(walk.end)
    resident = sum(1 for _ in space.tables.leaves(space.root, first, end - first,
                                                 split=False)) if walk.end > walk.start else 0
    return heap_lines(walk, resident, limit)


HEAP = Command("heap", _heap, "the heap's blocks: allocated, free, overhead (project allocators)",
               "heap [N]   (show at most N blocks, default 60)\nExamples:\n  heap\n  heap 200")

"""FrameAllocator.lend: frames lent to the MMU's demand-zero assist, and frames
the C munmap gives back to the loan, are handed out and taken back in the
order alloc() and free() would, and counted as they count them
(kernel/frames.py, kernel/assist.py, emu/native/anon_maps.c)."""

import random

from emu.ram import PhysicalRAM
from kernel import layout
from kernel.boot import boot
from kernel.frames import POISON

RAM_MIB = 16


class Borrower:
    """What the C walker does with a loan (emu/native/mmu.h's pool): takes
    frames from the end of the first lent list with any, zeroing each; puts
    frames it frees back on the end of their chunk's list, poisoned, or on
    its list of frames freed into later chunks."""

    def __init__(self, ram):
        self.ram, self.lists, self.changes = ram, [], 0
        self.shared, self.later, self.freed = False, {}, []

    def lend(self, loan) -> None:
        lists, self.shared, later = loan
        self.lists = [(base, list(frames)) for base, frames in lists]
        self.later, self.freed = dict(later), []

    def take(self) -> int:
        frames = next(frames for _, frames in self.lists if frames)
        frame = frames.pop()
        self.ram.write_data(frame, bytes(4096))
        self.changes += 1
        return frame

    def give_back(self, frame: int) -> None:
        self.ram.write_data(frame, POISON.to_bytes(8, "little") * 512)
        frames = self.list_of(frame)
        if frames is not None:
            frames.append(frame)
        else:
            self.later[layout.chunk_of(frame)] -= 1
            self.freed.append(frame)
        self.changes += 1

    def list_of(self, frame: int) -> list[int] | None:
        base = layout.chunk_base(layout.chunk_of(frame))
        return next((frames for b, frames in self.lists if b == base), None)

    def may_free(self, frame: int) -> bool:
        """anon_maps.c's check_leaf: no lent chunk may empty, nor a later one."""
        frames = self.list_of(frame)
        if frames is not None:
            return not self.shared and len(frames) + 1 < layout.FRAMES_PER_CHUNK
        return self.later.get(layout.chunk_of(frame), 0) > 1

    @property
    def lent(self) -> int:
        return sum(len(frames) for _, frames in self.lists)

    def changed(self) -> bool:
        return bool(self.changes)

    def returned(self) -> list[list[int]]:
        return [list(frames) for _, frames in self.lists]

    def elsewhere(self) -> list[int]:
        return list(self.freed)

    @property
    def freed_elsewhere(self) -> int:
        return len(self.freed)

    def take_back(self) -> None:
        self.lists, self.changes, self.later, self.freed = [], 0, {}, []


def machine():
    ram = PhysicalRAM(RAM_MIB << 20, lambda paddr, length: None)
    _, frames, _ = boot(ram, RAM_MIB)
    return ram, frames


def state(frames):
    frames.settle()
    free, in_use, refs, _heap, taken, _clock = frames.snapshot()
    return free, in_use, refs, taken, frames.available(), frames.chunks_held


def test_a_loan_hands_frames_out_in_allocs_order_and_counts_them_alike():
    ram, plain = machine()
    expected = [plain.alloc() for _ in range(12)]
    ram, frames = machine()
    first = frames.alloc()
    borrower = Borrower(ram)
    borrower.lend(frames.lend(borrower))
    assert frames.lend(borrower) is None                  # one loan at a time
    got = [first] + [borrower.take() for _ in range(3)]
    assert frames.available() == plain.available() + 12 - 4   # untaken lent frames count
    got += [frames.alloc() for _ in range(8)]             # settles, then allocates
    assert got == expected[:12]
    assert frames.frames_in_use == plain.frames_in_use and borrower.lent == 0
    assert all(frames.refcount(f) == 1 for f in got)
    assert ram.read(got[1], 8) == bytes(8)                # the borrower zeroed them


def test_a_loan_nothing_was_taken_from_leaves_no_trace():
    ram, frames = machine()
    before = (frames.frames_in_use, frames.chunks_held, frames.available())
    frame = frames.alloc()
    borrower = Borrower(ram)
    borrower.lend(frames.lend(borrower))
    frames.free(frame)                                    # settles first, then frees
    assert (frames.frames_in_use, frames.chunks_held, frames.available()) == before
    assert frames.alloc() == frame                        # the freed frame comes back first


def test_frames_freed_into_the_loan_come_back_as_free_would_give_them_back():
    """Random allocs and frees, on one allocator directly and on another
    through loans where the borrower can make them: the same frames, in the
    same order, and the same state after every step; alloc() takes from
    the loan itself while it has frames."""
    rng = random.Random(77)
    ram_a, plain = machine()
    ram_b, loaned = machine()
    borrower = Borrower(ram_b)
    held_a: list[int] = []
    held_b: list[int] = []
    through_loan = elsewhere = multi = 0
    for step in range(9000):
        if borrower.lent == 0 and not loaned._borrower and rng.random() < .5:
            loaned.LOAN_FRAMES = rng.choice((1, 512))   # one chunk lent, or many
            loaned.settle()
            loan = loaned.lend(borrower)
            if loan is not None:
                borrower.lend(loan)
                multi += len(loan[0]) > 1
        if held_a and (rng.random() < (.3 if step < 3000 else .5) or len(held_a) > 1400):
            i = rng.randrange(len(held_a))
            frame = held_a.pop(i)
            assert held_b.pop(i) == frame
            plain.free(frame)
            if loaned._borrower is not None and borrower.may_free(frame):
                elsewhere += borrower.list_of(frame) is None
                borrower.give_back(frame)
                through_loan += 1
            else:
                loaned.free(frame)
        else:
            frame = plain.alloc()
            by_walker = loaned._borrower is not None and borrower.lent and rng.random() < .5
            got = borrower.take() if by_walker else loaned.alloc()   # from the loan too
            assert got == frame, step
            held_a.append(frame)
            held_b.append(got)
        if step % 97 == 0:
            assert state(loaned) == state(plain), step
    assert state(loaned) == state(plain)
    assert bytes(ram_a.view) == bytes(ram_b.view)         # zeroed and poisoned alike
    assert through_loan > 1000 and elsewhere > 100 and multi > 50, (through_loan, elsewhere, multi)


def test_a_loan_says_when_a_frame_is_shared():
    ram, frames = machine()
    kept = [frames.alloc() for _ in range(3)]
    frames.share(kept[1])
    borrower = Borrower(ram)
    lists, shared, later = frames.lend(borrower)
    assert shared and lists[0][0] == kept[0] & ~(layout.CHUNK_SIZE - 1)
    assert len(lists) == 1 and later == []                # one chunk, nothing elsewhere
    frames.free(kept[1])                                  # one reference left: no settling
    assert frames._borrower is borrower and frames.refcount(kept[1]) == 1
    assert frames._borrower is None                       # a count of 1 settles the loan
    assert frames.lend(borrower)[1] is False

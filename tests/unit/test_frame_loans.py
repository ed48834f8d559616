"""FrameAllocator.lend: frames lent to the MMU's demand-zero assist are handed
out in the order alloc() would give them and counted as alloc() counts them,
whatever the borrower took (kernel/frames.py, kernel/assist.py)."""

from emu.ram import PhysicalRAM
from kernel.boot import boot

RAM_MIB = 16


class Borrower:
    """What the C walker does with a loan: takes a prefix, zeroing each frame."""

    def __init__(self, ram):
        self.ram, self.frames, self.used = ram, [], 0

    def take(self, count: int) -> list[int]:
        taken = self.frames[self.used:self.used + count]
        for frame in taken:
            self.ram.write_data(frame, bytes(4096))
        self.used += len(taken)
        return taken

    def taken(self) -> int:
        return self.used

    def take_back(self) -> None:
        self.frames, self.used = [], 0


def machine():
    ram = PhysicalRAM(RAM_MIB << 20, lambda paddr, length: None)
    _, frames, _ = boot(ram, RAM_MIB)
    return ram, frames


def test_a_loan_hands_frames_out_in_allocs_order_and_counts_them_alike():
    ram, plain = machine()
    expected = [plain.alloc() for _ in range(12)]
    ram, frames = machine()
    first = frames.alloc()
    borrower = Borrower(ram)
    borrower.frames = frames.lend(8, borrower)
    assert frames.lend(8, borrower) == []                 # one loan at a time
    got = [first] + borrower.take(3)
    assert frames.available() == plain.available() + 12 - 4   # untaken lent frames count
    got += [frames.alloc() for _ in range(8)]             # settles: 5 come back, in order
    assert got == expected[:12]
    assert frames.frames_in_use == plain.frames_in_use and borrower.taken() == 0
    assert all(frames.refcount(f) == 1 for f in got)
    assert ram.read(got[1], 8) == bytes(8)                # the borrower zeroed them


def test_a_loan_nothing_was_taken_from_leaves_no_trace():
    ram, frames = machine()
    before = (frames.frames_in_use, frames.chunks_held, frames.available())
    frame = frames.alloc()
    borrower = Borrower(ram)
    borrower.frames = frames.lend(64, borrower)
    frames.free(frame)                                    # settles first, then frees
    assert (frames.frames_in_use, frames.chunks_held, frames.available()) == before
    assert frames.alloc() == frame                        # the freed frame comes back first

"""Open files and descriptors: pipes, dup/dup2, fork's shared descriptions,
end of file and broken pipes (pure logic; the process is a stand-in)."""

from kernel.errno import EBADF, EPIPE
from kernel.files import (PIPE_CAPACITY, Blocked, Console, FdTable, InputFile, Pipe, PipeEnd)


class Proc:
    """Copies to 'user memory' by keeping the bytes."""

    def __init__(self):
        self.received = b""

    def write_prefix(self, buf, data):
        self.received += data
        return len(data)


def test_a_pipe_carries_bytes_blocks_when_empty_and_ends_when_writers_go():
    pipe = Pipe()
    reader, writer = PipeEnd(pipe, reading=True), PipeEnd(pipe, reading=False)
    table = FdTable({3: reader, 4: writer})
    proc = Proc()
    assert isinstance(reader.read(proc, 0, 10), Blocked)
    assert writer.write(proc, b"hello") == 5
    assert reader.read(proc, 0, 3) == 3 and proc.received == b"hel"
    assert table.close(4) == 0 and pipe.writers == 0
    assert reader.read(proc, 0, 10) == 2 and reader.read(proc, 0, 10) == 0   # then EOF
    assert table.close(4) == -EBADF


def test_a_full_pipe_blocks_small_writes_and_a_readerless_pipe_is_broken():
    pipe = Pipe()
    reader, writer = PipeEnd(pipe, reading=True), PipeEnd(pipe, reading=False)
    table = FdTable({3: reader, 4: writer})
    assert writer.write(Proc(), bytes(PIPE_CAPACITY - 10)) == PIPE_CAPACITY - 10
    assert isinstance(writer.write(Proc(), bytes(100)), Blocked)     # <= PIPE_BUF: all or wait
    table.close(3)
    assert writer.write(Proc(), b"x") == -EPIPE


def test_fork_and_dup_share_one_description_which_closes_with_the_last_fd():
    console = Console()
    table = FdTable.standard(InputFile(b"abc"), console)
    pipe = Pipe()
    table.install_at(5, PipeEnd(pipe, reading=False))
    child = table.fork()
    assert table.install(table.get(5)) == 3                     # dup: lowest free fd
    assert pipe.writers == 1 and table.get(5).refs == 3
    table.close_all()
    assert pipe.writers == 1                                    # the child still holds it
    child.close_all()
    assert pipe.writers == 0


def test_stdin_is_read_once_in_order_across_processes():
    stdin = InputFile(b"abcdef")
    parent = FdTable.standard(stdin, Console())
    child = parent.fork()
    proc = Proc()
    assert parent.get(0).read(proc, 0, 4) == 4 and child.get(0).read(proc, 0, 4) == 2
    assert proc.received == b"abcdef"


def test_the_console_keeps_every_process_output_in_order():
    console = Console()
    table = FdTable.standard(InputFile(b""), console)
    child = table.fork()
    table.get(1).write(None, b"parent ")
    child.get(1).write(None, b"child\n")
    child.get(2).write(None, b"oops")
    assert console.output[1] == b"parent child\n" and console.output[2] == b"oops"


def test_output_taken_back_and_written_again_is_echoed_once():
    """The debugger's reverse execution restores the console and its replay
    writes the same bytes again: echoed once. Writes that differ from what
    was shown are echoed from the first byte that differs."""
    shown = []
    console = Console(echo=lambda fd, data: shown.append((fd, bytes(data))))
    console.emit(1, b"one\n")
    mark = console.snapshot()
    console.emit(1, b"two\n")
    console.emit(2, b"err\n")
    console.emit(1, b"three\n")
    console.restore(mark)                       # back before "two"
    assert bytes(console.output[1]) == b"one\n" and bytes(console.output[2]) == b""
    console.emit(1, b"tw")                      # the replay, in other pieces
    console.emit(1, b"o\nthr")
    console.emit(2, b"err\n")
    assert shown == [(1, b"one\n"), (1, b"two\n"), (2, b"err\n"), (1, b"three\n")]
    console.restore(mark)                       # back again, before what is pending
    console.emit(1, b"two\nTHREE\n")            # differs at "T": echoed from there
    console.emit(1, b"four\n")                  # past everything shown
    assert shown[4:] == [(1, b"THREE\n"), (1, b"four\n")]
    assert bytes(console.output[1]) == b"one\ntwo\nTHREE\nfour\n"

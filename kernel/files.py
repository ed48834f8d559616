"""Open files: stdin, the console (stdout, stderr), pipes, and the fd table.

There is no filesystem. What a descriptor can refer to:

    InputFile    the bytes given as the program's stdin, read once, in order
    ConsoleFile  the run's stdout or stderr: what `emu run` prints
    PipeEnd      one end of a pipe (pipe(2)): a 64 KiB buffer between processes

An OpenFile is Linux's open file description: dup and fork make more
descriptors for the same one (its offset, a pipe end's place as reader or
writer), and it is closed when the last descriptor goes. An FdTable maps one
process's descriptors to them.

Reading and writing return a count, -errno, or BLOCKED when the caller must
wait (an empty pipe that still has writers, a full one that still has readers):
the process then sleeps and makes the same call again when woken, as Linux's
restartable system calls do.
"""

from __future__ import annotations

from .errno import EAGAIN, EBADF, EFAULT, EMFILE, EPIPE

STDIN, STDOUT, STDERR = 0, 1, 2
PIPE_CAPACITY = 65536            # Linux's default pipe size
PIPE_BUF = 4096                  # writes up to this size are all or nothing
MAX_FDS = 1024                   # RLIMIT_NOFILE's soft limit
O_NONBLOCK = 0o4000
O_CLOEXEC = 0o2000000


class Blocked:
    """The call must wait; `on` is what it waits for (for the debugger's views)."""

    def __init__(self, on: str):
        self.on = on

    def __repr__(self) -> str:
        return f"Blocked({self.on})"


class OpenFile:
    """What a descriptor refers to. Subclasses implement read/write."""
    readable = False
    writable = False
    name = "?"

    def __init__(self):
        self.refs = 0            # descriptors (in every process) that refer to it
        self.nonblocking = False

    def read(self, proc, buf: int, count: int):
        """Copy up to `count` bytes to user `buf`: a count, -errno or Blocked."""
        return -EBADF

    def write(self, proc, data: bytes):
        """Take `data`: how many bytes were taken, -errno or Blocked."""
        return -EBADF

    def released(self) -> None:
        """The last descriptor went: let readers or writers at the other end know."""

    def snapshot(self):
        return None

    def restore(self, state) -> None:
        pass


class InputFile(OpenFile):
    """stdin: the given bytes, read in order; shared offset across fork."""
    readable = True
    name = "stdin"

    def __init__(self, data: bytes):
        super().__init__()
        self.data = data
        self.position = 0

    def read(self, proc, buf: int, count: int):
        chunk = self.data[self.position:self.position + count]
        if not chunk:
            return 0
        done = proc.write_prefix(buf, chunk)
        self.position += done
        return done if done else -EFAULT

    def snapshot(self):
        return self.position

    def restore(self, state) -> None:
        self.position = state


class Console:
    """The run's output: what every process writes to stdout and stderr, in
    the order written, and `echo(fd, bytes)` to show it as it comes.

    The debugger's reverse execution takes output back (restore) and its
    replay writes it again: what was echoed once is not echoed again, as gdb's
    record replays a write without showing it twice. `_shown_ahead[fd]` holds
    what the echo showed past the end of the output (what restore took back);
    a write that repeats it is not echoed, and the first that differs from it
    is echoed from there on (the replay took another way, after a register
    was changed, say)."""

    def __init__(self, echo=None):
        self.output = {STDOUT: bytearray(), STDERR: bytearray()}
        self.echo = echo
        self._shown_ahead = {STDOUT: b"", STDERR: b""}

    def emit(self, fd: int, data: bytes) -> None:
        self.output[fd] += data
        if self.echo is None:
            return
        ahead = self._shown_ahead[fd]
        if ahead:
            same = _common_prefix(ahead, data)
            self._shown_ahead[fd] = ahead[same:] if same == len(data) else b""
            data = data[same:]
        if data:
            self.echo(fd, data)

    def snapshot(self):
        return len(self.output[STDOUT]), len(self.output[STDERR])

    def restore(self, state) -> None:
        for fd, length in zip((STDOUT, STDERR), state):
            taken = bytes(self.output[fd][length:])
            if taken:
                self._shown_ahead[fd] = taken + self._shown_ahead[fd]
            del self.output[fd][length:]


def _common_prefix(a: bytes, b: bytes) -> int:
    """How many leading bytes `a` and `b` share."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    return next(i for i in range(n) if a[i] != b[i])


class ConsoleFile(OpenFile):
    """stdout or stderr: writes go to the Console."""
    writable = True

    def __init__(self, console: Console, fd: int):
        super().__init__()
        self.console, self.fd = console, fd
        self.name = "stdout" if fd == STDOUT else "stderr"

    def write(self, proc, data: bytes):
        self.console.emit(self.fd, data)
        return len(data)


class Pipe:
    """The buffer between a pipe's two ends."""

    def __init__(self):
        self.buffer = bytearray()
        self.readers = 0
        self.writers = 0


class PipeEnd(OpenFile):
    """One end of a pipe: reading takes from its buffer, writing adds to it."""

    def __init__(self, pipe: Pipe, reading: bool):
        super().__init__()
        self.pipe = pipe
        self.readable, self.writable = reading, not reading
        self.name = "pipe (read end)" if reading else "pipe (write end)"
        if reading:
            pipe.readers += 1
        else:
            pipe.writers += 1

    def read(self, proc, buf: int, count: int):
        pipe = self.pipe
        if not pipe.buffer:
            if pipe.writers == 0:
                return 0                                   # end of file
            return -EAGAIN if self.nonblocking else Blocked("a pipe to be written")
        chunk = bytes(pipe.buffer[:count])
        done = proc.write_prefix(buf, chunk)
        if not done and chunk:
            return -EFAULT
        del pipe.buffer[:done]
        return done

    def write(self, proc, data: bytes):
        """As Linux for a blocking pipe, except that a write larger than
        PIPE_BUF takes what fits and returns a short count instead of waiting
        for the rest (callers of write(2) loop on short counts)."""
        pipe = self.pipe
        if pipe.readers == 0:
            return -EPIPE                                  # and SIGPIPE: see sys_write
        room = PIPE_CAPACITY - len(pipe.buffer)
        if room == 0 or (len(data) <= PIPE_BUF and room < len(data)):
            return -EAGAIN if self.nonblocking else Blocked("room in a pipe")
        taken = data[:room]
        pipe.buffer += taken
        return len(taken)

    def released(self) -> None:
        if self.readable:
            self.pipe.readers -= 1
        else:
            self.pipe.writers -= 1

    def snapshot(self):
        return bytes(self.pipe.buffer), self.pipe.readers, self.pipe.writers

    def restore(self, state) -> None:
        buffer, self.pipe.readers, self.pipe.writers = state
        self.pipe.buffer = bytearray(buffer)


class FdTable:
    """One process's descriptors: fd -> OpenFile, with close-on-exec flags."""

    def __init__(self, files: dict[int, OpenFile] | None = None):
        self._files: dict[int, OpenFile] = {}
        for fd, file in (files or {}).items():
            self.install_at(fd, file)

    @classmethod
    def standard(cls, stdin: InputFile, console: Console) -> "FdTable":
        """The descriptors a new program starts with: 0, 1 and 2."""
        return cls({STDIN: stdin, STDOUT: ConsoleFile(console, STDOUT),
                    STDERR: ConsoleFile(console, STDERR)})

    def get(self, fd: int) -> OpenFile | None:
        return self._files.get(fd)

    def __iter__(self):
        return iter(sorted(self._files.items()))

    def install(self, file: OpenFile, lowest: int = 0) -> int:
        """Give `file` the lowest free descriptor >= `lowest`; -EMFILE if none."""
        fd = lowest
        while fd in self._files:
            fd += 1
        if fd >= MAX_FDS:
            return -EMFILE
        self.install_at(fd, file)
        return fd

    def install_at(self, fd: int, file: OpenFile) -> None:
        """Make `fd` refer to `file`, closing what it referred to (dup2)."""
        file.refs += 1
        self.close(fd)
        self._files[fd] = file

    def close(self, fd: int) -> int:
        """0, or -EBADF when `fd` is not open."""
        file = self._files.pop(fd, None)
        if file is None:
            return -EBADF
        file.refs -= 1
        if file.refs == 0:
            file.released()
        return 0

    def fork(self) -> "FdTable":
        """The child's table: the same open files, one more reference each."""
        return FdTable(dict(self._files))

    def close_all(self) -> None:
        for fd in list(self._files):
            self.close(fd)

    def snapshot(self):
        """The table and the state of every file in it, for the debugger's undo."""
        return ([(fd, f, f.refs) for fd, f in self._files.items()],
                {id(f): (f, f.snapshot()) for f in self._files.values()})

    def restore(self, state) -> None:
        table, files = state
        self._files = {}
        for fd, file, refs in table:
            self._files[fd] = file
            file.refs = refs
        for file, saved in files.values():
            file.restore(saved)

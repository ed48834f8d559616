"""Descriptor syscalls: pipe, pipe2, dup, dup2, dup3, close, fcntl.

The files themselves are in kernel/files.py; these calls only make, copy
and drop descriptors, as the Linux man pages say (errno included).
"""

from __future__ import annotations

import struct

from ..errno import EBADF, EFAULT, EINVAL
from ..files import MAX_FDS, O_CLOEXEC, O_NONBLOCK, Pipe, PipeEnd

F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
O_RDONLY, O_WRONLY = 0, 1
PIPE2_FLAGS = O_CLOEXEC | O_NONBLOCK | 0o40000      # O_DIRECT: packet mode, accepted


def _fd(value: int) -> int:
    """An fd argument as the signed int the kernel sees."""
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def sys_pipe(proc, fds: int) -> int:
    return sys_pipe2(proc, fds, 0)


def sys_pipe2(proc, fds: int, flags: int) -> int:
    """A new pipe: fds[0] its read end, fds[1] its write end (lowest free fds)."""
    if flags & ~PIPE2_FLAGS:
        return -EINVAL
    pipe = Pipe()
    ends = [PipeEnd(pipe, reading=True), PipeEnd(pipe, reading=False)]
    for end in ends:
        end.nonblocking = bool(flags & O_NONBLOCK)
    read_fd = proc.files.install(ends[0])
    if read_fd < 0:
        return read_fd                      # EMFILE; the unreferenced pipe just goes
    write_fd = proc.files.install(ends[1])
    if write_fd < 0:
        proc.files.close(read_fd)
        return write_fd
    numbers = (read_fd, write_fd)
    if not proc.write(fds, struct.pack("<ii", *numbers)):
        for fd in numbers:
            proc.files.close(fd)
        return -EFAULT
    return 0


def sys_dup(proc, old: int) -> int:
    file = proc.files.get(_fd(old))
    return -EBADF if file is None else proc.files.install(file)


def sys_dup2(proc, old: int, new: int) -> int:
    """dup2: `new` refers to what `old` does (closing what it referred to);
    the same fd twice is that fd if it is open."""
    old, new = _fd(old), _fd(new)
    file = proc.files.get(old)
    if file is None or not 0 <= new < MAX_FDS:
        return -EBADF
    if old != new:
        proc.files.install_at(new, file)
    return new


def sys_dup3(proc, old: int, new: int, flags: int) -> int:
    if flags & ~O_CLOEXEC or _fd(old) == _fd(new):
        return -EINVAL
    return sys_dup2(proc, old, new)


def sys_close(proc, fd: int) -> int:
    return proc.files.close(_fd(fd))


def sys_fcntl(proc, fd: int, command: int, arg: int) -> int:
    """F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD (close-on-exec: there is no exec, so
    it is kept and reported), F_GETFL/F_SETFL (O_NONBLOCK)."""
    file = proc.files.get(_fd(fd))
    if file is None:
        return -EBADF
    command &= 0xFFFF_FFFF
    if command in (F_DUPFD, F_DUPFD_CLOEXEC):
        lowest = _fd(arg)
        return -EINVAL if not 0 <= lowest < MAX_FDS else proc.files.install(file, lowest)
    if command in (F_GETFD, F_SETFD):
        return 0
    if command == F_GETFL:
        mode = O_RDONLY if file.readable and not file.writable else O_WRONLY \
            if file.writable and not file.readable else 2
        return mode | (O_NONBLOCK if file.nonblocking else 0)
    if command == F_SETFL:
        file.nonblocking = bool(arg & O_NONBLOCK)
        return 0
    return -EINVAL

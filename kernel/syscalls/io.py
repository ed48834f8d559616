"""File syscalls for a process with no filesystem: its descriptors' files.

A descriptor refers to stdin (the bytes given), the console (stdout and
stderr) or a pipe end (kernel/files.py; pipe and dup are in fds.py). Paths
do not exist (ENOENT), except /proc/self/exe for readlink. A read or write
that must wait returns Blocked: the process sleeps and makes the call again.

A buffer that is only partly accessible gets what Linux gives for a regular
file: the bytes before the first inaccessible one (a short count), -EFAULT
only when there are none. (A pipe on Linux copies whole pages and would drop
the partial one; fstat still calls stdio a pipe, since it cannot be seeked.)
"""

from __future__ import annotations

import struct

from ..address_space import USER_TOP
from ..errno import EBADF, EFAULT, EINVAL, ENOENT, ENOTTY, EPIPE, ESPIPE
from .signal import SIGPIPE, send_kernel_signal

AT_FDCWD = -100 & 0xFFFF_FFFF
AT_EMPTY_PATH = 0x1000
S_IFIFO = 0o010000
IOV_MAX = 1024
MAX_RW_COUNT = 0x7FFF_F000          # Linux never reads or writes more in one call


def _fd(value: int) -> int:
    """An fd argument as the signed int the kernel sees."""
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def access_ok(addr: int, size: int) -> bool:
    """Linux's access_ok(): is [addr, addr+size) inside the user half at all?
    A range check only; whether the pages are there is found by copying."""
    return addr + size <= USER_TOP


def _file(proc, fd: int, reading: bool):
    """The open file behind `fd` if it can be read (or written), else None."""
    file = proc.files.get(_fd(fd))
    if file is None or not (file.readable if reading else file.writable):
        return None
    return file


def _written(proc, file, data: bytes):
    """Give `data` to `file`: its count, Blocked, or -EPIPE with SIGPIPE sent
    (whose default action ends the process), as Linux's pipe_write does."""
    result = file.write(proc, data)
    if result == -EPIPE:
        send_kernel_signal(proc, SIGPIPE)
    return result


def sys_read(proc, fd: int, buf: int, count: int):
    """Read from `fd` into `buf`. As on Linux for a file: a buffer that ends in
    memory the process cannot write gets the bytes that fit before it (the
    short count); -EFAULT only when not even the first byte fits."""
    file = _file(proc, fd, reading=True)
    if file is None:
        return -EBADF
    if not access_ok(buf, count):
        return -EFAULT
    if count == 0:
        return 0
    return file.read(proc, buf, min(count, MAX_RW_COUNT))


def sys_write(proc, fd: int, buf: int, count: int):
    """Write `buf` to `fd`, stopping at the first byte the process cannot read
    (the short count), as Linux does for a file; -EFAULT when not even the
    first byte is readable."""
    file = _file(proc, fd, reading=False)
    if file is None:
        return -EBADF
    if not access_ok(buf, count):
        return -EFAULT
    data = proc.read_prefix(buf, min(count, MAX_RW_COUNT))
    if count and not data:
        return -EFAULT
    return _written(proc, file, data) if data else 0


def sys_writev(proc, fd: int, iov: int, iovcnt: int):
    """writev(2): the vectors are read and checked as Linux's import_iovec
    does (see _import_iovec), then written in order up to the first byte
    that cannot be read."""
    file = _file(proc, fd, reading=False)
    if file is None:
        return -EBADF
    vectors = _import_iovec(proc, iov, iovcnt)
    if isinstance(vectors, int):
        return vectors
    pieces = []
    for base, length in vectors:
        pieces.append(proc.read_prefix(base, length))
        if len(pieces[-1]) < length:
            break
    data = b"".join(pieces)
    if sum(length for _, length in vectors) and not data:
        return -EFAULT
    return _written(proc, file, data) if data else 0


def _import_iovec(proc, iov: int, iovcnt: int):
    """[(base, length)] with lengths capped so the total stays within
    MAX_RW_COUNT, or -errno, checked in Linux's order: more than IOV_MAX
    vectors EINVAL; the array unreadable EFAULT; a length that is negative
    as a ssize_t EINVAL (vectors are read in order, so an earlier bad length
    wins over a later unreadable vector); then access_ok on each buffer,
    which a single vector passes with its capped length and several vectors
    with their full lengths."""
    if iovcnt > IOV_MAX:
        return -EINVAL
    if not access_ok(iov, 16 * iovcnt):
        return -EFAULT
    vectors = []
    for i in range(iovcnt):
        raw = proc.read(iov + 16 * i, 16)
        if raw is None:
            return -EFAULT
        base, length = struct.unpack("<QQ", raw)
        if length >= 1 << 63:
            return -EINVAL
        vectors.append((base, length))
    if iovcnt == 1:
        base, length = vectors[0]
        vectors = [(base, min(length, MAX_RW_COUNT))]
    if not all(access_ok(base, length) for base, length in vectors):
        return -EFAULT
    capped, total = [], 0
    for base, length in vectors:
        length = min(length, MAX_RW_COUNT - total)
        capped.append((base, length))
        total += length
    return capped


def sys_lseek(proc, fd: int, offset: int, whence: int) -> int:
    return -EBADF if proc.files.get(_fd(fd)) is None else -ESPIPE


def _stat_bytes() -> bytes:
    """struct stat (144 bytes) of a pipe: what every descriptor here looks like."""
    out = bytearray(144)
    struct.pack_into("<QQQIII", out, 0, 0x10, 1, 1, S_IFIFO | 0o600, 1000, 1000)
    struct.pack_into("<q", out, 56, 4096)              # st_blksize
    return bytes(out)


def sys_fstat(proc, fd: int, statbuf: int) -> int:
    if proc.files.get(_fd(fd)) is None:
        return -EBADF
    return 0 if proc.write(statbuf, _stat_bytes()) else -EFAULT


def sys_newfstatat(proc, dirfd: int, path: int, statbuf: int, flags: int) -> int:
    name = proc.read_cstring(path)
    if name is None:
        return -EFAULT
    if name == b"" and flags & AT_EMPTY_PATH:
        return sys_fstat(proc, dirfd, statbuf)
    return -ENOENT


def sys_stat(proc, path: int, statbuf: int) -> int:
    return -EFAULT if proc.read_cstring(path) is None else -ENOENT


def sys_ioctl(proc, fd: int, request: int, arg: int) -> int:
    """Nothing is a terminal: TCGETS, TIOCGWINSZ and the rest get ENOTTY."""
    return -EBADF if proc.files.get(_fd(fd)) is None else -ENOTTY


def sys_readlink(proc, path: int, buf: int, size: int) -> int:
    return sys_readlinkat(proc, AT_FDCWD, path, buf, size)


def sys_readlinkat(proc, dirfd: int, path: int, buf: int, size: int) -> int:
    name = proc.read_cstring(path)
    if name is None:
        return -EFAULT
    if _fd(size) <= 0:
        return -EINVAL
    if name != b"/proc/self/exe":
        return -ENOENT
    target = proc.path.encode()[:size]
    return len(target) if proc.write(buf, target) else -EFAULT


def sys_open(proc, path: int, flags: int, mode: int) -> int:
    return -EFAULT if proc.read_cstring(path) is None else -ENOENT


def sys_openat(proc, dirfd: int, path: int, flags: int, mode: int) -> int:
    return sys_open(proc, path, flags, mode)


def sys_access(proc, path: int, mode: int) -> int:
    return -EFAULT if proc.read_cstring(path) is None else -ENOENT


def sys_faccessat(proc, dirfd: int, path: int, mode: int, flags: int) -> int:
    return sys_access(proc, path, mode)

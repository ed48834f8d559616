"""File syscalls for a process with no filesystem: stdin, stdout, stderr.

fd 0 reads the bytes given as stdin; fds 1 and 2 write to the process's
output. Paths do not exist (ENOENT), except /proc/self/exe for readlink.
"""

from __future__ import annotations

import struct

from ..errno import EBADF, EFAULT, EINVAL, ENOENT, ENOTTY, ESPIPE
from ..process import STDERR, STDIN, STDOUT

AT_FDCWD = -100 & 0xFFFF_FFFF
AT_EMPTY_PATH = 0x1000
S_IFIFO = 0o010000
IOV_MAX = 1024
MAX_RW_COUNT = 0x7FFF_F000          # Linux never reads or writes more in one call
STDIO = (STDIN, STDOUT, STDERR)


def _fd(value: int) -> int:
    """An fd argument as the signed int the kernel sees."""
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def sys_read(proc, fd: int, buf: int, count: int) -> int:
    if _fd(fd) != STDIN:
        return -EBADF
    count = min(count, MAX_RW_COUNT)
    data = proc.stdin[proc.stdin_pos:proc.stdin_pos + count]
    if data and not proc.write(buf, data):
        return -EFAULT
    proc.stdin_pos += len(data)
    return len(data)


def sys_write(proc, fd: int, buf: int, count: int) -> int:
    if _fd(fd) not in (STDOUT, STDERR):
        return -EBADF
    count = min(count, MAX_RW_COUNT)
    data = proc.read(buf, count)
    if data is None:
        return -EFAULT
    proc.emit(_fd(fd), data)
    return count


def sys_writev(proc, fd: int, iov: int, iovcnt: int) -> int:
    if _fd(fd) not in (STDOUT, STDERR):
        return -EBADF
    if iovcnt > IOV_MAX:
        return -EINVAL
    vector = proc.read(iov, 16 * iovcnt)
    if vector is None:
        return -EFAULT
    pieces, total = [], 0
    for i in range(iovcnt):
        base, length = struct.unpack_from("<QQ", vector, 16 * i)
        length = min(length, MAX_RW_COUNT - total)
        total += length
        data = proc.read(base, length) if length else b""
        if data is None:
            return -EFAULT
        pieces.append(data)
    data = b"".join(pieces)
    proc.emit(_fd(fd), data)
    return len(data)


def sys_close(proc, fd: int) -> int:
    return 0 if _fd(fd) in STDIO else -EBADF


def sys_lseek(proc, fd: int, offset: int, whence: int) -> int:
    return -ESPIPE if _fd(fd) in STDIO else -EBADF


def _stat_bytes() -> bytes:
    """struct stat (144 bytes) of a pipe: what stdio looks like here."""
    out = bytearray(144)
    struct.pack_into("<QQQIII", out, 0, 0x10, 1, 1, S_IFIFO | 0o600, 1000, 1000)
    struct.pack_into("<q", out, 56, 4096)              # st_blksize
    return bytes(out)


def sys_fstat(proc, fd: int, statbuf: int) -> int:
    if _fd(fd) not in STDIO:
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
    """stdio is not a terminal: TCGETS, TIOCGWINSZ and the rest get ENOTTY."""
    return -ENOTTY if _fd(fd) in STDIO else -EBADF


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

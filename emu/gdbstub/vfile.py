"""vFile: the host I/O packets, serving the process's /proc files and its ELF.

    vFile:setfs:0                      -> F0
    vFile:open:<hex path>,0,0          -> F3          (or F-1,2: ENOENT)
    vFile:pread:3,4000,0               -> F1c2;<the bytes, binary-escaped>
    vFile:readlink:<hex /proc/3e8/exe> -> F1d;/path/to/program
    vFile:fstat:3                      -> F40;<gdb's 64-byte struct stat, big-endian>
    vFile:close:3                      -> F0

gdb's `info proc mappings` reads /proc/PID/maps this way, as from GNU
gdbserver. The files, made from the process as it is now:

    /proc/PID/maps      one line per VMA, Linux's format (offsets of the
                        program's segments from its ELF program headers)
    /proc/PID/cmdline   argv, NUL-separated
    /proc/PID/exe       a link to the program (readlink)
    /proc/PID/cwd       a link to /
    the program's ELF   itself, so gdb with `set sysroot target:` can read it

PID may be the process's id or `self`. Anything else is ENOENT; writing is
EACCES. Errors are gdb's File-I/O errno values (they match Linux's here).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..debug.procmaps import maps_text
from .packets import PacketError, escape, parse_hex_bytes, parse_number

ENOENT, EBADF, EACCES, EINVAL = 2, 9, 13, 22
S_IFREG = 0o100000
FILE_MODE = S_IFREG | 0o444
FIRST_FD = 3
STAT = struct.Struct(">IIIIIIIQQQIII")     # gdb's fileio struct stat, 64 bytes


@dataclass
class OpenFile:
    path: str
    data: bytes


class HostFiles:
    """The files one gdb session has open through vFile."""

    def __init__(self, stub):
        self.stub = stub
        self.open_files: dict[int, OpenFile] = {}

    def _proc(self, path: str) -> str | None:
        """The name under /proc/PID/ (or /proc/self/) that `path` asks for, else None."""
        pid = self.stub.dbg.runner.process.pid
        for prefix in (f"/proc/{pid}/", "/proc/self/"):
            if path.startswith(prefix):
                return path[len(prefix):]
        return None

    def contents(self, path: str) -> bytes | None:
        dbg = self.stub.dbg
        name = self._proc(path)
        if name == "maps":
            return maps_text(dbg.runner, dbg.image).encode()
        if name == "cmdline":
            return b"".join(a.encode() + b"\0" for a in dbg.runner.process.argv)
        if dbg.image.elf_path and path == dbg.image.elf_path:
            try:
                with open(dbg.image.elf_path, "rb") as f:
                    return f.read()
            except OSError:
                return None
        return None

    def link(self, path: str) -> str | None:
        name = self._proc(path)
        if name == "exe":
            return self.stub.dbg.image.elf_path or self.stub.dbg.image.path
        if name == "cwd":
            return "/"
        return None

    # -- the packets ------------------------------------------------------------------------

    def handle(self, args: bytes) -> list[bytes]:
        operation, _, rest = args.partition(b":")
        handler = {b"setfs": self.setfs, b"open": self.open, b"pread": self.pread,
                   b"close": self.close, b"readlink": self.readlink, b"fstat": self.fstat,
                   b"pwrite": self.refuse, b"unlink": self.refuse}.get(operation)
        return handler(rest) if handler else [b""]

    def setfs(self, _rest: bytes) -> list[bytes]:
        return [b"F0"]

    def refuse(self, _rest: bytes) -> list[bytes]:
        return [_error(EACCES)]

    def open(self, rest: bytes) -> list[bytes]:
        fields = rest.split(b",")
        if len(fields) != 3:
            raise PacketError(f"vFile:open: expected PATH,FLAGS,MODE, found {rest[:40]!r}")
        path = parse_hex_bytes(fields[0], "vFile:open path").decode(errors="replace")
        if parse_number(fields[1], "vFile:open flags") & 0x3:       # O_WRONLY, O_RDWR
            return [_error(EACCES)]
        data = self.contents(path)
        if data is None:
            return [_error(ENOENT)]
        fd = max(self.open_files, default=FIRST_FD - 1) + 1
        self.open_files[fd] = OpenFile(path, data)
        return [b"F%x" % fd]

    def pread(self, rest: bytes) -> list[bytes]:
        fields = rest.split(b",")
        if len(fields) != 3:
            raise PacketError(f"vFile:pread: expected FD,COUNT,OFFSET, found {rest[:40]!r}")
        fd, count, offset = (parse_number(f, "vFile:pread field") for f in fields)
        file = self.open_files.get(fd)
        if file is None:
            return [_error(EBADF)]
        piece = file.data[offset:offset + min(count, 0x3000)]
        return [b"F%x;" % len(piece) + escape(piece)]

    def fstat(self, rest: bytes) -> list[bytes]:
        file = self.open_files.get(parse_number(rest, "vFile:fstat fd"))
        if file is None:
            return [_error(EBADF)]
        data = STAT.pack(0, 0, FILE_MODE, 1, 0, 0, 0, len(file.data), 4096,
                         (len(file.data) + 511) // 512, 0, 0, 0)
        return [b"F%x;" % len(data) + escape(data)]

    def close(self, rest: bytes) -> list[bytes]:
        fd = parse_number(rest, "vFile:close fd")
        return [b"F0"] if self.open_files.pop(fd, None) is not None else [_error(EBADF)]

    def readlink(self, rest: bytes) -> list[bytes]:
        path = parse_hex_bytes(rest, "vFile:readlink path").decode(errors="replace")
        target = self.link(path)
        if target is None:
            return [_error(ENOENT if self._proc(path) is None else EINVAL)]
        data = target.encode()
        return [b"F%x;" % len(data) + escape(data)]


def _error(errno: int) -> bytes:
    return b"F-1,%x" % errno

"""Files the user names: read them, or say in one line why they cannot be read.

Every path that comes from the command line goes through here, so a missing
file, a directory, a name too long for the file system or a file we may not
read is a UsageError (exit status 2), never an OSError traceback.
"""

from __future__ import annotations

import errno
from pathlib import Path

from .errors import UsageError

_WHY = {errno.ENOENT: "no such file", errno.ENOTDIR: "no such file (a part of the path "
        "is not a folder)", errno.ENAMETOOLONG: "file name too long",
        errno.EACCES: "permission denied", errno.EISDIR: "is a folder, not a file",
        errno.ELOOP: "too many symbolic links"}


def why_unreadable(exc: OSError) -> str:
    return _WHY.get(exc.errno, exc.strerror or type(exc).__name__)


def require_file(path, what: str = "") -> Path:
    """`path` as a Path if it names a regular file; UsageError saying why not."""
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    try:
        if path.is_dir():
            raise UsageError(f"{label}: is a folder, not a file")
        path.stat()
    except OSError as exc:
        raise UsageError(f"{label}: {why_unreadable(exc)}") from None
    return path


def read_user_file(path, what: str = "") -> bytes:
    """The bytes of a file the user named; UsageError saying why it cannot be read."""
    path = require_file(path, what)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{what + ' ' if what else ''}{path}: {why_unreadable(exc)}") from None


def read_user_text(path, what: str = "") -> str:
    """The text of a file the user named (UTF-8); UsageError when it cannot be read."""
    data = read_user_file(path, what)
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what + ' ' if what else ''}{path}: not UTF-8 text "
                         f"(byte {exc.start})") from None

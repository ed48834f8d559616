"""Thread ids: the one process and its one thread, as the client names them.

A thread id on the wire is hex: `3e8`, `0003e8`, or with the multiprocess
extensions `p3e8.3e8` (process 0x3e8, thread 0x3e8); -1 means all, 0 any.
The one thread's id is the process id, as for a Linux main thread.

    ids = ThreadIds(pid=1000, multiprocess=True)
    ids.thread                  -> "p3e8.3e8"
    ids.matches(b"0003e8")      -> True (any hex spelling of ours, -1 or 0)
    ids.process_suffix()        -> b";process:3e8"  (for W and X replies)
"""

from __future__ import annotations

ALL, ANY = -1, 0


class ThreadIds:
    """How the session spells the process and thread ids."""

    def __init__(self, pid: int, multiprocess: bool = False):
        self.pid = pid
        self.multiprocess = multiprocess

    @property
    def thread(self) -> str:
        return f"p{self.pid:x}.{self.pid:x}" if self.multiprocess else f"{self.pid:x}"

    def process_suffix(self) -> bytes:
        return b";process:%x" % self.pid if self.multiprocess else b""

    def matches(self, text: bytes) -> bool:
        """Does the thread id `text` include our thread? False for another
        thread or a malformed id."""
        if text.startswith(b"p"):
            process, _, thread = text[1:].partition(b".")
            return _number(process) in (self.pid, ALL, ANY) and \
                (not thread or _number(thread) in (self.pid, ALL, ANY))
        return _number(text) in (self.pid, ALL, ANY)


def _number(text: bytes) -> int | None:
    """A hex id, '-1' for all; None when malformed."""
    if text == b"-1":
        return ALL
    try:
        return int(text, 16) if text and not text.startswith((b"-", b"+", b"0x")) else None
    except ValueError:
        return None

"""One gdb client on a socket: packets in, replies out, Ctrl-C while running.

    conn = Connection(sock)
    payload = conn.receive()          # None once gdb hung up
    conn.send(b"OK")
    with conn.while_running(on_interrupt):
        target.cont()                 # a \\x03 from gdb calls on_interrupt()

Acks: while `acking`, every good packet is answered with + and a bad one
with - (gdb sends it again). Replies are not held back waiting for gdb's +;
a - from gdb makes the last reply go out again.

While the program runs the stub is not reading, so a watcher thread does:
it waits on the socket and on a wake-up pipe, passes \\x03 (or gdb hanging
up) to on_interrupt, and keeps any other bytes for receive(). An interrupt
may land just before Unicorn starts, where stopping it does nothing, so the
watcher repeats it until the body is over.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections import deque
from contextlib import contextmanager

from .packets import Event, FrameParser, frame

RECV_SIZE = 65536
REPEAT_S = 0.05                 # how often an interrupt is repeated until it takes


class Connection:
    """A framed, acknowledged packet stream over a connected socket."""

    def __init__(self, sock: socket.socket, log=None):
        self.sock = sock
        self.acking = True
        self.hung_up = False
        self._log = log or (lambda _line: None)
        self._parser = FrameParser()
        self._events: deque[Event] = deque()
        self._last_frame = b""

    # -- receiving -----------------------------------------------------------------------

    def receive(self) -> bytes | None:
        """The payload of the next intact packet; None when gdb has hung up.

        Acks are answered, a bad checksum gets - (in ack mode), a nak resends
        the last reply, and an interrupt with the program stopped is dropped."""
        while True:
            while self._events:
                event = self._events.popleft()
                if event.kind == "packet":
                    if self.acking:
                        self._write(b"+")
                    return event.payload
                self._answer(event)
            if not self._fill():
                return None

    def _answer(self, event: Event) -> None:
        if event.kind == "bad-packet":
            self._log(f"bad checksum on packet {event.payload[:40]!r}")
            if self.acking:
                self._write(b"-")
        elif event.kind == "nak" and self._last_frame:
            self._write(self._last_frame)

    def _fill(self) -> bool:
        """Read more bytes into the event queue; False at end of stream."""
        if self.hung_up:
            return False
        try:
            data = self.sock.recv(RECV_SIZE)
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self.hung_up = True
            return False
        self._events.extend(self._parser.feed(data))
        return True

    # -- sending ---------------------------------------------------------------------------

    def send(self, payload: bytes) -> None:
        """Frame and send one reply (kept for a resend on -)."""
        self._last_frame = frame(payload)
        self._write(self._last_frame)

    def _write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (ConnectionError, OSError):
            self.hung_up = True

    # -- while the program runs --------------------------------------------------------------

    @contextmanager
    def while_running(self, on_interrupt):
        """Watch the socket while the body runs: \\x03, or gdb hanging up,
        calls on_interrupt() (from the watcher thread)."""
        wake_read, wake_write = os.pipe()
        watcher = threading.Thread(target=self._watch, args=(wake_read, on_interrupt),
                                   name="gdbstub-interrupts", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            os.write(wake_write, b"x")
            watcher.join()
            os.close(wake_read)
            os.close(wake_write)

    def _watch(self, wake_read: int, on_interrupt) -> None:
        """Until woken: pass on \\x03 or a hang-up, then repeat on_interrupt()
        every REPEAT_S, in case it came before the run had begun."""
        interrupted = False
        while True:
            watched = [wake_read] if interrupted else [self.sock, wake_read]
            readable, _, _ = select.select(watched, [], [], REPEAT_S if interrupted else None)
            if wake_read in readable:
                return
            if interrupted or not self._fill() or self._take_interrupt():
                interrupted = True
                on_interrupt()

    def _take_interrupt(self) -> bool:
        """Remove the queued interrupts; True if there were any."""
        kept = deque(e for e in self._events if e.kind != "interrupt")
        found = len(kept) != len(self._events)
        self._events = kept
        return found

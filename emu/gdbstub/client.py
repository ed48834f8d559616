"""A minimal remote-protocol client: gdb's side of the wire, for tests and benchmarks.

    with Client(port) as gdb:
        gdb.request(b"qSupported:swbreak+")
        gdb.no_ack()
        gdb.request(b"vCont;s:3e8")          # -> b"T05...;thread:3e8;"
        gdb.monitor("vmmap")               # -> the lines the command printed

It checks what a stub sends: every reply must be framed with the right
checksum, and in ack mode every packet sent must be acknowledged with +.
ProtocolError says what was expected and what came instead.
"""

from __future__ import annotations

import socket

from ..errors import EmuError
from .packets import FrameParser, frame
from .server import HOST

TIMEOUT = 30.0


class ProtocolError(EmuError):
    """The stub broke the protocol (a bad checksum, a missing ack, a hang-up)."""


class Client:
    """One connection to a stub."""

    def __init__(self, port: int, host: str = HOST, timeout: float = TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.acking = True
        self._parser = FrameParser()
        self._events = []

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    # -- bytes and events --------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def next_event(self):
        """The next ack, nak or packet from the stub (ProtocolError on hang-up)."""
        while not self._events:
            data = self.sock.recv(65536)
            if not data:
                raise ProtocolError("the stub closed the connection")
            self._events.extend(self._parser.feed(data))
        return self._events.pop(0)

    def read_packet(self) -> bytes:
        """The next reply's payload; acknowledged with + in ack mode."""
        event = self.next_event()
        if event.kind != "packet":
            raise ProtocolError(f"expected a packet, got {event.kind} {event.payload[:40]!r}")
        if self.acking:
            self.send_raw(b"+")
        return event.payload

    def expect_ack(self) -> None:
        event = self.next_event()
        if event.kind != "ack":
            raise ProtocolError(f"expected +, got {event.kind} {event.payload[:40]!r}")

    # -- requests ------------------------------------------------------------------------------

    def send(self, payload: bytes) -> None:
        """Send one packet; in ack mode, wait for the stub's +."""
        self.send_raw(frame(payload))
        if self.acking:
            self.expect_ack()

    def request(self, payload: bytes) -> bytes:
        """Send a packet and return the reply's payload."""
        self.send(payload)
        return self.read_packet()

    def no_ack(self) -> None:
        """QStartNoAckMode: from now on neither side sends + or -."""
        reply = self.request(b"QStartNoAckMode")
        if reply != b"OK":
            raise ProtocolError(f"QStartNoAckMode: expected OK, got {reply!r}")
        self.acking = False

    def monitor(self, command: str) -> list[str]:
        """`monitor COMMAND`: the O packets' text as lines (the final OK dropped)."""
        self.send(b"qRcmd," + command.encode().hex().encode())
        text = ""
        while True:
            reply = self.read_packet()
            if not reply.startswith(b"O") or reply == b"OK":
                break
            text += bytes.fromhex(reply[1:].decode()).decode("utf-8", errors="replace")
        if reply != b"OK":
            raise ProtocolError(f"monitor {command}: expected OK at the end, got {reply!r}")
        return text.splitlines()

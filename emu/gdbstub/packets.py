"""The remote protocol's framing: packets, checksums, acks, binary escapes.

A packet on the wire, and the single bytes that travel outside packets:

    $ payload # cc     cc: the sum of the payload's bytes mod 256, two hex digits
    +                  ack: the last packet arrived intact
    -                  nak: it did not, send it again
    \\x03               interrupt: gdb's Ctrl-C while the program runs

Until QStartNoAckMode, each packet is answered with + or -. Binary data (the X
packet, qXfer replies) escapes the bytes the framing reserves:

    }  #  $  *    are sent as    }  followed by the byte XOR 0x20

Everything here is pure: bytes in, bytes or events out. Malformed input
raises PacketError, whose `reply` is the error packet to send back.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EmuError

ESCAPE = 0x7D                    # '}'
ESCAPE_XOR = 0x20
RESERVED = frozenset(b"}#$*")
INTERRUPT = 0x03
MAX_PACKET = 0x4000              # what qSupported offers as PacketSize

# Error replies: Exx, xx two hex digits (gdb only shows them).
E_MALFORMED = b"E01"             # bad hex, missing fields, wrong lengths
E_REGISTER = b"E02"              # no such register number, or it cannot take that value
E_STATE = b"E03"                 # not possible now (e.g. siginfo without a signal)
E_FAULT = b"E14"                 # EFAULT: the memory is not mapped


class PacketError(EmuError):
    """A packet the stub cannot act on; `reply` is the error packet to send."""

    def __init__(self, message: str, reply: bytes = E_MALFORMED):
        super().__init__(message)
        self.reply = reply


# -- checksums and frames ----------------------------------------------------------------

def checksum(payload: bytes) -> int:
    """The sum of the payload bytes mod 256."""
    return sum(payload) & 0xFF


def frame(payload: bytes) -> bytes:
    """`$payload#cc`, ready to send."""
    return b"$" + payload + b"#" + b"%02x" % checksum(payload)


@dataclass(frozen=True)
class Event:
    """What the parser found: kind is packet, bad-packet, ack, nak or interrupt."""
    kind: str
    payload: bytes = b""


class FrameParser:
    """Splits the byte stream from gdb into Events, whatever the reads' sizes.

    Bytes outside packets other than + - and \\x03 are skipped (line noise)."""

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Event]:
        """Add received bytes; returns the events they complete, in order."""
        self._buffer += data
        events = []
        while self._buffer:
            event, used = self._next_event()
            if used == 0:
                break                    # an incomplete packet: wait for more bytes
            del self._buffer[:used]
            if event is not None:
                events.append(event)
        return events

    def _next_event(self) -> tuple[Event | None, int]:
        first = self._buffer[0]
        if first == ord("$"):
            return self._packet()
        single = {ord("+"): "ack", ord("-"): "nak", INTERRUPT: "interrupt"}.get(first)
        return (Event(single) if single else None), 1

    def _packet(self) -> tuple[Event | None, int]:
        end = self._buffer.find(b"#")
        if end < 0 or len(self._buffer) < end + 3:
            return None, 0
        payload = bytes(self._buffer[1:end])
        sent = bytes(self._buffer[end + 1:end + 3])
        try:
            good = int(sent, 16) == checksum(payload)
        except ValueError:
            good = False
        return Event("packet" if good else "bad-packet", payload), end + 3


# -- binary data ---------------------------------------------------------------------------

def escape(data: bytes) -> bytes:
    """Binary data with } # $ * escaped, for a reply."""
    out = bytearray()
    for byte in data:
        if byte in RESERVED:
            out += bytes((ESCAPE, byte ^ ESCAPE_XOR))
        else:
            out.append(byte)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """The bytes an escaped block stands for; PacketError if it ends in '}'."""
    out = bytearray()
    escaped = False
    for byte in data:
        if escaped:
            out.append(byte ^ ESCAPE_XOR)
            escaped = False
        elif byte == ESCAPE:
            escaped = True
        else:
            out.append(byte)
    if escaped:
        raise PacketError("binary data ends inside an escape")
    return bytes(out)


# -- hex fields ------------------------------------------------------------------------------

def parse_number(text: bytes, what: str) -> int:
    """A hex number field ('7ffe0010'); PacketError naming `what` otherwise."""
    if not text or text.startswith((b"-", b"+", b"0x")):
        raise PacketError(f"{what}: expected a hex number, found {text!r}")
    try:
        return int(text, 16)
    except ValueError:
        raise PacketError(f"{what}: expected a hex number, found {text!r}") from None


def parse_hex_bytes(text: bytes, what: str) -> bytes:
    """The bytes a hex string spells; PacketError for odd lengths or non-hex."""
    try:
        return bytes.fromhex(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise PacketError(f"{what}: expected pairs of hex digits, found {text[:32]!r}") from None


def parse_address_length(text: bytes, what: str) -> tuple[int, int]:
    """(address, length) from 'ADDR,LENGTH'."""
    address, comma, length = text.partition(b",")
    if not comma:
        raise PacketError(f"{what}: expected ADDR,LENGTH, found {text[:32]!r}")
    return parse_number(address, f"{what} address"), parse_number(length, f"{what} length")


def text_hex(text: str) -> bytes:
    """Text as hex digits (qRcmd's command, O packets' output)."""
    return text.encode("utf-8", errors="replace").hex().encode()

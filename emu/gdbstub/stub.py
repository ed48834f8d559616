"""The stub: gdb's packets over one Debugger, each answered with replies.

    stub = Stub(dbg)
    stub.handle(b"g")            # -> [b"<560 bytes of registers in hex>"]
    stub.handle(b"m10,4")        # -> [b"E14"]: not mapped
    stub.handle(b"vCont;s:3e8")  # -> [b"T05...;10:<rip>;thread:3e8;"]

The first letter picks the handler (PACKETS below; q, Q and v packets are
looked up by name in queries.py). A packet the stub does not know gets the
empty reply, which tells gdb "not supported". A malformed one gets an error
reply (packets.E_*) and the stub carries on. After D, k or vKill the stub is
`finished` and the server stops serving (after D it lets the program run to
its end, server.py).
"""

from __future__ import annotations

from contextlib import nullcontext

from ..debug.target import Stop
from ..errors import UnmappedAccess
from ..paging import PAGE_4K, page_offset
from . import queries
from .execution import Resumer, parse_resume, parse_vcont
from .packets import (E_FAULT, E_STATE, MAX_PACKET, PacketError, parse_address_length,
                      parse_hex_bytes, parse_number, unescape)
from .points import Points, parse_point
from .registers import RegisterFile
from .stops import ended_reply, stop_reply
from .threads import ThreadIds
from .vfile import HostFiles

MAX_READ = (MAX_PACKET - 16) // 2      # an m reply is two hex digits a byte


def _no_watch(_on_interrupt):
    """while_running for a stub with no connection: nothing can interrupt."""
    return nullcontext()


class Stub:
    """One gdb session's state: the Debugger, gdb's points, the last stop."""

    def __init__(self, dbg, while_running=_no_watch, log=None):
        self.dbg = dbg
        self.target = dbg.target
        self.registers = RegisterFile(dbg.machine)
        self.ids = ThreadIds(dbg.runner.process.pid)
        self.files = HostFiles(self)
        self.points = Points(dbg.target)
        self.resumer = Resumer(dbg.target, dbg.machine, while_running)
        self.log = log or (lambda _line: None)
        self.last_stop = Stop("step", self.target.rip)
        self.client_features: set[str] = set()
        self.no_ack = False             # gdb asked for QStartNoAckMode
        self.finished = ""              # why the gdb session ended: "detached", "killed"
        self.repl = None                # the debugger's commands, for monitor (qRcmd)

    # -- dispatch --------------------------------------------------------------------------

    def handle(self, payload: bytes) -> list[bytes]:
        """The replies to one packet, in order ([] for none, [b""] for
        'unsupported'). Never raises for bad input."""
        handler = PACKETS.get(payload[:1])
        if handler is None:
            return [b""]
        try:
            return handler(self, payload[1:])
        except PacketError as exc:
            self.log(f"packet {payload[:40]!r}: {exc}")
            return [exc.reply]
        except UnmappedAccess:
            return [E_FAULT]

    # -- stops -------------------------------------------------------------------------------

    def report(self, stop: Stop) -> bytes:
        """Remember `stop` (for ?) and return its stop reply."""
        self.last_stop = stop
        reason = ""
        if stop.kind == "breakpoint" and stop.breakpoint is not None:
            reason = self.points.reason(stop.breakpoint)
            if reason not in self.client_features:
                reason = ""
        return stop_reply(stop, self.registers, self.ids, reason)

    def resume(self, action, address: int | None = None) -> list[bytes]:
        if not self.target.alive:
            return [ended_reply(self.dbg.runner, self.ids)]
        if address is not None:
            self.dbg.machine.set_reg("rip", address)
        return [self.report(self.resumer.run(action))]

    # -- packet handlers: (stub, bytes after the letter) -> replies -----------------------------

    def status(self, _args: bytes) -> list[bytes]:
        return [self.report(self.last_stop)]

    def read_registers(self, args: bytes) -> list[bytes]:
        _expect_empty(args, "g")
        return [self.registers.read_all().hex().encode()]

    def write_registers(self, args: bytes) -> list[bytes]:
        self.registers.write_all(parse_hex_bytes(args, "G registers"))
        return [b"OK"]

    def read_register(self, args: bytes) -> list[bytes]:
        return [self.registers.read(parse_number(args, "p register")).hex().encode()]

    def write_register(self, args: bytes) -> list[bytes]:
        number, equals, value = args.partition(b"=")
        if not equals:
            raise PacketError(f"P: expected N=VALUE, found {args[:40]!r}")
        self.registers.write(parse_number(number, "P register"),
                             parse_hex_bytes(value, "P value"))
        return [b"OK"]

    def read_memory(self, args: bytes) -> list[bytes]:
        address, length = parse_address_length(args, "m")
        data = self._read_prefix(address, min(length, MAX_READ))
        if length and not data:
            return [E_FAULT]
        return [data.hex().encode()]

    def _read_prefix(self, address: int, length: int) -> bytes:
        """As many of the bytes as are mapped, from the start (gdb accepts a
        short read); b'' if the first is not."""
        try:
            return self.target.read(address, length)
        except UnmappedAccess:
            pass
        out = b""
        while len(out) < length:
            chunk = min(length - len(out), PAGE_4K - page_offset(address + len(out)))
            try:
                out += self.target.read(address + len(out), chunk)
            except UnmappedAccess:
                break
        return out

    def write_memory(self, args: bytes) -> list[bytes]:
        where, colon, text = args.partition(b":")
        if not colon:
            raise PacketError(f"M: expected ADDR,LENGTH:BYTES, found {args[:40]!r}")
        return self._write(where, parse_hex_bytes(text, "M bytes"), "M")

    def write_binary(self, args: bytes) -> list[bytes]:
        where, colon, data = args.partition(b":")
        if not colon:
            raise PacketError(f"X: expected ADDR,LENGTH:DATA, found {args[:40]!r}")
        return self._write(where, unescape(data), "X")

    def _write(self, where: bytes, data: bytes, letter: str) -> list[bytes]:
        address, length = parse_address_length(where, letter)
        if length != len(data):
            raise PacketError(f"{letter}: length {length:#x} but {len(data):#x} bytes given")
        if data:
            self.target.write(address, data)
        return [b"OK"]

    def insert_point(self, args: bytes) -> list[bytes]:
        ztype, address, length = parse_point(args, "Z")
        return [b"OK" if self.points.insert(ztype, address, length) else b""]

    def remove_point(self, args: bytes) -> list[bytes]:
        ztype, address, length = parse_point(args, "z")
        return [b"OK" if self.points.remove(ztype, address, length) else b""]

    def step(self, args: bytes) -> list[bytes]:
        return self.resume(*parse_resume("s", args))

    def cont(self, args: bytes) -> list[bytes]:
        return self.resume(*parse_resume("c", args))

    def step_signal(self, args: bytes) -> list[bytes]:
        return self.resume(*parse_resume("S", args))

    def cont_signal(self, args: bytes) -> list[bytes]:
        return self.resume(*parse_resume("C", args))

    def vcont(self, args: bytes) -> list[bytes]:
        return self.resume(parse_vcont(args, self.ids))

    def backwards(self, args: bytes) -> list[bytes]:
        if args not in (b"s", b"c"):
            return [b""]
        return [self.report(self.resumer.reverse(args.decode()))]

    def set_thread(self, args: bytes) -> list[bytes]:
        """Hg/Hc THREAD: ours (in any spelling), all or any."""
        return [b"OK"] if self.ids.matches(args[1:]) else [E_STATE]

    def thread_alive(self, args: bytes) -> list[bytes]:
        return [b"OK"] if self.target.alive and self.ids.matches(args) else [E_STATE]

    def detach(self, _args: bytes) -> list[bytes]:
        self.finished = "detached"
        return [b"OK"]

    def kill(self, _args: bytes) -> list[bytes]:
        """k: gdb expects no reply; lldb waits for one (X09, as lldb-server sends)."""
        self.finished = "killed"
        return [b"X09" + self.ids.process_suffix()]

    def query(self, args: bytes) -> list[bytes]:
        return queries.handle(self, b"q" + args)

    def set_query(self, args: bytes) -> list[bytes]:
        return queries.handle(self, b"Q" + args)

    def v_packet(self, args: bytes) -> list[bytes]:
        return queries.handle(self, b"v" + args)



def _expect_empty(args: bytes, letter: str) -> None:
    if args:
        raise PacketError(f"{letter}: takes no arguments, found {args[:20]!r}")


PACKETS = {
    b"?": Stub.status,
    b"g": Stub.read_registers, b"G": Stub.write_registers,
    b"p": Stub.read_register, b"P": Stub.write_register,
    b"m": Stub.read_memory, b"M": Stub.write_memory, b"X": Stub.write_binary,
    b"Z": Stub.insert_point, b"z": Stub.remove_point,
    b"s": Stub.step, b"c": Stub.cont, b"S": Stub.step_signal, b"C": Stub.cont_signal,
    b"b": Stub.backwards,
    b"H": Stub.set_thread, b"T": Stub.thread_alive,
    b"D": Stub.detach, b"k": Stub.kill,
    b"q": Stub.query, b"Q": Stub.set_query, b"v": Stub.v_packet,
}

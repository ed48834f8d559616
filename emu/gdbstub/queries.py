"""The named packets: q (queries), Q (settings) and v (verbs).

    qSupported:FEATURES       what each side supports (PacketSize, qXfer:..., swbreak+, ...)
    qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH
                              features (target.xml), siginfo, exec-file
    qRcmd,HEX                 `monitor CMD`: the debugger's commands (pt, vmmap, heap, ...),
                              output as O packets, then OK
    qAttached qC qfThreadInfo qsThreadInfo qSymbol     one process, one thread
    QStartNoAckMode           stop sending + and -
    vCont? vCont;ACTIONS      resume (execution.py); vKill;PID ends the session
    vMustReplyEmpty           and every unknown name: the empty reply

A handler takes (stub, bytes after the name and its separator) and returns
the replies.
"""

from __future__ import annotations

from ..debug.commands import find as find_command
from ..debug.repl import Repl
from .packets import E_STATE, MAX_PACKET, PacketError, escape, parse_address_length, text_hex
from .stops import THREAD, siginfo, stop_signal
from .tdesc import target_xml

SEPARATORS = b":;,"
STUB_FEATURES = ("qXfer:features:read+", "qXfer:siginfo:read+", "QStartNoAckMode+",
                 "vContSupported+", "swbreak+", "hwbreak+", "ReverseStep+",
                 "ReverseContinue+")
VCONT_ACTIONS = b"vCont;c;C;s;S;r"
NOT_FOR_MONITOR = ("kill", "quit", "run", "start")   # besides every command that resumes


def handle(stub, payload: bytes) -> list[bytes]:
    """Dispatch a q/Q/v packet by its name; [b""] for unknown names."""
    name, args = _split(payload)
    handler = QUERIES.get(name)
    return handler(stub, args) if handler else [b""]


def _split(payload: bytes) -> tuple[bytes, bytes]:
    cut = min((i for i in (payload.find(bytes([s])) for s in SEPARATORS) if i >= 0),
              default=len(payload))
    return payload[:cut], payload[cut + 1:]


# -- qSupported and qXfer ------------------------------------------------------------------

def supported(stub, args: bytes) -> list[bytes]:
    """Note gdb's features (swbreak+, ...); offer ours."""
    for item in args.split(b";"):
        if item.endswith(b"+"):
            stub.client_features.add(item[:-1].decode("ascii", errors="replace"))
    features = [f"PacketSize={MAX_PACKET:x}", *STUB_FEATURES]
    if stub.dbg.image.elf_path:
        features.append("qXfer:exec-file:read+")
    return [";".join(features).encode()]


def xfer(stub, args: bytes) -> list[bytes]:
    """qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH."""
    fields = args.split(b":")
    if len(fields) != 4 or fields[1] != b"read":
        return [b""]
    obj, _, annex, where = fields
    reader = XFER_OBJECTS.get(obj)
    if reader is None:
        return [b""]
    offset, length = parse_address_length(where, "qXfer")
    return [_slice(reader(stub, annex), offset, length)]


def _slice(data: bytes, offset: int, length: int) -> bytes:
    """'m' and a piece when more follows, 'l' and the last piece."""
    piece = data[offset:offset + length]
    return (b"m" if offset + length < len(data) else b"l") + escape(piece)


def _features(_stub, annex: bytes) -> bytes:
    if annex != b"target.xml":
        raise PacketError(f"qXfer:features: no annex {annex[:40]!r} (only target.xml)")
    return target_xml().encode()


def _siginfo(stub, _annex: bytes) -> bytes:
    stop = stub.last_stop
    if stop.kind == "exited":
        raise PacketError("qXfer:siginfo: the program has exited", E_STATE)
    signo = stop_signal(stop, stub.dbg.runner)
    fault = stub.dbg.runner.fault if stop.kind == "fault" else None
    return siginfo(signo, fault)


def _exec_file(stub, _annex: bytes) -> bytes:
    if not stub.dbg.image.elf_path:
        raise PacketError("qXfer:exec-file: the program has no ELF file", E_STATE)
    return stub.dbg.image.elf_path.encode()


XFER_OBJECTS = {b"features": _features, b"siginfo": _siginfo, b"exec-file": _exec_file}


# -- monitor ------------------------------------------------------------------------------------

def monitor(stub, args: bytes) -> list[bytes]:
    """qRcmd: run one debugger command; its lines as O packets, then OK."""
    try:
        line = bytes.fromhex(args.decode("ascii")).decode("utf-8", errors="replace")
    except (ValueError, UnicodeDecodeError):
        raise PacketError(f"qRcmd: expected hex text, found {args[:40]!r}") from None
    refusal = _refusal(line)
    if refusal:
        return [b"O" + text_hex(refusal + "\n"), b"OK"]
    if stub.repl is None:
        stub.repl = Repl(stub.dbg, show_context=False)
    return [b"O" + text_hex(text + "\n") for text in stub.repl.execute(line)] + [b"OK"]


def _refusal(line: str) -> str:
    """Why `line` must not run under gdb ('' if it may): commands that run the
    program would leave gdb's idea of the registers behind."""
    word = line.strip().split(" ", 1)[0].partition("/")[0]
    command = find_command(word) if word else None
    if command is not None and (command.resumes or command.name in NOT_FOR_MONITOR):
        return (f"monitor {command.name}: not under gdb; use gdb's own command "
                f"(it keeps gdb's view of the program in step)")
    return ""


# -- the rest -------------------------------------------------------------------------------------

def _reply(data: bytes):
    return lambda _stub, _args: [data]


def no_ack_mode(stub, _args: bytes) -> list[bytes]:
    stub.no_ack = True
    return [b"OK"]


def vcont(stub, args: bytes) -> list[bytes]:
    return stub.vcont(args)


def vkill(stub, _args: bytes) -> list[bytes]:
    stub.finished = "killed"
    return [b"OK"]


def thread_extra_info(_stub, _args: bytes) -> list[bytes]:
    return [text_hex("emu process")]


QUERIES = {
    b"qSupported": supported,
    b"qXfer": xfer,
    b"qRcmd": monitor,
    b"qAttached": _reply(b"1"),
    b"qC": _reply(b"QC" + THREAD.encode()),
    b"qfThreadInfo": _reply(b"m" + THREAD.encode()),
    b"qsThreadInfo": _reply(b"l"),
    b"qSymbol": _reply(b"OK"),
    b"qThreadExtraInfo": thread_extra_info,
    b"QStartNoAckMode": no_ack_mode,
    b"vCont?": _reply(VCONT_ACTIONS),
    b"vCont": vcont,
    b"vKill": vkill,
    b"vMustReplyEmpty": _reply(b""),
}

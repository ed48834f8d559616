"""The named packets: q (queries), Q (settings) and v (verbs).

    qSupported:FEATURES       what each side supports (PacketSize, qXfer:..., swbreak+,
                              multiprocess+ when gdb offers it, ...)
    qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH
                              features (target.xml), siginfo, exec-file, auxv
    qRcmd,HEX                 `monitor CMD`: the debugger's commands (pt, vmmap, heap,
                              record, ...), output as O packets, then OK
    qAttached qC qfThreadInfo qsThreadInfo qSymbol     one process, one thread
    QStartNoAckMode           stop sending + and -
    vCont? vCont;ACTIONS      resume (execution.py); vKill;PID ends the session
    vFile:OPERATION:...       /proc/PID/maps and friends (vfile.py)
    qHostInfo qProcessInfo qOffsets qMemoryRegionInfo qRegisterInfoN _M ...
                              what lldb asks (lldb.py)
    vMustReplyEmpty           and every unknown name: the empty reply

A handler takes (stub, bytes after the name and its separator) and returns
the replies. qRegisterInfoN and qThreadStopInfoTID carry their argument in
the name itself (PREFIXED).
"""

from __future__ import annotations

from kernel.process import SignalInfo

from ..debug.commands import find as find_command
from ..debug.repl import Repl
from . import lldb
from .packets import E_STATE, MAX_PACKET, PacketError, escape, parse_address_length, text_hex
from .stops import siginfo, stop_signal
from .tdesc import target_xml

SEPARATORS = b":;,"
STUB_FEATURES = ("qXfer:features:read+", "qXfer:siginfo:read+", "qXfer:auxv:read+",
                 "QStartNoAckMode+", "vContSupported+", "swbreak+", "hwbreak+",
                 "ReverseStep+", "ReverseContinue+")
VCONT_ACTIONS = b"vCont;c;C;s;S;r"
NOT_FOR_MONITOR = ("kill", "quit", "run", "start")   # besides every command that resumes


def handle(stub, payload: bytes) -> list[bytes]:
    """Dispatch a q/Q/v packet by its name; [b""] for unknown names."""
    name, args = _split(payload)
    handler = QUERIES.get(name)
    if handler is None:
        for prefix, prefixed in PREFIXED.items():
            if payload.startswith(prefix):
                return prefixed(stub, payload[len(prefix):])
        return [b""]
    return handler(stub, args)


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
    if "multiprocess" in stub.client_features:
        stub.ids.multiprocess = True
        features.append("multiprocess+")
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
    if stop.kind in ("exited", "killed"):
        raise PacketError("qXfer:siginfo: the program has ended", E_STATE)
    info = stub.dbg.runner.pending_signal
    if stop.kind != "signalled" or info is None:
        info = SignalInfo(stop_signal(stop))
    return siginfo(info)


def _auxv(stub, _annex: bytes) -> bytes:
    return stub.dbg.runner.auxv


def _exec_file(stub, _annex: bytes) -> bytes:
    if not stub.dbg.image.elf_path:
        raise PacketError("qXfer:exec-file: the program has no ELF file", E_STATE)
    return stub.dbg.image.elf_path.encode()


XFER_OBJECTS = {b"features": _features, b"siginfo": _siginfo, b"exec-file": _exec_file,
                b"auxv": _auxv}


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


def current_thread(stub, _args: bytes) -> list[bytes]:
    return [b"QC" + stub.ids.thread.encode()]


def first_threads(stub, _args: bytes) -> list[bytes]:
    return [b"m" + stub.ids.thread.encode()]


def vfile(stub, args: bytes) -> list[bytes]:
    return stub.files.handle(args)


def thread_extra_info(_stub, _args: bytes) -> list[bytes]:
    return [text_hex("emu process")]


QUERIES = {
    b"qSupported": supported,
    b"qXfer": xfer,
    b"qRcmd": monitor,
    b"qAttached": _reply(b"0"),          # we started it: gdb kills it when it quits
    b"qC": current_thread,
    b"qfThreadInfo": first_threads,
    b"qsThreadInfo": _reply(b"l"),
    b"qSymbol": _reply(b"OK"),
    b"qThreadExtraInfo": thread_extra_info,
    b"QStartNoAckMode": no_ack_mode,
    b"vCont?": _reply(VCONT_ACTIONS),
    b"vCont": vcont,
    b"vKill": vkill,
    b"vFile": vfile,
    b"vMustReplyEmpty": _reply(b""),
    b"qHostInfo": lldb.host_info,
    b"qProcessInfo": lldb.process_info,
    b"qOffsets": lldb.offsets,
    b"qMemoryRegionInfo": lldb.memory_region,
    b"qWatchpointSupportInfo": lldb.watchpoint_info,
    b"qGetWorkingDir": lldb.working_dir,
}

PREFIXED = {
    b"qRegisterInfo": lldb.register_info,
    b"qThreadStopInfo": lldb.thread_stop_info,
}

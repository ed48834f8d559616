"""The server: one gdb client at a time on 127.0.0.1, served until it leaves.

    listener = listen(1234)                  # UsageError if the port is taken
    why = serve(dbg, listener)               # "detached", "killed" or "gdb hung up"

One session per serve(): it ends when gdb detaches (D), kills (k, vKill) or
closes the connection. After a detach the program runs on by itself to its
end, its output going where it always goes, as a program gdbserver detaches
from does; otherwise it stays as it was then. A bug met while
handling a packet becomes one log line and an error reply, never a traceback.
"""

from __future__ import annotations

import socket
from contextlib import closing

from ..errors import UsageError
from .connection import Connection
from .packets import E_MALFORMED
from .stub import Stub

HOST = "127.0.0.1"
DEFAULT_PORT = 1234


def listen(port: int = DEFAULT_PORT, host: str = HOST) -> socket.socket:
    """A socket listening on host:port (port 0: any free port). UsageError when
    the port is out of range or taken."""
    if not 0 <= port <= 0xFFFF:
        raise UsageError(f"--port must be 0..65535, got {port}")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror} "
                         f"(pick another port with --port)") from None
    listener.listen(1)
    return listener


def serve(dbg, listener: socket.socket, log=None) -> str:
    """Accept one gdb and answer its packets until it leaves; returns why it
    ended. The listener is left open (the caller owns it)."""
    log = log or (lambda _line: None)
    client, _ = listener.accept()
    with closing(client):
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _session(dbg, Connection(client, log), log)


def _session(dbg, conn: Connection, log) -> str:
    stub = Stub(dbg, while_running=conn.while_running, log=log)
    while not stub.finished:
        payload = conn.receive()
        if payload is None:
            return "gdb hung up"
        for reply in _replies(stub, payload, log):
            conn.send(reply)
        if stub.no_ack:
            conn.acking = False
    if stub.finished == "detached":
        dbg.target.release()
    return stub.finished


def _replies(stub: Stub, payload: bytes, log) -> list[bytes]:
    try:
        return stub.handle(payload)
    except Exception as exc:     # a bug here or in the emulator: report it, keep serving
        log(f"internal error on packet {payload[:40]!r}: {type(exc).__name__}: {exc}")
        return [E_MALFORMED]

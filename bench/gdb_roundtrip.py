"""The gdb stub's stepi round trip, against Target.step() in-process.

The same program (bench/churn.c built against musl) runs both ways from its
entry point. In-process: N calls of Target.step(), each a recorded single
instruction. Over the protocol: the stub serves from a thread, and a Python
client in no-ack mode sends vCont;s:3e8 N times, each time waiting for the stop
reply, as gdb's stepi does (gdb adds its own reads on top). Goals: a round
trip under 5 ms, and at least 20,000 steps/s in-process.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from emu.debug.debugger import Debugger
from emu.gdbstub import listen, serve
from emu.gdbstub.client import Client

STEPS = 2000
SOURCE = Path(__file__).resolve().parent / "churn.c"
ARGV = ["churn", "200000"]
GOAL_MS = 5.0
GOAL_STEPS_PER_S = 20_000


def _start() -> Debugger:
    return Debugger.start(SOURCE, ARGV, ram_mib=256, libc="musl")


def steps_per_second(count: int = STEPS) -> float:
    """Target.step() rate from the entry point."""
    dbg = _start()
    try:
        start = time.perf_counter()
        for _ in range(count):
            stop = dbg.target.step()
            if stop.kind != "step":
                raise SystemExit(f"gdb_roundtrip: the program stopped early: {stop.kind}")
        return count / (time.perf_counter() - start)
    finally:
        dbg.runner.finish()


def round_trip_ms(count: int = STEPS) -> float:
    """Mean time of one vCont;s:3e8 and its stop reply, in ms."""
    dbg = _start()
    listener = listen(0)
    server = threading.Thread(target=serve, args=(dbg, listener), daemon=True)
    server.start()
    try:
        with Client(listener.getsockname()[1]) as gdb:
            gdb.request(b"qSupported:swbreak+")
            gdb.no_ack()
            start = time.perf_counter()
            for _ in range(count):
                reply = gdb.request(b"vCont;s:3e8")
                if not reply.startswith(b"T05"):
                    raise SystemExit(f"gdb_roundtrip: unexpected stop reply {reply!r}")
            elapsed = time.perf_counter() - start
            gdb.request(b"vKill;3e8")       # D would run churn on to its end
        server.join(timeout=10)
        return elapsed / count * 1000
    finally:
        listener.close()
        dbg.runner.finish()


def main() -> dict:
    rate = steps_per_second()
    mean_ms = round_trip_ms()
    print(f"gdb stub (churn.c, musl, {STEPS:,} single steps from the entry point)")
    print(f"  Target.step() in-process        {rate:8,.0f} steps/s  "
          f"(goal >= {GOAL_STEPS_PER_S:,})")
    print(f"  stepi round trip over TCP       {mean_ms:8.3f} ms       (goal < {GOAL_MS:g} ms)")
    return {"steps_per_s": rate, "roundtrip_ms": mean_ms}


if __name__ == "__main__":
    main()

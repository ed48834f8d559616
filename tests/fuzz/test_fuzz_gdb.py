"""Fuzz target: gdb remote-protocol packets from a client that lies.

Random packets, built from the real packet letters and query names with wild
arguments, and raw bytes, go to one stub over a small program. Invariant: each
packet gets a list of replies (bytes), the stub never raises, and afterwards a
well-formed `g` and `?` still answer.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from emu.debug.debugger import Debugger
from emu.gdbstub import Stub
from tests.conftest import EXAMPLES
from tests.fuzz.conftest import FUZZ, record

HEADS = st.sampled_from([
    b"g", b"G", b"p", b"P", b"m", b"M", b"X", b"s", b"c", b"S05", b"C0b", b"?", b"H", b"T",
    b"Z0,", b"z0,", b"Z2,", b"z2,", b"Z3,", b"Z4,", b"bs", b"bc", b"D", b"k", b"vCont;",
    b"vCont?", b"vCont;s:", b"vCont;c", b"vCont;r", b"vKill;", b"vFile:", b"qSupported:",
    b"qXfer:features:read:target.xml:", b"qXfer:auxv:read::", b"qXfer:siginfo:read::",
    b"qRcmd,", b"qC", b"qfThreadInfo", b"qsThreadInfo", b"qAttached", b"qOffsets",
    b"qHostInfo", b"qProcessInfo", b"qMemoryRegionInfo:", b"QStartNoAckMode",
    b"qTStatus", b"qSymbol::", b"_M", b"x", b"vMustReplyEmpty", b"qThreadExtraInfo,"])
ARGS = st.sampled_from([b"", b"0", b"1", b"-1", b"400000,8", b"0,8", b"ffffffffffffffff,10",
                        b"400000,100000000", b"10", b"3b", b"10=00", b"0=zz", b"1,2,3",
                        b"p1.1", b"p-1.-1", b"0001", b"7fffffffe000,4", b"4,4:abcd",
                        b"70742024727370", b"6865617020", b"inf", b";", b":", b"\x00",
                        b"400000,1:\x7d\x03", b"zz,zz"])


def fresh_stub() -> Stub:
    dbg = Debugger.start(EXAMPLES / "hello.asm", ["hello"], ram_mib=64)
    return Stub(dbg)


@FUZZ
@given(packets=st.lists(st.one_of(st.builds(lambda h, a, b: h + a + b, HEADS, ARGS, ARGS),
                                  st.binary(max_size=40)), min_size=1, max_size=12))
def test_any_packet_gets_replies_and_the_stub_carries_on(packets):
    stub = fresh_stub()
    try:
        for packet in packets:
            replies = stub.handle(packet)
            assert isinstance(replies, list) and all(isinstance(r, bytes) for r in replies)
            if stub.finished:
                break
        if not stub.finished:
            assert stub.handle(b"?")
            assert stub.handle(b"g")
        record("gdb-packets", "session ended" if stub.finished else "served")
    finally:
        stub.dbg.runner.finish()

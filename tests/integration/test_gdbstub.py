"""`emu gdbserver`: the remote protocol from a small client, then real gdb.

Protocol tests serve a Debugger from a thread and talk to it with
emu.gdbstub.client.Client; the gdb tests run `emu gdbserver` and gdb 13 in
batch mode as subprocesses (skipped without gdb) and read what gdb prints.
"""

from __future__ import annotations

import re
import select
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from emu.debug.debugger import Debugger
from emu.gdbstub import listen, serve
from emu.gdbstub.client import Client
from emu.gdbstub.packets import FrameParser, escape, frame, unescape
from emu.gdbstub.registers import G_PACKET_SIZE, LAYOUT, NUMBERS
from tests.conftest import EXAMPLES, FIXTURES, ROOT

MALLOCFUN = EXAMPLES / "programs" / "mallocfun.c"
NULL_WRITE = FIXTURES / "null_write.c"
COUNTER = FIXTURES / "counter.c"
SPIN = FIXTURES / "spin.c"
TIMEOUT = 60
BUILD_TIMEOUT = 300             # a first musl build takes a while


# -- framing, without sockets ----------------------------------------------------------------

def test_frames_carry_the_payload_checksum():
    assert frame(b"OK") == b"$OK#9a"
    assert frame(b"") == b"$#00"


def test_binary_escapes_round_trip_the_four_reserved_bytes():
    data = bytes(range(256))
    escaped = escape(data)
    assert not any(c in escaped for c in b"#$*")
    assert unescape(escaped) == data
    assert escape(b"}") == b"}]" and escape(b"#") == b"}\x03"


def test_the_parser_finds_packets_split_across_reads():
    parser = FrameParser()
    assert [e.kind for e in parser.feed(b"+$g")] == ["ack"]
    events = parser.feed(b"#6") + parser.feed(b"7$m0,4#fd-\x03$g#00")
    assert [(e.kind, e.payload) for e in events] == [
        ("packet", b"g"), ("packet", b"m0,4"), ("nak", b""), ("interrupt", b""),
        ("bad-packet", b"g")]


# -- a stub served from a thread ---------------------------------------------------------------

@dataclass
class Served:
    gdb: Client
    dbg: Debugger
    thread: threading.Thread
    outcome: dict = field(default_factory=dict)

    def ended(self) -> str:
        self.thread.join(timeout=TIMEOUT)
        assert not self.thread.is_alive(), "the server did not stop"
        return self.outcome["why"]


@contextmanager
def served(path, **options):
    dbg = Debugger.start(path, [path.name], ram_mib=64, **options)
    listener = listen(0)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(why=serve(dbg, listener)),
                              daemon=True)
    thread.start()
    gdb = Client(listener.getsockname()[1], timeout=TIMEOUT)
    try:
        yield Served(gdb, dbg, thread, outcome)
    finally:
        gdb.close()
        thread.join(timeout=TIMEOUT)
        listener.close()
        dbg.runner.finish()


def register(g_reply: bytes, name: str) -> int:
    """A register's value from a g reply."""
    offset = sum(r.size for r in LAYOUT[:NUMBERS[name]])
    raw = bytes.fromhex(g_reply.decode())[offset:offset + LAYOUT[NUMBERS[name]].size]
    return int.from_bytes(raw, "little")


def stop_field(reply: bytes, key: str) -> str:
    fields = dict(f.split(":", 1) for f in reply[3:].decode().split(";") if f)
    return fields[key]


def stop_rip(reply: bytes) -> int:
    """rip (register 0x10) from a T stop reply."""
    return int.from_bytes(bytes.fromhex(stop_field(reply, "10")), "little")


def test_qsupported_offers_what_gdb_needs():
    with served(NULL_WRITE) as s:
        reply = s.gdb.request(b"qSupported:multiprocess+;swbreak+;hwbreak+").decode()
        for feature in ("PacketSize=4000", "qXfer:features:read+", "QStartNoAckMode+",
                        "vContSupported+", "swbreak+", "hwbreak+"):
            assert feature in reply.split(";")
        assert s.gdb.request(b"vMustReplyEmpty") == b""
        assert s.gdb.request(b"qNoSuchThing") == b""
        assert s.gdb.request(b"vCont?") == b"vCont;c;C;s;S;r"
        assert "multiprocess+" in reply.split(";")                # gdb offered it
        assert (s.gdb.request(b"qAttached"), s.gdb.request(b"qC")) == (b"0", b"QCp3e8.3e8")
        assert s.gdb.request(b"qfThreadInfo") == b"mp3e8.3e8"
        assert s.gdb.request(b"qsThreadInfo") == b"l"


def test_target_xml_describes_exactly_the_g_packet_with_fs_base_and_gs_base():
    with served(NULL_WRITE) as s:
        xml, offset = b"", 0
        while True:                                   # in pieces, as gdb reads it
            reply = s.gdb.request(b"qXfer:features:read:target.xml:%x,200" % offset)
            xml += unescape(reply[1:])
            offset += 0x200
            if reply[:1] == b"l":
                break
            assert reply[:1] == b"m"
        root = ET.fromstring(xml)
        assert root.findtext("architecture") == "i386:x86-64"
        assert root.findtext("osabi") == "GNU/Linux"
        regs = root.findall("./feature/reg")
        names = [r.get("name") for r in regs]
        assert names[:17] == ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                              *[f"r{n}" for n in range(8, 16)], "rip"]
        assert names[-3:] == ["orig_rax", "fs_base", "gs_base"]
        assert [int(r.get("regnum")) for r in regs] == list(range(len(regs)))
        g = s.gdb.request(b"g")
        assert len(g) // 2 == sum(int(r.get("bitsize")) // 8 for r in regs) == G_PACKET_SIZE
        assert s.gdb.request(b"qXfer:features:read:other.xml:0,100").startswith(b"E")


def test_g_and_p_show_rip_at_the_entry_point():
    with served(NULL_WRITE) as s:
        entry = s.dbg.image.entry
        assert register(s.gdb.request(b"g"), "rip") == entry
        rip = s.gdb.request(b"p%x" % NUMBERS["rip"])
        assert int.from_bytes(bytes.fromhex(rip.decode()), "little") == entry
        assert stop_rip(s.gdb.request(b"?")) == entry


def test_registers_written_with_p_and_g_read_back():
    with served(NULL_WRITE) as s:
        value = (0x1122334455667788).to_bytes(8, "little").hex().encode()
        assert s.gdb.request(b"P%x=%s" % (NUMBERS["rax"], value)) == b"OK"
        g = s.gdb.request(b"g")
        assert register(g, "rax") == 0x1122334455667788
        assert s.gdb.request(b"G" + g) == b"OK"
        assert s.gdb.request(b"g") == g
        assert s.dbg.machine.reg("rax") == 0x1122334455667788


def test_st0_is_the_top_of_the_x87_stack_and_xmm_registers_are_128_bits():
    with served(NULL_WRITE) as s:
        machine = s.dbg.machine
        machine.set_reg("fpsw", 6 << 11)                              # top = 6
        machine.set_reg("fp6", (0x8000000000000000, 0x3FFF))          # 1.0
        one = (0x8000000000000000).to_bytes(8, "little") + (0x3FFF).to_bytes(2, "little")
        assert s.gdb.request(b"p%x" % NUMBERS["st0"]) == one.hex().encode()
        assert register(s.gdb.request(b"g"), "st0") == int.from_bytes(one, "little")
        wide = (1 << 127 | 5).to_bytes(16, "little").hex().encode()
        assert s.gdb.request(b"P%x=%s" % (NUMBERS["xmm1"], wide)) == b"OK"
        assert machine.reg("xmm1") == 1 << 127 | 5
        assert register(s.gdb.request(b"g"), "cs") == 0x33          # Linux's __USER_CS
        assert register(s.gdb.request(b"g"), "ss") == 0x2B
        assert s.gdb.request(b"P%x=%s" % (NUMBERS["cs"], b"33000000")) == b"OK"
        assert s.gdb.request(b"P%x=%s" % (NUMBERS["cs"], b"23000000")) == b"E02"


def test_memory_reads_virtual_addresses_and_unmapped_ones_are_e14():
    with served(NULL_WRITE) as s:
        rsp = s.dbg.target.registers()["rsp"]
        argc = s.gdb.request(b"m%x,8" % rsp)
        assert int.from_bytes(bytes.fromhex(argc.decode()), "little") == 1
        assert s.gdb.request(b"m0,8") == b"E14"
        assert s.gdb.request(b"m10,4") == b"E14"
        assert s.gdb.request(b"M0,1:00") == b"E14"


def test_x_writes_binary_data_with_escapes():
    with served(NULL_WRITE) as s:
        rsp = s.dbg.target.registers()["rsp"]
        data = b"}#$*\x00\xff"
        assert s.gdb.request(b"X%x,%x:" % (rsp - 64, len(data)) + escape(data)) == b"OK"
        assert s.gdb.request(b"m%x,%x" % (rsp - 64, len(data))) == data.hex().encode()
        assert s.gdb.request(b"X%x,0:" % rsp) == b"OK"              # gdb's probe


def test_a_bad_checksum_gets_a_nak_and_the_resend_an_answer():
    with served(NULL_WRITE) as s:
        s.gdb.send_raw(b"$g#00")
        assert s.gdb.next_event().kind == "nak"
        assert len(s.gdb.request(b"g")) == 2 * G_PACKET_SIZE


def test_malformed_packets_get_errors_and_serving_goes_on():
    with served(NULL_WRITE) as s:
        assert s.gdb.request(b"mzz,4") == b"E01"
        assert s.gdb.request(b"m1000") == b"E01"
        assert s.gdb.request(b"p999") == b"E02"
        assert s.gdb.request(b"P10=0011") == b"E02"                 # rip takes 8 bytes
        assert s.gdb.request(b"Gabcd") == b"E01"
        assert s.gdb.request(b"M1000,4:00") == b"E01"               # 4 bytes promised, 1 given
        assert s.gdb.request(b"Z0,xyz,1") == b"E01"
        assert s.gdb.request(b"Z0,ffffffffffffffff,10") == b"OK"    # never hit, as in gdbserver
        assert s.gdb.request(b"z0,ffffffffffffffff,10") == b"OK"
        assert s.gdb.request(b"Z2,fffffffffffffffc,8").startswith((b"OK", b"E"))
        assert s.gdb.request(b"vCont;q") == b"E01"
        assert s.gdb.request(b"qRcmd,zz") == b"E01"
        assert s.gdb.request(b"?").startswith(b"T05")


def test_a_breakpoint_and_continue_stop_there_with_swbreak():
    with served(NULL_WRITE) as s:
        s.gdb.request(b"qSupported:swbreak+")
        s.gdb.no_ack()
        poke = s.dbg.image.symbols["poke"]
        assert s.gdb.request(b"Z0,%x,1" % poke) == b"OK"
        assert s.gdb.request(b"Z0,%x,1" % poke) == b"OK"          # twice is once
        reply = s.gdb.request(b"vCont;c")
        assert reply.startswith(b"T05") and "swbreak" in reply.decode()
        assert stop_rip(reply) == poke and stop_field(reply, "thread") == "3e8"
        assert s.gdb.request(b"z0,%x,1" % poke) == b"OK"
        reply = s.gdb.request(b"vCont;s:3e8")
        assert reply.startswith(b"T05") and stop_rip(reply) == s.dbg.target.rip != poke


def test_range_stepping_stops_outside_the_range():
    with served(NULL_WRITE) as s:
        start = s.dbg.target.rip
        reply = s.gdb.request(b"vCont;r%x,%x:3e8;c" % (start, start + 8))
        rip = register(s.gdb.request(b"g"), "rip")
        assert reply.startswith(b"T05") and not start <= rip < start + 8


def test_reverse_step_undoes_a_step():
    with served(NULL_WRITE) as s:
        before = s.gdb.request(b"g")
        s.gdb.request(b"vCont;s:3e8")
        s.gdb.request(b"vCont;s:3e8")
        assert s.gdb.request(b"g") != before
        s.gdb.request(b"bs")
        s.gdb.request(b"bs")
        assert s.gdb.request(b"g") == before
        assert "replaylog:begin" in s.gdb.request(b"bs").decode()


def test_watchpoints_report_the_watched_address():
    with served(COUNTER) as s:
        counter = s.dbg.image.symbols["counter"]
        assert s.gdb.request(b"Z2,%x,4" % counter) == b"OK"
        reply = s.gdb.request(b"c").decode()
        assert reply.startswith("T05") and f"watch:{counter:x};" in reply
        assert s.gdb.request(b"m%x,4" % counter) == (1).to_bytes(4, "little").hex().encode()
        assert s.gdb.request(b"z2,%x,4" % counter) == b"OK"
        assert s.gdb.request(b"Z3,%x,4" % counter) == b"OK"
        assert f"rwatch:{counter:x};" in s.gdb.request(b"c").decode()
        assert s.gdb.request(b"z3,%x,4" % counter) == b"OK"
        assert s.gdb.request(b"Z4,%x,4" % counter) == b"OK"
        assert f"awatch:{counter:x};" in s.gdb.request(b"c").decode()
        assert s.gdb.request(b"Z2,10,4") == b"E14"                 # outside every mapping


def test_monitor_vmmap_and_pt_answer_with_o_packets():
    with served(NULL_WRITE) as s:
        lines = s.gdb.monitor("vmmap")
        assert any("[stack]" in line for line in lines)
        walk = "\n".join(s.gdb.monitor("pt $rsp"))
        assert all(level in walk for level in ("PML4[", "PDPT[", "PD[", "PT["))
        assert "not under gdb" in s.gdb.monitor("continue")[0]


def test_the_program_exiting_is_a_w_packet():
    with served(COUNTER) as s:
        assert s.gdb.request(b"vCont;c") == b"W06"
        assert s.gdb.request(b"?") == b"W06"
        assert s.gdb.request(b"vCont;c") == b"W06"
        assert bytes(s.dbg.runner.process.output[1]) == b"counter 6\n"


def test_a_guest_segfault_is_sigsegv_with_siginfo_then_x():
    with served(NULL_WRITE) as s:
        reply = s.gdb.request(b"vCont;c")
        assert reply.startswith(b"T0b")
        assert stop_rip(reply) == s.dbg.runner.fault.rip
        info = unescape(s.gdb.request(b"qXfer:siginfo:read::0,80")[1:])
        assert int.from_bytes(info[0:4], "little") == 11             # SIGSEGV
        assert int.from_bytes(info[8:12], "little") == 1             # SEGV_MAPERR
        assert int.from_bytes(info[16:24], "little") == 0x10         # si_addr
        assert s.gdb.request(b"vCont;C0b:3e8") == b"X0b"


def test_an_interrupt_stops_a_running_program_with_sigint():
    with served(SPIN) as s:
        s.gdb.send(b"vCont;c")
        time.sleep(0.2)
        s.gdb.send_raw(b"\x03")
        reply = s.gdb.read_packet()
        assert reply.startswith(b"T02")
        assert s.dbg.target.alive
        assert s.gdb.request(b"vCont;s:3e8").startswith(b"T05")


def test_detach_and_kill_end_the_server():
    with served(NULL_WRITE) as s:
        assert s.gdb.request(b"D") == b"OK"
        assert s.ended() == "detached"
    with served(NULL_WRITE) as s:
        s.gdb.send(b"k")
        assert s.ended() == "killed"


def test_a_client_hanging_up_ends_the_server_cleanly():
    with served(SPIN) as s:
        s.gdb.send(b"vCont;c")                     # hang up while the program runs
        s.gdb.close()
        assert s.ended() == "gdb hung up"


# -- real gdb ------------------------------------------------------------------------------------

needs_gdb = pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")
LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+); in gdb: file (\S+) then")


@contextmanager
def gdbserver(*args):
    """`emu gdbserver ARGS --port 0` as a subprocess; yields (process, port, elf)."""
    proc = subprocess.Popen([sys.executable, "-m", "emu", "gdbserver", "--port", "0",
                             *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], BUILD_TIMEOUT)
        found = LISTENING.search(proc.stdout.readline() if ready else "")
        if not found:
            proc.kill()
            pytest.fail(f"emu gdbserver did not start listening: {proc.communicate()[1]}")
        yield proc, int(found.group(1)), found.group(2)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=TIMEOUT)


def run_gdb(elf: str, port: int, *commands: str) -> str:
    argv = ["gdb", "-nx", "--batch", "-ex", f"file {elf}", "-ex", f"target remote :{port}"]
    for command in commands:
        argv += ["-ex", command]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    return proc.stdout + proc.stderr


def source_line(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@needs_gdb
def test_gdb_breaks_steps_nexts_over_malloc_and_sees_the_exit():
    big = source_line(MALLOCFUN, "char *big = malloc(1 << 20)")
    with gdbserver(MALLOCFUN, "--libc", "musl", "--", "9") as (proc, port, elf):
        out = run_gdb(elf, port, "break main", "continue", "info registers rip", "stepi",
                      "info registers rip", "x/4gx $rsp", f"break mallocfun.c:{big}",
                      "continue", "next", "monitor pt $rsp", "continue")
        server_out, _ = proc.communicate(timeout=TIMEOUT)
    first = source_line(MALLOCFUN, "int rounds = argc > 1")
    assert re.search(rf"Breakpoint 1, main \(argc=2, .*\) at \S*mallocfun\.c:{first}", out), out
    rips = re.findall(r"^rip\s+(0x[0-9a-f]+)", out, re.M)
    assert len(rips) == 2 and rips[0] != rips[1]
    assert re.search(r"0x[0-9a-f]+:(\s+0x[0-9a-f]{16}){2}\n0x[0-9a-f]+:(\s+0x[0-9a-f]{16}){2}",
                     out), out
    assert re.search(rf"Breakpoint 2, main .* at \S*mallocfun\.c:{big}", out), out
    assert re.search(rf"^{big + 1}\s+snprintf\(big", out, re.M), out
    assert all(level in out for level in ("PML4[", "PDPT[", "PD[", "PT[")), out
    assert "exited with code 07" in out, out
    assert "argv[1]=9 done" in server_out


@needs_gdb
def test_gdb_sees_the_guest_segfault_in_poke():
    with gdbserver(NULL_WRITE) as (proc, port, elf):
        out = run_gdb(elf, port, "continue", "x/i $pc",
                      "print $_siginfo._sifields._sigfault.si_addr")
        server_out, _ = proc.communicate(timeout=TIMEOUT)
    assert "Program received signal SIGSEGV, Segmentation fault." in out, out
    assert re.search(r"poke \(p=.*\) at \S*null_write\.c:3", out), out
    assert re.search(r"=> 0x[0-9a-f]+ <poke\+\d+>:\s+movl\s+\$0x2a,\(%rdi\)", out), out
    assert "(void *) 0x10" in out, out
    assert proc.returncode == 0 and server_out == "before\n"

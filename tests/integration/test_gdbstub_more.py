"""The stub's newer packets: lldb's queries, vFile /proc, thread-id forms,
signals on resume, detach, record and replay; and `emu gdb`."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys

import pytest

from emu.gdbstub.packets import unescape
from tests.conftest import ASM, FIXTURES, ROOT
from tests.integration.test_gdbstub import COUNTER, NULL_WRITE, served, stop_rip

ABORT_SELF = """
_start:
  mov eax, 39            ; getpid
  syscall
  mov edi, eax
  mov esi, eax
  mov edx, 6             ; SIGABRT
  mov eax, 234           ; tgkill(pid, pid, SIGABRT)
  syscall
  mov eax, 60
  mov edi, 3
  syscall
"""


def fields(reply: bytes) -> dict:
    return dict(item.split(":", 1) for item in reply.decode().split(";") if item)


def test_lldb_learns_host_process_memory_regions_and_registers():
    with served(NULL_WRITE) as s:
        host = fields(s.gdb.request(b"qHostInfo"))
        assert bytes.fromhex(host["triple"]) == b"x86_64-pc-linux-gnu" and host["ptrsize"] == "8"
        assert fields(s.gdb.request(b"qProcessInfo"))["pid"] == "3e8"
        entry = s.dbg.image.entry
        region = fields(s.gdb.request(b"qMemoryRegionInfo:%x" % entry))
        assert region["permissions"] == "rx" and int(region["start"], 16) <= entry
        assert b"null_write" in bytes.fromhex(region["name"])
        gap = fields(s.gdb.request(b"qMemoryRegionInfo:0"))
        assert "permissions" not in gap and int(gap["size"], 16) > 0
        assert fields(s.gdb.request(b"qRegisterInfo10"))["name"] == "rip"
        assert fields(s.gdb.request(b"qRegisterInfo10"))["generic"] == "pc"
        assert s.gdb.request(b"qRegisterInfo100") == b"E45"
        assert s.gdb.request(b"_M1000,rwx") == b""              # lldb then calls mmap itself
        assert s.gdb.request(b"qOffsets") == b"Text=0;Data=0;Bss=0"


def test_auxv_names_the_entry_point():
    with served(NULL_WRITE) as s:
        auxv = unescape(s.gdb.request(b"qXfer:auxv:read::0,1000")[1:])
        pairs = dict(struct.iter_unpack("<QQ", auxv))
        assert pairs[9] == s.dbg.image.entry                   # AT_ENTRY
        assert auxv.endswith(bytes(16))                        # AT_NULL


def test_proc_maps_over_vfile():
    with served(NULL_WRITE) as s:
        assert s.gdb.request(b"vFile:setfs:0") == b"F0"
        fd = s.gdb.request(b"vFile:open:%s,0,0" % b"/proc/1000/maps".hex().encode())
        assert fd.startswith(b"F")
        reply = s.gdb.request(b"vFile:pread:%s,4000,0" % fd[1:])
        count, _, data = reply[1:].partition(b";")
        maps = unescape(data).decode()
        assert int(count, 16) == len(maps) and "r-xp" in maps and "[stack]" in maps
        assert s.gdb.request(b"vFile:close:%s" % fd[1:]) == b"F0"
        missing = s.gdb.request(b"vFile:open:%s,0,0" % b"/etc/passwd".hex().encode())
        assert missing == b"F-1,2"                            # ENOENT: only the program's files
        link = s.gdb.request(b"vFile:readlink:%s" % b"/proc/1000/exe".hex().encode())
        assert link.endswith(s.dbg.image.elf_path.encode())


def test_thread_ids_in_any_hex_spelling():
    with served(NULL_WRITE) as s:
        assert s.gdb.request(b"vCont;s:0003e8").startswith(b"T05")      # lldb's padding
        assert s.gdb.request(b"vCont;s:p3e8.3e8").startswith(b"T05")
        assert s.gdb.request(b"vCont;s:p3e8.-1").startswith(b"T05")
        assert (s.gdb.request(b"Hg0"), s.gdb.request(b"Hc-1"), s.gdb.request(b"Hg3e8")) == \
            (b"OK", b"OK", b"OK")
        assert s.gdb.request(b"Hg5") == b"E03"                          # not ours
        assert s.gdb.request(b"T3e8") == b"OK" and s.gdb.request(b"T7") == b"E03"


def test_after_a_fault_c_retries_and_c0b_delivers():
    with served(NULL_WRITE) as s:
        first = s.gdb.request(b"vCont;c")
        assert first.startswith(b"T0b")
        again = s.gdb.request(b"c")                    # no signal: the store runs again
        assert again.startswith(b"T0b") and stop_rip(again) == stop_rip(first)
        assert s.gdb.request(b"C0b") == b"X0b"


def test_abort_is_sigabrt_with_si_tkill_and_exit_after_the_signal_is_dropped(tmp_path):
    program = tmp_path / "abort.asm"
    program.write_text(ABORT_SELF)
    with served(program) as s:
        assert s.gdb.request(b"c").startswith(b"T06")
        info = unescape(s.gdb.request(b"qXfer:siginfo:read::0,80")[1:])
        signo, _, code = struct.unpack_from("<iii", info)
        pid, uid = struct.unpack_from("<iI", info, 16)
        assert (signo, code, pid, uid) == (6, -6, 1000, 1000)
        assert s.gdb.request(b"c") == b"W03"                    # tgkill returned, exit(3)


def test_detach_lets_the_program_run_to_its_end():
    with served(COUNTER) as s:
        assert s.gdb.request(b"D") == b"OK"
        assert s.ended() == "detached"
        assert s.dbg.runner.exit_code == 6
        assert bytes(s.dbg.runner.process.output[1]) == b"counter 6\n"


def test_monitor_bt_ends_at_the_outermost_frame():
    with served(NULL_WRITE) as s:
        poke = s.dbg.image.symbols["poke"]
        s.gdb.request(b"Z0,%x,1" % poke)
        s.gdb.request(b"c")
        frames = s.gdb.monitor("bt")
        assert frames[0].startswith("#0  poke (p=0x10)") and " in main (" in frames[1]
        assert frames[-1].endswith("in _start () at start.S:16"), frames


def test_k_is_answered_for_lldb():
    with served(NULL_WRITE) as s:
        assert s.gdb.request(b"k").startswith(b"X09")
        assert s.ended() == "killed"


def test_monitor_record_then_reverse_continue_crosses_the_continue():
    with served(COUNTER) as s:
        bump = s.dbg.image.symbols["bump"]
        assert s.gdb.monitor("record") == []
        assert s.gdb.request(b"Z0,%x,1" % bump) == b"OK"
        start = s.dbg.target.rip
        assert stop_rip(s.gdb.request(b"c")) == bump               # a recorded continue
        assert s.gdb.request(b"z0,%x,1" % bump) == b"OK"
        reply = s.gdb.request(b"bc")
        assert "replaylog:begin" in reply.decode() and stop_rip(reply) == start
        reply = s.gdb.request(b"c")                                # replays to the log's end
        assert "replaylog:end" in reply.decode() and stop_rip(reply) == bump
        assert "stopped" in s.gdb.monitor("record stop")[0]


needs_gdb = pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")


@needs_gdb
def test_emu_gdb_gives_gdb_the_os_views_as_commands():
    proc = subprocess.run([sys.executable, "-m", "emu", "gdb", str(FIXTURES / "linked_list.c"),
                           "--link", str(ASM / "allocators" / "firstfit.asm"), "--batch",
                           "-ex", "break sum", "-ex", "continue", "-ex", "vmmap",
                           "-ex", "pt $rsp", "-ex", "memmap", "-ex", "help vmmap",
                           "-ex", "heap"],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300)
    out = proc.stdout                     # gdb writes `monitor` output to stderr
    assert "Breakpoint 1, sum (head=" in out, out
    assert "[stack]" in out and "firstfit.asm" in out                        # vmmap
    assert all(level in out for level in ("PML4[", "PDPT[", "PD[", "PT["))   # pt
    assert "os_MemoryMap at 0x10000" in out                                  # memmap
    assert "runs `monitor vmmap" in out                                      # help
    assert "firstfit" in out and "allocated" in out                          # heap

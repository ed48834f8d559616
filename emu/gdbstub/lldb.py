"""The packets lldb asks before it can debug: host, process, memory regions, registers.

    qHostInfo              -> triple:<hex x86_64-pc-linux-gnu>;ptrsize:8;endian:little;...
    qProcessInfo           -> pid:3e8;parent-pid:1;real-uid:3e8;...;triple:<hex>;
    qOffsets               -> Text=0;Data=0;Bss=0            (the load bias: 0 for ET_EXEC)
    qMemoryRegionInfo:ADDR -> start:400000;size:1000;permissions:rx;name:<hex path>;
                              (outside every mapping: the gap, with no permissions)
    qRegisterInfoN         -> name:rax;bitsize:64;offset:0;encoding:uint;format:hex;...
    qWatchpointSupportInfo -> num:4;
    _M SIZE,PERMS          -> (empty): not supported, as from GNU gdbserver.
                              lldb 14 takes an error reply for success (its
                              CanJIT() stays true and every expression then
                              fails: "Couldn't malloc: address space is full"),
                              so the refusal is the empty reply: lldb then
                              allocates by calling the program's own mmap(),
                              which leaves one more anonymous mapping.

lldb learns where the program is loaded from qXfer:auxv:read (AT_ENTRY,
AT_PHDR), which queries.py serves; without it no breakpoint gets inserted.
Each handler takes (stub, the bytes after the name) and returns the replies.
"""

from __future__ import annotations

from .packets import E_STATE, PacketError, parse_number, text_hex
from .registers import LAYOUT

TRIPLE = "x86_64-pc-linux-gnu"
WATCHPOINTS = 4                          # what x86 debug registers would give

# DWARF register numbers of the x86-64 psABI, by gdb's register name.
DWARF = {**{name: n for n, name in enumerate(
            ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp"))},
         **{f"r{n}": n for n in range(8, 16)}, "rip": 16,
         **{f"xmm{n}": 17 + n for n in range(16)}, **{f"st{n}": 33 + n for n in range(8)},
         "eflags": 49, "es": 50, "cs": 51, "ss": 52, "ds": 53, "fs": 54, "gs": 55,
         "fs_base": 58, "gs_base": 59, "mxcsr": 64, "fctrl": 65, "fstat": 66}
GENERIC = {"rip": "pc", "rsp": "sp", "rbp": "fp", "eflags": "flags", "rdi": "arg1",
           "rsi": "arg2", "rdx": "arg3", "rcx": "arg4", "r8": "arg5", "r9": "arg6"}
SETS = {"org.gnu.gdb.i386.core": "General Purpose Registers",
        "org.gnu.gdb.i386.sse": "SSE Registers",
        "org.gnu.gdb.i386.linux": "Linux Registers",
        "org.gnu.gdb.i386.segments": "General Purpose Registers"}


def _fields(pairs: dict) -> list[bytes]:
    return ["".join(f"{k}:{v};" for k, v in pairs.items()).encode()]


def host_info(stub, _args: bytes) -> list[bytes]:
    return _fields({"triple": TRIPLE.encode().hex(), "ptrsize": 8, "endian": "little",
                    "ostype": "linux", "vendor": "pc", "hostname": b"emu".hex(),
                    "watchpoint_exceptions_received": "after", "default_packet_timeout": 20})


def process_info(stub, _args: bytes) -> list[bytes]:
    pid = stub.dbg.runner.process.pid
    uid = 1000
    return _fields({"pid": f"{pid:x}", "parent-pid": "1", "real-uid": f"{uid:x}",
                    "real-gid": f"{uid:x}", "effective-uid": f"{uid:x}",
                    "effective-gid": f"{uid:x}", "triple": TRIPLE.encode().hex(),
                    "ostype": "linux", "endian": "little", "ptrsize": 8})


def offsets(stub, _args: bytes) -> list[bytes]:
    base = stub.dbg.image.base
    return [b"Text=%x;Data=%x;Bss=%x" % (base, base, base)]


def memory_region(stub, args: bytes) -> list[bytes]:
    """The VMA holding ADDR, or the gap around it (no permissions)."""
    address = parse_number(args, "qMemoryRegionInfo address")
    vmas = list(stub.dbg.runner.aspace.vmas)
    for vma in vmas:
        if vma.start <= address < vma.end:
            perms = "".join(c for c in vma.perms[:3] if c != "-")
            return _fields({"start": f"{vma.start:x}", "size": f"{vma.size:x}",
                            "permissions": perms, "name": vma.name.encode().hex()})
    below = max((v.end for v in vmas if v.end <= address), default=0)
    above = min((v.start for v in vmas if v.start > address), default=1 << 64)
    return _fields({"start": f"{below:x}", "size": f"{above - below:x}"})


def register_info(stub, args: bytes) -> list[bytes]:
    """qRegisterInfoN: register N of the g packet, as lldb-server describes it;
    E45 past the last one (lldb's end of the list)."""
    number = parse_number(args, "qRegisterInfo number")
    if number >= len(LAYOUT):
        return [b"E45"]
    reg = LAYOUT[number]
    offset = sum(r.size for r in LAYOUT[:number])
    encoding, form = ("vector", "vector-uint8") if reg.bits == 128 else \
        ("ieee754", "float") if reg.st is not None else ("uint", "hex")
    info = {"name": reg.name, "bitsize": reg.bits, "offset": offset, "encoding": encoding,
            "format": form, "set": SETS.get(reg.feature, "Other Registers")}
    if reg.name in DWARF:
        info["ehframe"] = info["dwarf"] = DWARF[reg.name]
    if reg.name in GENERIC:
        info["generic"] = GENERIC[reg.name]
    return _fields(info)


def watchpoint_info(_stub, _args: bytes) -> list[bytes]:
    return [b"num:%d;" % WATCHPOINTS]


def thread_stop_info(stub, args: bytes) -> list[bytes]:
    """qThreadStopInfoTID: the last stop again, for our thread."""
    if not stub.ids.matches(args):
        raise PacketError(f"qThreadStopInfo: no thread {args[:20]!r}", E_STATE)
    return [stub.report(stub.last_stop)]


def working_dir(stub, _args: bytes) -> list[bytes]:
    return [text_hex("/")]

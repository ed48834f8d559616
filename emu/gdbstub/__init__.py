"""A gdb remote-protocol stub: debug a process of this machine with real gdb.

    emu gdbserver prog.c --port 1234
    gdb -ex 'file <the ELF it names>' -ex 'target remote :1234'

Modules, from the wire inwards:
    packets     framing: $...#cc, acks, binary escapes, hex fields (pure)
    connection  one client's socket: receive, send, Ctrl-C while running
    server      listen on 127.0.0.1, serve one client until it leaves
    stub        the packet table and the register/memory/breakpoint packets
    queries     q/Q/v packets: qSupported, qXfer, monitor (qRcmd), threads
    lldb        what lldb asks: qHostInfo, qProcessInfo, qMemoryRegionInfo, ...
    vfile       vFile: /proc/PID/maps and friends, for `info proc mappings`
    execution   s, c, vCont (with range stepping), signals, reverse bs/bc, interrupts
    points      Z/z onto the Target's breakpoints and watchpoints
    stops       stop replies (T, W, X) and siginfo
    threads     thread ids: pPID.TID with the multiprocess extensions, any hex form
    registers   the amd64 register layout, read from and written to the machine
    tdesc       target.xml, generated from that same layout
    gdb_commands  loaded into gdb by `emu gdb`: the OS views as gdb commands
"""

from .server import DEFAULT_PORT, HOST, listen, serve
from .stub import Stub

__all__ = ["DEFAULT_PORT", "HOST", "Stub", "listen", "serve"]

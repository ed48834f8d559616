"""emu's OS views as gdb commands: loaded into real gdb by `emu gdb` (gdb -x this file).

    (gdb) vmmap                 the process's mappings
    (gdb) pt $rsp               the page walk of an address
    (gdb) memmap                the os_MemoryMap's 2 MiB chunks
    (gdb) heap [N]              the heap's blocks
    (gdb) syscalls [N]          the latest system calls
    (gdb) emu-record [stop]     record continue too (reverse-* reach back across it)

Each one is `monitor NAME ARGS` against `emu gdbserver`, so its lines come
from the same functions as in `emu debug`. Outside gdb (no `gdb` module)
this file defines nothing, so importing it is harmless.
"""

try:
    import gdb
except ImportError:              # imported by Python, not by gdb: nothing to register
    gdb = None

VIEWS = {
    "vmmap": "the process's mappings, like /proc/self/maps, with resident pages",
    "pt": "the page walk of an address (default $rip): PML4, PDPT, PD, PT entries",
    "memmap": "the os_MemoryMap: free and used 2 MiB chunks of physical memory",
    "heap": "the heap's blocks: allocated, free, overhead (project allocators)",
    "syscalls": "the most recent system calls, strace style",
}


def register():
    """Define one gdb command per view; each runs `monitor NAME ARGS`."""
    for name, summary in VIEWS.items():
        _view_command(name, summary)
    _view_command("emu-record", "record continue too: reverse-* then reach back across it",
                  monitor="record")


def _view_command(name, summary, monitor=None):
    class View(gdb.Command):
        __doc__ = f"{summary}\nUsage: {name} [ARGS]  (runs `monitor {monitor or name} ARGS`)"

        def __init__(self):
            super().__init__(name, gdb.COMMAND_STATUS)

        def invoke(self, argument, from_tty):
            gdb.execute(f"monitor {monitor or name} {argument}".rstrip(), from_tty)

    View()


if gdb is not None:
    register()

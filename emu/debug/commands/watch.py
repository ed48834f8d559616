"""watch / rwatch / awatch ADDR [LEN]: stop when memory is written or read."""

from ...errors import UsageError
from ...errors import UnmappedAccess
from .base import Command, CommandError

KINDS = {"watch": "write", "rwatch": "read", "awatch": "access"}
TITLES = {"write": "Hardware watchpoint", "read": "Hardware read watchpoint",
          "access": "Hardware access (read/write) watchpoint"}


def _watcher(name: str):
    def run(repl, args: str):
        words = args.split()
        if not words or len(words) > 2:
            raise CommandError(f"{name}: expected ADDRESS [LENGTH], e.g. {name} 0x4052a0 8")
        try:
            address = repl.dbg.evaluate(words[0].lstrip("*"))
            length = repl.dbg.evaluate(words[1]) if len(words) > 1 else 8
        except UsageError as exc:
            raise CommandError(f"{name}: {exc}") from None
        if not 1 <= length <= 4096:
            raise CommandError(f"{name}: the length must be 1..4096 bytes")
        try:
            wp = repl.dbg.target.add_watchpoint(address, length, KINDS[name])
        except UnmappedAccess as exc:
            raise CommandError(f"{name}: {exc}") from None
        return [f"{TITLES[wp.kind]} {wp.number}: *{address:#x} (len {length})"]
    return run


WATCH = Command("watch", _watcher("watch"), "stop after a write to memory",
                "watch ADDRESS [LENGTH]   (LENGTH defaults to 8)\nExamples:\n"
                "  watch 0x4052a0\n  watch $rdi 16", aliases=("wa",))
RWATCH = Command("rwatch", _watcher("rwatch"), "stop after a read of memory",
                 "rwatch ADDRESS [LENGTH]\nExamples:\n  rwatch $rsp 8")
AWATCH = Command("awatch", _watcher("awatch"), "stop after a read or a write of memory",
                 "awatch ADDRESS [LENGTH]\nExamples:\n  awatch 0x4052a0 4")

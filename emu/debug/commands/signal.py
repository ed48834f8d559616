"""signal SIG: resume passing a signal (0: none), as gdb's signal command."""

import signal as host_signals

from ..report import signal_name
from .base import Command, CommandError, require_alive


def parse_signal(text: str) -> int:
    text = text.strip().upper()
    if text.isdigit():
        return int(text)
    name = text if text.startswith("SIG") else "SIG" + text
    try:
        return int(host_signals.Signals[name])
    except KeyError:
        raise CommandError(f"signal: only signals 1-64 and names such as SIGSEGV are valid, "
                           f"not '{text}'") from None


def _signal(repl, args: str):
    require_alive(repl, "signal")
    if not args.strip():
        raise CommandError("signal: which signal? e.g. signal 0 (none) or signal SIGINT")
    signo = parse_signal(args)
    dbg = repl.dbg
    head = ["Continuing with no signal."] if signo == 0 else \
        [f"Continuing with signal {signal_name(signo)}."]
    ended = dbg.target.deliver(signo)
    stop = ended if ended is not None else dbg.cont()
    return head + repl.report(stop)


SIGNAL = Command("signal", _signal, "continue passing a signal to the program (0: none)",
                 "signal SIG\nExamples:\n  signal 0\n  signal SIGSEGV", resumes=True)

"""info registers | breakpoints | watchpoints | symbol ADDR | line | frame."""

from ...errors import UsageError
from ...registers import flag_names
from ...views import register_lines
from ..context import location
from .base import Command, CommandError


def _registers(repl, rest: str):
    regs = repl.dbg.target.registers()
    names = rest.replace("$", "").split()
    if not names:
        return register_lines(regs)
    extra = {"fs_base": repl.dbg.machine.reg("fs_base"), "gs_base": repl.dbg.machine.reg("gs_base"),
             "eflags": regs["rflags"]}
    out = []
    for name in names:
        value = regs.get(name, extra.get(name))
        if value is None:
            raise CommandError(f"info registers: invalid register '{name}'")
        note = f" [ {flag_names(value)} ]" if name in ("rflags", "eflags") else \
            (f" <{repl.dbg.describe(value)}>" if repl.dbg.describe(value) else f" {value}")
        out.append(f"{name:<14}{value:#x}{note:>4}")
    return out


def _breakpoints(repl, rest: str):
    target = repl.dbg.target
    if not target.breakpoints and not target.watchpoints:
        return ["No breakpoints or watchpoints."]
    out = ["Num     Type            Disp Enb Address            What"]
    for bp in target.breakpoints.values():
        out.append(f"{bp.number:<7} breakpoint      {'del' if bp.temporary else 'keep'} "
                   f"{'y' if bp.enabled else 'n'}   {bp.address:#018x} {bp.location}")
        if bp.hits:
            out.append(f"\tbreakpoint already hit {bp.hits} time{'s' if bp.hits > 1 else ''}")
    for wp in target.watchpoints.values():
        kind = {"write": "hw watchpoint", "read": "read watchpoint", "access": "acc watchpoint"}
        out.append(f"{wp.number:<7} {kind[wp.kind]:<15} keep y                      "
                   f"*{wp.address:#x} (len {wp.length})")
    return out


def _symbol(repl, rest: str):
    try:
        address = repl.dbg.evaluate(rest)
    except UsageError as exc:
        raise CommandError(f"info symbol: {exc}") from None
    found = repl.dbg.symbols.lookup(address)
    if found is None:
        return [f"No symbol matches {rest.strip()}."]
    name, offset = found
    return [f"{name} + {offset} in section .text" if offset else f"{name} in section .text"]


def _line(repl, rest: str):
    line = repl.dbg.info.line_at(repl.dbg.target.rip)
    if line is None:
        return ["No line number information available."]
    return [f'Line {line.line} of "{line.file}" ({line.path}) at {location(repl.dbg, repl.dbg.target.rip)}']


def _frame(repl, rest: str):
    regs = repl.dbg.target.registers()
    return [f"Stack level 0, frame at {regs['rbp']:#x}:",
            f" rip = {regs['rip']:#x} in {location(repl.dbg, regs['rip'])}",
            f" rsp = {regs['rsp']:#x}, rbp = {regs['rbp']:#x}"]


SUBCOMMANDS = {"registers": _registers, "breakpoints": _breakpoints, "watchpoints": _breakpoints,
               "symbol": _symbol, "line": _line, "frame": _frame}


def _info(repl, args: str):
    word, _, rest = args.strip().partition(" ")
    if not word:
        raise CommandError("info: what? (" + ", ".join(SUBCOMMANDS) + ")")
    matches = [name for name in SUBCOMMANDS if name.startswith(word)]
    if word in ("r", "reg"):
        matches = ["registers"]
    if word == "b":
        matches = ["breakpoints"]
    if len(matches) != 1:
        raise CommandError(f"info: unknown or ambiguous '{word}' (" + ", ".join(SUBCOMMANDS) + ")")
    return SUBCOMMANDS[matches[0]](repl, rest)


INFO = Command(
    "info", _info, "registers, breakpoints, watchpoints, symbol ADDR, line, frame",
    "info registers [REG...] | info breakpoints | info symbol ADDR | info line | info frame\n"
    "Examples:\n  info registers\n  i r rip\n  info breakpoints\n  info symbol $rip",
    aliases=("i",))

"""info registers | breakpoints | watchpoints | symbol ADDR | line | frame | locals |
args | display | proc mappings."""

from ...errors import UsageError
from ...registers import flag_names
from ...views import register_lines
from .base import Command, CommandError
from .display import info_display
from .info_frame import info_args, info_frame, info_locals
from ..procmaps import mapping_lines


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
    out = ["Num     Type           Disp Enb Address            What"]
    numbers = sorted({bp.number for bp in target.breakpoints.values()})
    for number in numbers:
        out += _breakpoint_lines(repl, repl.dbg.locations_of(number))
    for wp in target.watchpoints.values():
        kind = {"write": "hw watchpoint", "read": "read watchpoint", "access": "acc watchpoint"}
        what = wp.expression or f"*{wp.address:#x} (len {wp.length})"
        kind_text = "watchpoint" if wp.sample is not None else kind[wp.kind]
        out.append(f"{wp.number:<7} {kind_text:<14} keep y                      {what}")
        if wp.hits:
            out.append(f"\tbreakpoint already hit {wp.hits} time{'s' if wp.hits > 1 else ''}")
    return out


def _breakpoint_lines(repl, locations):
    first = locations[0]
    disp = "del " if first.temporary else "keep"
    hits = sum(b.hits for b in locations)
    if len(locations) == 1:
        lines = [f"{first.number:<7} breakpoint     {disp} {'y' if first.enabled else 'n'}   "
                 f"{first.address:#018x} {_what(repl, first)}"]
    else:
        lines = [f"{first.number:<7} breakpoint     {disp} y   <MULTIPLE>         "]
        lines += [f"{first.number}.{i:<5} {'':14} {'':4} {'y' if b.enabled else 'n'}   "
                  f"{b.address:#018x} {_what(repl, b)}" for i, b in enumerate(locations, 1)]
    if hits:
        lines.insert(1, f"\tbreakpoint already hit {hits} time{'s' if hits > 1 else ''}")
    return lines


def _what(repl, bp) -> str:
    """gdb's What column: `in FUNCTION at FILE:LINE`; for an inlined copy, the
    inlined function and its declaration line."""
    dbg = repl.dbg
    scopes = dbg.dwarf.scopes_at(bp.address) if dbg.dwarf is not None else []
    copy = next((s for s in reversed(scopes) if s.kind == "inlined" and s.name == bp.location),
                None)
    if copy is not None and copy.decl_file:
        return f"in {copy.name} at {copy.decl_file.rsplit('/', 1)[-1]}:{copy.decl_line}"
    line = dbg.info.line_at(bp.address)
    if line is not None:
        name = scopes[0].name if scopes else getattr(dbg.info.function_at(bp.address), "name", "")
        return f"in {name} at {line.file}:{line.line}" if name else f"at {line.file}:{line.line}"
    return f"<{dbg.describe(bp.address)}>" if dbg.describe(bp.address) else bp.location


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
    dbg = repl.dbg
    line = dbg.info.line_at(dbg.target.rip)
    if line is None:
        return ["No line number information available."]
    start, end = dbg.info.line_range(dbg.target.rip)
    name = dbg.describe(start)
    return [f'Line {line.line} of "{line.file}" starts at address {start:#x} <{name}> '
            f'and ends at {end:#x} <{dbg.describe(end)}>.']


def _proc(repl, rest: str):
    if rest.strip() not in ("", "mappings"):
        raise CommandError("info proc: only `info proc` and `info proc mappings` are known here")
    pid = repl.dbg.runner.process.pid
    dbg = repl.dbg
    return [f"process {pid}"] + (mapping_lines(dbg.runner, dbg.image)
                                 if rest.strip() == "mappings" else [
        f"cmdline = '{' '.join(repl.dbg.argv)}'", f"exe = '{repl.dbg.image.path}'"])


SUBCOMMANDS = {"registers": _registers, "breakpoints": _breakpoints, "watchpoints": _breakpoints,
               "symbol": _symbol, "line": _line, "frame": info_frame, "locals": info_locals,
               "args": info_args, "display": lambda repl, rest: info_display(repl),
               "proc": _proc}


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
    "info", _info, "registers, breakpoints, locals, args, frame, symbol, line, display, proc",
    "info registers [REG...] | breakpoints | locals | args | frame | symbol ADDR | line |\n"
    "     display | proc mappings\n"
    "Examples:\n  info registers\n  i r rip\n  info breakpoints\n  info locals\n"
    "  info args\n  info frame\n  info symbol $rip", aliases=("i",))

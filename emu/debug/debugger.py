"""A program under debug: its Target, symbols, source lines, DWARF, frames and values.

    dbg = Debugger.start(path, argv)          # loaded, stopped at the entry point
    dbg.break_at("main"); dbg.cont()
    dbg.next(); dbg.finish(); dbg.backtrace()
    dbg.value("list->next->value")            # a C Value in the selected frame

The execution commands are in stepping.py, frames in frames.py, breakpoint
locations in locations.py, expressions in evaluation.py. DWARF and call frame
information are read the first time something needs them, so loading a
program costs no more than before.
"""

from __future__ import annotations

from functools import cached_property

from elftools.elf.elffile import ELFFile

from ..errors import UsageError
from ..loader import load_program
from ..machine import Machine
from ..paging import U64
from ..runner import ProcessRunner
from ..symbols import SymbolTable
from . import locations
from .dwarf.evaluate import EvalError, Evaluator
from .dwarf.info import DebugInfo
from .dwarf.values import Value, ValueError_
from .evaluation import FrameContext, evaluate_text
from .frames import MAX_FRAMES, Frame, backtrace
from .source import ProgramInfo
from .stepping import Stepping
from .target import Target
from .unwind import CFIndex


class Debugger(Stepping):
    """A program under debug, and the debugger's own state: the selected
    frame, the value history ($1, $2, ...)."""

    def __init__(self, target: Target, image, info: ProgramInfo, argv: list[str]):
        self.target = target
        self.image = image
        self.info = info
        self.argv = argv
        self.symbols = SymbolTable.for_image(image)
        self.selected = 0                 # the frame `up`, `down` and `frame N` chose
        self._load_kernel = None          # what start() was given: see _new_target
        self._quantum = None
        self.values: list[Value] = []     # the value history
        self.heap_walker = None           # `heap`'s block walker when mm_name cannot choose
                                          # one (a malloc-lab student's declared layout)

    @classmethod
    def start(cls, path, argv: list[str], *, ram_mib: int = 1024, libc: str = "runtime",
              cc: str | None = None, link=(), stdin: bytes = b"", echo=None,
              history: int | None = None, kernel=None, quantum=None) -> "Debugger":
        """`kernel(machine)` loads a --kernel file (a GuestKernel) or gives None."""
        image = load_program(path, libc=libc, cc=cc, link=link)
        dbg = cls(None, image, ProgramInfo.for_image(image), argv)
        dbg._load_kernel, dbg._quantum = kernel, quantum
        dbg.target = dbg._new_target(ram_mib, stdin, echo, history)
        return dbg

    def _new_target(self, ram_mib: int, stdin: bytes, echo, history) -> Target:
        machine = Machine(ram_mib=ram_mib)
        kernel = self._load_kernel(machine) if self._load_kernel else None
        extra = {"quantum": self._quantum} if self._quantum else {}
        runner = ProcessRunner(machine, self.image, self.argv, stdin=stdin, echo=echo,
                               kernel=kernel, **extra)
        if kernel is not None:
            for name, value in kernel.symbols.addresses().items():
                self.symbols.add_address(name, value)
        return Target(runner) if history is None else Target(runner, history)

    @property
    def machine(self) -> Machine:
        return self.target.machine

    @property
    def runner(self) -> ProcessRunner:
        return self.target.runner

    @cached_property
    def dwarf(self) -> DebugInfo | None:
        """The program's DWARF, or None (an .asm program, a binary without -g)."""
        if not self.image.elf_path:
            return None
        try:
            info = DebugInfo(self.image.elf_path, self.image.base)
        except Exception:          # pyelftools on a malformed file: no C-level view
            return None
        if not info.present:
            info.close()
            return None
        return info

    @cached_property
    def cfi(self) -> CFIndex | None:
        """The program's call frame information (.eh_frame), or None."""
        if not self.image.elf_path:
            return None
        try:
            with open(self.image.elf_path, "rb") as f:
                return CFIndex(ELFFile(f), self.image.base)
        except Exception:          # unreadable CFI: unwind by frame pointers
            return None

    # -- locations ----------------------------------------------------------------------

    def resolve(self, spec: str) -> tuple[int, str]:
        """The first address of a location spec and its description
        (UsageError if unknown); locations.resolve() gives them all."""
        place = locations.resolve(self, spec)[0]
        return place.address, place.description

    def break_at(self, spec: str, temporary: bool = False):
        """A breakpoint at every place the spec names; returns the first
        location (all share its number)."""
        places = locations.resolve(self, spec)
        first = self.target.add_breakpoint(places[0].address, temporary=temporary,
                                           location=places[0].description)
        for place in places:
            if place is not places[0]:
                self.target.add_breakpoint(place.address, temporary=temporary,
                                           location=place.description, number=first.number)
            for address in place.also:
                extra = self.target.add_breakpoint(address, temporary=temporary,
                                                   location=place.description,
                                                   number=first.number)
                extra.hidden = True
        return first

    def locations_of(self, number: int) -> list:
        """The locations of breakpoint `number` that `info breakpoints` lists
        (not the extra ways into an inlined copy)."""
        return [b for b in self.target.breakpoints.values()
                if b.number == number and not b.hidden]

    def describe(self, address: int) -> str:
        """'main+4' as gdb names an address (a decimal offset), '' when no
        symbol holds it: the program's symbols, then the kernel's."""
        found = self.symbols.lookup(address)
        if found is None:
            return self.machine.symbols.describe(address)
        name, offset = found
        return f"{name}+{offset}" if offset else name

    # -- expressions ----------------------------------------------------------------------

    def context(self) -> FrameContext:
        frame = self.selected_frame() if self.target.alive else None
        return FrameContext(self, frame)

    def value(self, text: str) -> Value:
        """The C value of expression `text` in the selected frame (EvalError)."""
        return evaluate_text(self.context(), text)

    def evaluate(self, text: str) -> int:
        """An expression as a number or an address (pointers, arrays and
        functions give their address). UsageError with gdb's message."""
        context = self.context()
        try:
            value = evaluate_text(context, text)
            return Evaluator(context).as_address(value) & U64
        except (EvalError, ValueError_) as exc:      # e.g. "value has been optimized out"
            raise UsageError(str(exc)) from None

    # -- frames ---------------------------------------------------------------------------

    def backtrace(self, limit: int = MAX_FRAMES) -> list[Frame]:
        return backtrace(self, limit)

    def selected_frame(self) -> Frame | None:
        frames = self.backtrace(self.selected + 1)
        if not frames:
            return None
        self.selected = min(self.selected, len(frames) - 1)
        return frames[self.selected]

    # -- running --------------------------------------------------------------------------

    def restart(self) -> None:
        """Load the program afresh (gdb's `run` after a first run)."""
        self.target.runner.finish()
        old = self.target
        target = self._new_target(old.machine.ram_mib, old.runner.stdin, old.runner.echo,
                                  old.history.limit)
        target.recording = old.recording
        for bp in old.breakpoints.values():         # the same numbers, as gdb keeps them
            target.add_breakpoint(bp.address, bp.temporary, bp.location, number=bp.number)
        target.renumber_from(old)
        self.target = target
        self.selected = 0

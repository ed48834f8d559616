"""Expressions in the debugger: C values in the selected frame, registers, history.

    context = FrameContext(dbg, frame)
    value = evaluate_text(context, "list->next->value")
    format_value(value, context.reader)            -> "20"

What a name means, in gdb's order: a local or argument of the frame (the
innermost block first), a global of the program's DWARF, a function of its
DWARF, then a symbol without debug information: a function label reads as
`{<text variable, no debug info>} 0x401000 <f>`, a data label (an asm
program's) as its address, so `x/4gx free_list` and `p/x buffer` still work
for assembly.

Registers: $rax..$r15 and $rip/$pc, $rsp/$sp, $rbp/$fp as gdb types them
(long, void (*)(), void *), $eax..., $eflags shown as [ ZF PF ], $fs_base.
In an outer frame, only the registers the frame knows (rsp, rip, and the
callee-saved ones it restored) have values.
"""

from __future__ import annotations

from ..errors import UnmappedAccess
from .dwarf.cexpr import ParseError, parse
from .dwarf.evaluate import Context, EvalError, Evaluator, int_value
from .dwarf.locations import REGISTER_NUMBERS
from .dwarf.types import BASE_TYPES, INT, LONG, VOID, CType, pointer_to
from .dwarf.values import Reader, Value
from .frames import Frame

CODE_POINTER = pointer_to(CType("function", target=VOID, params=None))   # void (*)()
DATA_POINTER = pointer_to(VOID)                                 # void *
EFLAGS = CType("base", "i386_eflags", 4, encoding="unsigned")
NODEBUG_FUNCTION = CType("function", name="<text variable, no debug info>", target=INT,
                         params=None)
REGISTER_TYPES = {"rip": CODE_POINTER, "pc": CODE_POINTER, "rsp": DATA_POINTER,
                  "sp": DATA_POINTER, "rbp": DATA_POINTER, "fp": DATA_POINTER,
                  "eflags": EFLAGS, "rflags": EFLAGS}
REGISTER_ALIASES = {"pc": "rip", "sp": "rsp", "fp": "rbp", "eflags": "rflags"}
WIDE = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", *(f"r{n}" for n in range(8, 16)),
        "rip", "fs_base", "gs_base")
NARROW = {"eax": "rax", "ebx": "rbx", "ecx": "rcx", "edx": "rdx", "esi": "rsi", "edi": "rdi",
          "ebp": "rbp", "esp": "rsp", **{f"r{n}d": f"r{n}" for n in range(8, 16)}}


class FrameContext(Context):
    """Names as the selected frame sees them."""

    def __init__(self, dbg, frame):
        self.dbg = dbg
        self.frame = frame
        self.reader = Reader(dbg.target.read, dbg.describe, dbg.machine.reg)

    # -- names ---------------------------------------------------------------------------

    def variable(self, name: str) -> Value | None:
        frame = self.frame
        if frame is not None:
            var = frame.find_variable(name)
            if var is not None:
                return frame.value_of(var)
        dwarf = self.dbg.dwarf
        if dwarf is not None:
            var = dwarf.global_variable(name)
            if var is not None:
                return self._global(var)
            function = dwarf.function(name)
            if function is not None:
                return Value(_function_type(function), address=function.low)
        return self._symbol(name)

    def _global(self, var) -> Value:
        holder = self.frame or Frame(0, 0, 0, {}, self.dbg)
        return holder.value_of(var)

    def _symbol(self, name: str) -> Value | None:
        address = self.dbg.symbols.get(name)
        if address is None:
            return None
        if self.dbg.info.function_named(name) is not None:
            return Value(NODEBUG_FUNCTION, address=address)
        return int_value(address, LONG)

    def register(self, name: str) -> Value | None:
        name = name.lower()
        if name in NARROW:
            wide = self._register_value(NARROW[name])
            return None if wide is None else int_value(wide, INT)
        canonical = REGISTER_ALIASES.get(name, name)
        if canonical not in WIDE and canonical != "rflags":
            return None
        number = self._register_value(canonical)
        if number is None:
            return None
        kind = REGISTER_TYPES.get(name, LONG)
        if self.frame is None or self.frame.physical == 0:
            return Value(kind, register=canonical)
        return int_value(number, kind)

    def _register_value(self, name: str) -> int | None:
        if self.frame is not None and self.frame.physical > 0:
            return self.frame.reg(REGISTER_NUMBERS[name]) if name in REGISTER_NUMBERS else None
        return self.dbg.machine.reg(name)

    def type_named(self, words: str) -> CType | None:
        dwarf = self.dbg.dwarf
        found = dwarf.type_named(words) if dwarf is not None else None
        return found or BASE_TYPES.get(words)

    def is_type(self, word: str) -> bool:
        if self.variable_defined(word):
            return False
        dwarf = self.dbg.dwarf
        return dwarf is not None and dwarf.type_named(word) is not None

    def variable_defined(self, word: str) -> bool:
        return self.frame is not None and self.frame.find_variable(word) is not None

    def history(self, number: int, relative: bool) -> Value:
        values = self.dbg.values
        if not values:
            raise EvalError("History is empty." if not relative else "History has not yet "
                            "reached $1.")
        index = len(values) - 1 - number if relative else number - 1
        if not 0 <= index < len(values):
            raise EvalError(f"History has not yet reached ${number}.")
        return values[index]

    def store(self, target: Value, data: bytes) -> None:
        if target.address is not None:
            try:
                self.dbg.target.write(target.address, data)
            except UnmappedAccess:
                raise EvalError(f"Cannot access memory at address {target.address:#x}") \
                    from None
            return
        if target.register is not None:
            old = self.dbg.machine.reg(target.register)
            width = len(data)
            value = int.from_bytes(data, "little")
            if width < 8:
                value = (old & ~((1 << (8 * width)) - 1)) | value
            self.dbg.machine.set_reg(target.register, value)
            return
        raise EvalError("Left operand of assignment is not an lvalue.")


def _function_type(scope) -> CType:
    params = [v.type for v in scope.params]
    return CType("function", target=scope.return_type or VOID, params=params)


def evaluate_text(context: FrameContext, text: str) -> Value:
    """The Value of expression `text`; EvalError with gdb's message otherwise."""
    try:
        tree = parse(text, context.is_type)
    except ParseError as exc:
        raise EvalError(str(exc)) from None
    return Evaluator(context).run(tree)

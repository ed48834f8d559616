"""Evaluating a C expression tree (cexpr.py) to a Value, in one frame.

    value = Evaluator(context).run(parse("*(long *)0x405000", context.is_type))

The context (the debugger's, for the selected frame) supplies variables,
registers, types, the value history, memory (through its Reader) and
assignment. C's rules, as gdb applies them:

  * integers: the usual arithmetic conversions (int, unsigned int, long,
    unsigned long by size and sign); division truncates toward zero;
  * pointers: p + n moves n elements, p - q counts elements, *p and p[n]
    read the pointee; an array used as a value is a pointer to its first element;
  * casts change the type: (char)300 is 44, (long *)0x405000 a pointer;
  * x @ n (gdb): the n objects starting at x, as an array;
  * comparisons and ! && || give int 0 or 1.

EvalError carries gdb's wording: "No symbol "x" in current context.",
"Attempt to take contents of a non-pointer value.", ...
"""

from __future__ import annotations

import struct

from .types import (BASE_TYPES, DOUBLE, INT, LONG, UNSIGNED_LONG, CType, array_of,
                    pointer_to)
from .values import Reader, Value, ValueError_, as_float, as_int, element, member_value, value_bytes

MASK64 = (1 << 64) - 1


class EvalError(Exception):
    """An expression that cannot be evaluated; the message is gdb's."""


class Context:
    """What an expression can see (the debugger's frame context subclasses it)."""
    reader: Reader

    def variable(self, name: str) -> Value | None:
        return None

    def register(self, name: str) -> Value | None:
        return None

    def type_named(self, words: str) -> CType | None:
        return BASE_TYPES.get(words)

    def is_type(self, word: str) -> bool:
        return False

    def history(self, number: int, relative: bool) -> Value:
        raise EvalError("History is empty.")

    def store(self, target: Value, data: bytes) -> None:
        raise EvalError("Left operand of assignment is not an lvalue.")


def int_value(number: int, t: CType = LONG) -> Value:
    size = t.byte_size
    return Value(t, data=(number & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))


def float_value(number: float, t: CType = DOUBLE) -> Value:
    data = struct.pack("<f", number) if t.byte_size == 4 else struct.pack("<d", number)
    return Value(t, data=data)


class Evaluator:
    def __init__(self, context: Context):
        self.context = context
        self.reader = context.reader

    def run(self, node) -> Value:
        try:
            return getattr(self, "_" + node[0])(*node[1:])
        except ValueError_ as exc:
            raise EvalError(str(exc)) from None

    # -- leaves ------------------------------------------------------------------------------

    def _num(self, value: int, kind: str) -> Value:
        return int_value(value, BASE_TYPES[kind])

    def _float(self, value: float, kind: str) -> Value:
        return float_value(value, BASE_TYPES[kind])

    def _char(self, value: int) -> Value:
        return int_value(value, BASE_TYPES["char"])

    def _str(self, data: bytes) -> Value:
        return Value(array_of(BASE_TYPES["char"], len(data) + 1), data=data + b"\0")

    def _name(self, name: str) -> Value:
        value = self.context.variable(name)
        if value is None:
            raise EvalError(f'No symbol "{name}" in current context.')
        return value

    def _reg(self, name: str) -> Value:
        value = self.context.register(name)
        if value is None:
            return Value(VOID_VALUE_TYPE, data=b"")
        return value

    def _history(self, number: int, relative: bool) -> Value:
        return self.context.history(number, relative)

    # -- operators ---------------------------------------------------------------------------

    def _unary(self, op: str, operand) -> Value:
        if op == "&":
            return self.address_of(self.run(operand))
        value = self.run(operand)
        if op == "*":
            return self.deref(value)
        if op == "+":
            return self.promote(value)
        if op == "!":
            return int_value(int(not self.truth(value)), INT)
        if value.type.is_float() and op == "-":
            return float_value(-as_float(value, self.reader), value.type.strip())
        value = self.promote(value)
        number = as_int(value, self.reader)
        result = -number if op == "-" else ~number
        return int_value(result, value.type)

    def _binary(self, op: str, left, right) -> Value:
        if op in ("&&", "||"):
            first = self.truth(self.run(left))
            if (op == "&&" and not first) or (op == "||" and first):
                return int_value(int(first), INT)
            return int_value(int(self.truth(self.run(right))), INT)
        a, b = self.decay(self.run(left)), self.decay(self.run(right))
        if op == "@":
            return self.artificial_array(self.run(left), b)
        if a.type.is_pointer() or b.type.is_pointer():
            return self.pointer_arithmetic(op, a, b)
        if a.type.is_float() or b.type.is_float():
            return self.float_arithmetic(op, a, b)
        return self.integer_arithmetic(op, a, b)

    def _ternary(self, condition, yes, no) -> Value:
        return self.run(yes if self.truth(self.run(condition)) else no)

    def _comma(self, left, right) -> Value:
        self.run(left)
        return self.run(right)

    def _assign(self, target, source) -> Value:
        lhs, rhs = self.run(target), self.run(source)
        if not lhs.lvalue:
            raise EvalError("Left operand of assignment is not an lvalue.")
        converted = self.convert(rhs, lhs.type)
        data = value_bytes(converted, self.reader)
        self.context.store(lhs, data)
        return Value(lhs.type, data=data)

    def _cast(self, spec, operand) -> Value:
        return self.convert(self.decay(self.run(operand)), self.resolve_type(spec), cast=True)

    def _at_type(self, spec, operand) -> Value:
        address = self.as_address(self.run(operand))
        return Value(self.resolve_type(spec), address=address)

    def _sizeof_type(self, spec) -> Value:
        return int_value(self.resolve_type(spec).byte_size, UNSIGNED_LONG)

    def _sizeof(self, operand) -> Value:
        return int_value(self.run(operand).type.byte_size, UNSIGNED_LONG)

    def _member(self, operand, name: str) -> Value:
        value = self.run(operand)
        t = value.type.strip()
        if t.kind not in ("struct", "union"):
            raise EvalError("Attempt to extract a component of a value that is not a "
                            "structure.")
        member = value.type.member(name)
        if member is None:
            raise EvalError(f"There is no member named {name}.")
        return member_value(value, member)

    def _arrow(self, operand, name: str) -> Value:
        value = self.decay(self.run(operand))
        if not value.type.is_pointer():
            raise EvalError("The -> operator must be applied to a pointer.") \
                if value.type.strip().kind not in ("struct", "union") else \
                EvalError(f"There is no member named {name}.")
        target = self.deref(value)
        if target.type.strip().kind not in ("struct", "union"):
            raise EvalError("The -> operator must be applied to a pointer to a structure.")
        member = target.type.member(name)
        if member is None:
            raise EvalError(f"There is no member named {name}.")
        return member_value(target, member)

    def _index(self, operand, index) -> Value:
        base, position = self.run(operand), as_int(self.run(index), self.reader)
        t = base.type.strip()
        if t.kind == "array":
            return element(base, t.target, position)
        if t.kind == "pointer":
            target = t.target or BASE_TYPES["char"]
            address = as_int(base, self.reader) & MASK64
            return Value(target, address=address + position * target.byte_size)
        raise EvalError("cannot subscript something of type `" + str(base.type) + "'")

    def _call(self, function, args) -> Value:
        raise EvalError("Calling functions in the program is not supported by emu debug "
                        "(use emu gdbserver and gdb for that).")

    # -- helpers -----------------------------------------------------------------------------

    def truth(self, value: Value) -> bool:
        value = self.decay(value)
        if value.type.is_float():
            return as_float(value, self.reader) != 0.0
        return as_int(value, self.reader) != 0

    def decay(self, value: Value) -> Value:
        """Arrays become pointers to their first element; functions, pointers to them."""
        t = value.type.strip()
        if t.kind == "array" and value.address is not None:
            return int_value(value.address, pointer_to(t.target))
        if t.kind == "function" and value.address is not None:
            return int_value(value.address, pointer_to(value.type))
        return value

    def promote(self, value: Value) -> Value:
        t = value.type.strip()
        if t.kind in ("base", "enum") and t.encoding != "float" and t.byte_size < 4:
            return int_value(as_int(value, self.reader), INT)
        if t.kind == "enum":
            return int_value(as_int(value, self.reader),
                             INT if t.signed else BASE_TYPES["unsigned int"])
        return value

    def deref(self, value: Value) -> Value:
        value = self.decay(value)
        t = value.type.strip()
        if t.kind != "pointer":
            if t.kind in ("base", "enum") and t.encoding != "float":
                return Value(LONG, address=as_int(value, self.reader) & MASK64)
            raise EvalError("Attempt to take contents of a non-pointer value.")
        target = t.target
        if target is None or target.strip().kind == "void":
            raise EvalError("Attempt to take contents of a non-pointer value.")
        return Value(target, address=as_int(value, self.reader) & MASK64)

    def address_of(self, value: Value) -> Value:
        if value.address is None or value.bit_size:
            raise EvalError("Attempt to take address of value not located in memory.")
        return int_value(value.address, pointer_to(value.type))

    def as_address(self, value: Value) -> int:
        value = self.decay(value)
        return as_int(value, self.reader) & MASK64

    def artificial_array(self, first: Value, count_value: Value) -> Value:
        count = as_int(count_value, self.reader)
        if count <= 0:
            raise EvalError("Only values in memory can be extended with '@'.") if count == 0 \
                else EvalError("Invalid number " + str(count) + " of repetitions.")
        if first.address is None:
            raise EvalError("Only values in memory can be extended with '@'.")
        return Value(array_of(first.type, count), address=first.address)

    def arithmetic_type(self, a: CType, b: CType) -> CType:
        size = max(a.byte_size, b.byte_size, 4)
        unsigned = any(t.byte_size == size and not t.is_signed() for t in (a, b))
        if size >= 8:
            return UNSIGNED_LONG if unsigned else LONG
        return BASE_TYPES["unsigned int"] if unsigned else INT

    def integer_arithmetic(self, op: str, a: Value, b: Value) -> Value:
        a, b = self.promote(a), self.promote(b)
        kind = self.arithmetic_type(a.type, b.type)
        x, y = as_int(a, self.reader), as_int(b, self.reader)
        if not kind.is_signed():
            bits = 8 * kind.byte_size
            x, y = x & ((1 << bits) - 1), y & ((1 << bits) - 1)
        comparison = _compare(op, x, y)
        if comparison is not None:
            return int_value(int(comparison), INT)
        if op in ("/", "%") and y == 0:
            raise EvalError("Division by zero")
        result = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
                  "/": lambda: _trunc_div(x, y), "%": lambda: x - _trunc_div(x, y) * y,
                  "&": lambda: x & y, "|": lambda: x | y, "^": lambda: x ^ y,
                  "<<": lambda: x << y, ">>": lambda: x >> y}[op]()
        return int_value(result, kind)

    def float_arithmetic(self, op: str, a: Value, b: Value) -> Value:
        x, y = (as_float(v, self.reader) if v.type.is_float() else float(as_int(v, self.reader))
                for v in (a, b))
        comparison = _compare(op, x, y)
        if comparison is not None:
            return int_value(int(comparison), INT)
        if op == "/" and y == 0.0:
            raise EvalError("Division by zero")
        if op not in ("+", "-", "*", "/"):
            raise EvalError("Integer only operation.")
        result = {"+": x + y, "-": x - y, "*": x * y, "/": x / y if op == "/" else 0}[op]
        return float_value(result, DOUBLE)

    def pointer_arithmetic(self, op: str, a: Value, b: Value) -> Value:
        x, y = as_int(a, self.reader) & MASK64, as_int(b, self.reader) & MASK64
        comparison = _compare(op, x, y)
        if comparison is not None:
            return int_value(int(comparison), INT)
        if a.type.is_pointer() and b.type.is_pointer():
            if op != "-":
                raise EvalError("Argument to arithmetic operation not a number or boolean.")
            size = max((a.type.strip().target or INT).byte_size, 1)
            return int_value((x - y) // size if x >= y else -((y - x) // size), LONG)
        pointer, offset = (a, y) if a.type.is_pointer() else (b, x)
        if op not in ("+", "-") or (op == "-" and not a.type.is_pointer()):
            raise EvalError("Argument to arithmetic operation not a number or boolean.")
        offset = as_int(b if a.type.is_pointer() else a, self.reader)
        size = max((pointer.type.strip().target or INT).byte_size, 1)
        base = as_int(pointer, self.reader) & MASK64
        moved = base + offset * size if op == "+" else base - offset * size
        return int_value(moved, pointer.type)

    def convert(self, value: Value, target: CType, cast: bool = False) -> Value:
        """value as type target (assignment and casts)."""
        t = target.strip()
        value = self.decay(value)
        if t.kind in ("struct", "union", "array"):
            if value.type.strip() is t or not cast:
                return Value(target, address=value.address, data=value.data,
                             register=value.register)
            raise EvalError("Invalid cast.")
        if t.kind == "base" and t.encoding == "float":
            number = as_float(value, self.reader) if value.type.is_float() else \
                float(as_int(value, self.reader))
            return float_value(number, t)
        if value.type.is_float():
            return int_value(int(as_float(value, self.reader)), target)
        return int_value(as_int(value, self.reader), target)

    def resolve_type(self, spec) -> CType:
        words, depth, bounds = spec
        base = self.context.type_named(words)
        if base is None:
            raise EvalError(f'No symbol "{words.split()[-1]}" in current context.')
        for _ in range(depth):
            base = pointer_to(base)
        for count in reversed(bounds):
            base = array_of(base, count)
        return base


VOID_VALUE_TYPE = CType("void", "void", 0)


def _compare(op: str, x, y):
    table = {"==": x == y, "!=": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}
    return table.get(op)


def _trunc_div(x: int, y: int) -> int:
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q

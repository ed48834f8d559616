"""C types, read from DWARF, named the way gdb names them.

    CType(kind, name, size, target, ...)       one class for every kind:

    kind       name        target          other fields
    void       "void"      -               -
    base       "long"      -               encoding: signed unsigned char uchar bool float
    pointer    -           pointee         -
    array      -           element         count (None: unknown bound)
    struct     tag         -               members [Member(name, type, offset, bits, bit_offset)]
    union      tag         -               members
    enum       tag         -               enumerators {value: name}, signed
    typedef    "size_t"    aliased type    -
    const      -           qualified type  -     (volatile likewise)
    function   -           return type     params [CType], None: unprototyped `()`

spell(type) writes the C declarator gdb prints: `struct node *`, `char **`,
`int [4]`, `const char *`, `long (*)(struct node *)`. strip() sees through
typedefs and qualifiers to the type that says how to read the bytes.
TypeReader builds CTypes from DIEs, each once (struct node refers to itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

POINTER_SIZE = 8
ENCODINGS = {0x02: "bool", 0x04: "float", 0x05: "signed", 0x06: "char", 0x07: "unsigned",
             0x08: "uchar", 0x10: "unsigned"}          # DW_ATE_*; 0x10 is UTF (char16_t...)
QUALIFIERS = ("const", "volatile", "restrict", "atomic")


@dataclass(eq=False)
class Member:
    name: str
    type: "CType"
    offset: int
    bits: int = 0                  # bit-field width, 0 for a whole member
    bit_offset: int = 0            # from the start of the member's storage, LSB first


@dataclass(eq=False)
class CType:
    kind: str
    name: str = ""
    size: int = 0
    target: "CType | None" = None
    encoding: str = ""
    count: int | None = None
    members: list = field(default_factory=list)
    enumerators: dict = field(default_factory=dict)
    params: list = field(default_factory=list)
    signed: bool = True

    def strip(self) -> "CType":
        """The type without typedefs and qualifiers."""
        t = self
        while t.kind == "typedef" or t.kind in QUALIFIERS:
            if t.target is None:
                return VOID
            t = t.target
        return t

    @property
    def byte_size(self) -> int:
        """Bytes a value of this type takes (typedefs and qualifiers see through)."""
        t = self.strip()
        if t.kind == "array":
            return (t.count or 0) * t.target.byte_size
        if t.kind == "pointer":
            return POINTER_SIZE
        return t.size

    def is_float(self) -> bool:
        t = self.strip()
        return t.kind == "base" and t.encoding == "float"

    def is_pointer(self) -> bool:
        return self.strip().kind == "pointer"

    def is_signed(self) -> bool:
        t = self.strip()
        if t.kind == "enum":
            return t.signed
        return t.encoding in ("signed", "char", "float")

    def is_char(self) -> bool:
        t = self.strip()
        return t.kind == "base" and t.encoding in ("char", "uchar") and t.size == 1

    def member(self, name: str) -> Member | None:
        """Member `name`, looking into anonymous structs and unions; its offset
        is from the start of this type."""
        for m in self.strip().members:
            if m.name == name:
                return m
            if not m.name and m.type.strip().kind in ("struct", "union"):
                inner = m.type.member(name)
                if inner is not None:
                    return Member(inner.name, inner.type, m.offset + inner.offset,
                                  inner.bits, inner.bit_offset)
        return None

    def __str__(self) -> str:
        return spell(self)


VOID = CType("void", "void", 1)
INT = CType("base", "int", 4, encoding="signed")
LONG = CType("base", "long", 8, encoding="signed")
UNSIGNED_LONG = CType("base", "unsigned long", 8, encoding="unsigned")
CHAR = CType("base", "char", 1, encoding="char")
DOUBLE = CType("base", "double", 8, encoding="float")
BASE_TYPES = {name: CType("base", name, size, encoding=enc) for name, size, enc in (
    ("char", 1, "char"), ("signed char", 1, "char"), ("unsigned char", 1, "uchar"),
    ("short", 2, "signed"), ("unsigned short", 2, "unsigned"), ("int", 4, "signed"),
    ("unsigned int", 4, "unsigned"), ("long", 8, "signed"), ("unsigned long", 8, "unsigned"),
    ("long long", 8, "signed"), ("unsigned long long", 8, "unsigned"),
    ("float", 4, "float"), ("double", 8, "float"), ("long double", 16, "float"),
    ("_Bool", 1, "bool"))}
BASE_TYPES.update({"int": INT, "long": LONG, "unsigned long": UNSIGNED_LONG, "char": CHAR,
                   "double": DOUBLE, "void": VOID})


def pointer_to(target: CType) -> CType:
    return CType("pointer", size=POINTER_SIZE, target=target)


def array_of(element: CType, count: int | None) -> CType:
    return CType("array", target=element, count=count)


# -- spelling -------------------------------------------------------------------------

def spell(t: CType, inner: str = "") -> str:
    """The C declarator for `t` around `inner` (a name, or '' for the type alone)."""
    if t.kind == "pointer":
        target = t.target or VOID
        wrapped = "*" + inner
        if target.kind in ("array", "function"):
            wrapped = f"({wrapped})"
        return spell(target, wrapped)
    if t.kind == "array":
        inner = inner if not inner.startswith("*") else f"({inner})"
        bound = "" if t.count is None else str(t.count)
        return spell(t.target, f"{inner}[{bound}]" if inner else f" [{bound}]")
    if t.kind == "function":
        params = "" if t.params is None else (", ".join(spell(p) for p in t.params) or "void")
        return spell(t.target or VOID, f"{inner}({params})" if inner else f" ({params})")
    if t.kind in QUALIFIERS:
        target = t.target or VOID
        if target.kind == "pointer":
            return spell(target, f" {t.kind}{inner}" if inner else f" {t.kind}")
        return f"{t.kind} " + spell(target, inner)
    head = _head(t)
    if not inner:
        return head
    return head + (inner if inner.startswith(" ") else " " + inner)


def _head(t: CType) -> str:
    if t.kind in ("struct", "union", "enum"):
        return f"{t.kind} {t.name or '{...}'}"
    return t.name or "void"


# -- reading DIEs -----------------------------------------------------------------------

class TypeReader:
    """CTypes from the DIEs of one DWARF file, each DIE read once."""

    def __init__(self):
        self._cache: dict[int, CType] = {}

    def of(self, die) -> CType:
        """The type a DIE's DW_AT_type names (void when it has none)."""
        if die is None or "DW_AT_type" not in die.attributes:
            return VOID
        return self.read(die.get_DIE_from_attribute("DW_AT_type"))

    def read(self, die) -> CType:
        cached = self._cache.get(die.offset)
        if cached is not None:
            return cached
        tag = die.tag
        if tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_class_type"):
            return self._record(die)
        t = self._simple(die, tag)
        self._cache[die.offset] = t
        return t

    def _simple(self, die, tag: str) -> CType:
        name, size = _name(die), die.attributes.get("DW_AT_byte_size")
        size = size.value if size is not None else 0
        if tag == "DW_TAG_base_type":
            encoding = ENCODINGS.get(die.attributes["DW_AT_encoding"].value, "unsigned") \
                if "DW_AT_encoding" in die.attributes else "unsigned"
            return CType("base", name, size, encoding=encoding)
        if tag == "DW_TAG_pointer_type" or tag == "DW_TAG_reference_type":
            return CType("pointer", size=size or POINTER_SIZE, target=self.of(die))
        if tag == "DW_TAG_typedef":
            return CType("typedef", name, target=self.of(die))
        if tag in ("DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type",
                   "DW_TAG_atomic_type"):
            return CType(tag[7:-5], target=self.of(die))
        if tag == "DW_TAG_array_type":
            return self._array(die)
        if tag == "DW_TAG_enumeration_type":
            return self._enum(die, name, size)
        if tag == "DW_TAG_subroutine_type":
            params = [self.of(c) for c in die.iter_children()
                      if c.tag == "DW_TAG_formal_parameter"]
            prototyped = "DW_AT_prototyped" in die.attributes
            return CType("function", target=self.of(die),
                         params=params if prototyped or params else None)
        return CType("base", name or "?", size, encoding="unsigned")

    def _record(self, die) -> CType:
        kind = "union" if die.tag == "DW_TAG_union_type" else "struct"
        size = die.attributes.get("DW_AT_byte_size")
        t = CType(kind, _name(die), size.value if size is not None else 0)
        self._cache[die.offset] = t                      # before the members: they may point back
        for child in die.iter_children():
            if child.tag == "DW_TAG_member":
                t.members.append(self._member(child))
        return t

    def _member(self, die) -> Member:
        offset = die.attributes.get("DW_AT_data_member_location")
        byte_offset = offset.value if offset is not None and isinstance(offset.value, int) else 0
        member = Member(_name(die), self.of(die), byte_offset)
        bits = die.attributes.get("DW_AT_bit_size")
        if bits is not None:
            member.bits = bits.value
            data_bit = die.attributes.get("DW_AT_data_bit_offset")
            if data_bit is not None:                       # DWARF 4+: from the struct's start
                storage = member.type.byte_size or 4
                member.offset = data_bit.value // 8 // storage * storage
                member.bit_offset = data_bit.value - member.offset * 8
            else:                                          # DWARF 2/3: from the MSB
                old = die.attributes.get("DW_AT_bit_offset")
                storage = die.attributes.get("DW_AT_byte_size")
                width = (storage.value if storage else member.type.byte_size) * 8
                member.bit_offset = width - (old.value if old else 0) - member.bits
        return member

    def _array(self, die) -> CType:
        bounds = []
        for child in die.iter_children():
            if child.tag == "DW_TAG_subrange_type":
                count = child.attributes.get("DW_AT_count")
                upper = child.attributes.get("DW_AT_upper_bound")
                if count is not None and isinstance(count.value, int):
                    bounds.append(count.value)
                elif upper is not None and isinstance(upper.value, int):
                    bounds.append(upper.value + 1)
                else:
                    bounds.append(None)
        t = self.of(die)
        for count in reversed(bounds or [None]):
            t = array_of(t, count)
        return t

    def _enum(self, die, name: str, size: int) -> CType:
        enumerators = {}
        for child in die.iter_children():
            if child.tag == "DW_TAG_enumerator":
                enumerators[child.attributes["DW_AT_const_value"].value] = _name(child)
        underlying = self.of(die) if "DW_AT_type" in die.attributes else None
        signed = underlying.is_signed() if underlying is not None else \
            any(v < 0 for v in enumerators)
        return CType("enum", name, size or 4, enumerators=enumerators, signed=signed)


def _name(die) -> str:
    value = die.attributes.get("DW_AT_name")
    if value is None:
        return ""
    raw = value.value
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)

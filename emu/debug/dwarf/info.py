"""A program's DWARF debugging information: functions, blocks, inlined copies, variables.

    info = DebugInfo("/path/to/prog")
    chain = info.scopes_at(0x401136)    # [function, block, inlined, ...], outermost first
    info.function("mm_free")            # the out-of-line copy, or None
    info.inlined("mm_free")             # every inlined copy (DW_TAG_inlined_subroutine)
    info.global_variable("counter")     # Variable(name, type, location)
    info.type_named("struct node")      # CType, for casts

The DIE tree of a compilation unit becomes a tree of Scopes: a function
(DW_TAG_subprogram with code), lexical blocks, and inlined subroutines, each
with its address ranges and its variables. Names, types and parameters of an
inlined copy come from its abstract origin. A unit is read when first needed:
a pc falls in its ranges, or a name is looked up (units are read in link
order until one defines it), so opening a program with a large libc's
DWARF costs nothing until then.

All addresses here are the program's link addresses plus `bias` (0 for a
static executable; the load address of a static PIE).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from elftools.dwarf.dwarf_expr import DWARFExprParser
from elftools.elf.elffile import ELFFile

from .types import BASE_TYPES, CType, TypeReader, pointer_to

SCOPE_TAGS = {"DW_TAG_subprogram": "function", "DW_TAG_lexical_block": "block",
              "DW_TAG_inlined_subroutine": "inlined"}
VARIABLE_TAGS = ("DW_TAG_variable", "DW_TAG_formal_parameter")


@dataclass(eq=False)
class Unit:
    """One compilation unit: its header and top DIE, read at once; the rest on demand."""
    cu: object
    ranges: list
    base: int
    name: str
    comp_dir: str
    parser: DWARFExprParser
    parsed: bool = False
    functions: list = field(default_factory=list)
    globals: dict = field(default_factory=dict)
    types: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)        # DW_AT_decl_file index -> path


@dataclass(eq=False)
class Variable:
    name: str
    type: CType
    location: object                  # bytes of an expression, a location list, or None
    unit: Unit
    is_param: bool = False
    const_value: object = None
    decl_line: int = 0


@dataclass(eq=False)
class Scope:
    kind: str                         # function, block, inlined
    name: str
    ranges: list                      # [(low, high)]
    unit: Unit
    parent: "Scope | None" = None
    variables: list = field(default_factory=list)
    children: list = field(default_factory=list)
    frame_base: object = None         # the function's DW_AT_frame_base
    return_type: CType | None = None
    entry_pc: int = 0
    call_file: str = ""
    call_line: int = 0
    decl_file: str = ""
    decl_line: int = 0

    def contains(self, pc: int) -> bool:
        return any(lo <= pc < hi for lo, hi in self.ranges)

    @property
    def low(self) -> int:
        return min((lo for lo, _ in self.ranges), default=0)

    @property
    def params(self) -> list:
        return [v for v in self.variables if v.is_param]

    def function(self) -> "Scope":
        """The enclosing function or inlined copy (self for those)."""
        scope = self
        while scope.kind == "block" and scope.parent is not None:
            scope = scope.parent
        return scope


class DebugInfo:
    """The DWARF of one ELF file, read lazily."""

    def __init__(self, path: str, bias: int = 0):
        self.path = path
        self.bias = bias
        self.types = TypeReader()
        self._file = open(path, "rb")
        try:
            self._elf = ELFFile(self._file)
            self._dwarf = self._elf.get_dwarf_info() if self._elf.has_dwarf_info() else None
        except BaseException:
            self._file.close()
            raise
        self._units: list[Unit] | None = None
        self._range_lists = None

    @property
    def present(self) -> bool:
        return self._dwarf is not None

    # -- units -------------------------------------------------------------------------------

    def units(self) -> list[Unit]:
        if self._units is None:
            self._units = [self._unit(cu) for cu in self._dwarf.iter_CUs()] if self._dwarf else []
        return self._units

    def _unit(self, cu) -> Unit:
        top = cu.get_top_DIE()
        low = top.attributes.get("DW_AT_low_pc")
        base = (low.value if low is not None else 0) + self.bias
        unit = Unit(cu, [], base, _text(top, "DW_AT_name"), _text(top, "DW_AT_comp_dir"),
                    DWARFExprParser(cu.structs))
        unit.ranges = self._ranges(top, unit)
        return unit

    def _parsed(self, unit: Unit) -> Unit:
        if not unit.parsed:
            unit.parsed = True
            unit.files = self._decl_files(unit)
            for child in unit.cu.get_top_DIE().iter_children():
                self._top_level(child, unit)
        return unit

    def _top_level(self, die, unit: Unit) -> None:
        tag = die.tag
        if tag == "DW_TAG_subprogram":
            scope = self._scope(die, unit, None)
            if scope is not None:
                unit.functions.append(scope)
        elif tag == "DW_TAG_variable":
            var = self._variable(die, unit)
            if var is not None and var.name and (var.location is not None or
                                                 var.const_value is not None):
                unit.globals.setdefault(var.name, var)
        elif tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_enumeration_type"):
            name = _text(die, "DW_AT_name")
            kind = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
                    "DW_TAG_enumeration_type": "enum"}[tag]
            if name and "DW_AT_declaration" not in die.attributes:
                unit.types.setdefault(f"{kind} {name}", die)
        elif tag in ("DW_TAG_typedef", "DW_TAG_base_type"):
            name = _text(die, "DW_AT_name")
            if name:
                unit.types.setdefault(name, die)

    # -- scopes ---------------------------------------------------------------------------

    def _scope(self, die, unit: Unit, parent: Scope | None) -> Scope | None:
        """The Scope of a subprogram/block/inlined DIE that has code, with its
        children; None for a declaration or an abstract (inline-only) function."""
        ranges = self._ranges(die, unit)
        if not ranges:
            return None
        kind = SCOPE_TAGS[die.tag]
        origin = _origin(die)
        scope = Scope(kind, _text(origin, "DW_AT_name") if kind != "block" else "",
                      ranges, unit, parent)
        if kind != "block":
            scope.return_type = self.types.of(origin)
            scope.decl_file = unit.files.get(_int(origin, "DW_AT_decl_file"), "")
            scope.decl_line = _int(origin, "DW_AT_decl_line")
        if kind == "function":
            frame_base = die.attributes.get("DW_AT_frame_base")
            scope.frame_base = frame_base.value if frame_base is not None else None
        if kind == "inlined":
            scope.entry_pc = self._entry_pc(die, ranges)
            scope.call_file = unit.files.get(_int(die, "DW_AT_call_file"), "")
            scope.call_line = _int(die, "DW_AT_call_line")
        for child in die.iter_children():
            if child.tag in VARIABLE_TAGS:
                var = self._variable(child, unit)
                if var is not None and var.name:
                    scope.variables.append(var)
            elif child.tag in SCOPE_TAGS and child.tag != "DW_TAG_subprogram":
                inner = self._scope(child, unit, scope)
                if inner is not None:
                    scope.children.append(inner)
        return scope

    def _entry_pc(self, die, ranges: list) -> int:
        """Where an inlined copy is entered: DW_AT_entry_pc (an address, or in
        DWARF 5 an offset from DW_AT_low_pc), else the first of its ranges in
        DWARF's order (the entry block; later ranges are often cold paths)."""
        entry = die.attributes.get("DW_AT_entry_pc")
        if entry is not None and entry.form == "DW_FORM_addr":
            return entry.value + self.bias
        low = die.attributes.get("DW_AT_low_pc")
        if entry is not None and low is not None:
            return low.value + entry.value + self.bias
        return ranges[0][0]

    def _variable(self, die, unit: Unit) -> Variable | None:
        origin = _origin(die)
        if "DW_AT_declaration" in die.attributes and "DW_AT_location" not in die.attributes:
            return None
        location = die.attributes.get("DW_AT_location")
        value = None
        if location is not None:
            value = self._location(location, unit, die)
        const = die.attributes.get("DW_AT_const_value") or origin.attributes.get("DW_AT_const_value")
        return Variable(_text(origin, "DW_AT_name"), self.types.of(origin), value, unit,
                        die.tag == "DW_TAG_formal_parameter",
                        const.value if const is not None else None,
                        _int(origin, "DW_AT_decl_line"))

    def _location(self, attr, unit: Unit, die):
        if attr.form in ("DW_FORM_exprloc", "DW_FORM_block1", "DW_FORM_block2",
                         "DW_FORM_block4", "DW_FORM_block"):
            return bytes(attr.value)
        try:
            lists = self._dwarf.location_lists()
            return lists.get_location_list_at_offset(attr.value, die) if lists else None
        except Exception:          # an encoding pyelftools does not read: unavailable
            return None

    def _ranges(self, die, unit: Unit | None) -> list:
        low = die.attributes.get("DW_AT_low_pc")
        high = die.attributes.get("DW_AT_high_pc")
        if low is not None and high is not None:
            end = high.value if high.form == "DW_FORM_addr" else low.value + high.value
            return [(low.value + self.bias, end + self.bias)] if end > low.value else []
        ranges = die.attributes.get("DW_AT_ranges")
        if ranges is None:
            return []
        return self._range_list(ranges, die, unit)

    def _range_list(self, attr, die, unit) -> list:
        if self._range_lists is None:
            self._range_lists = self._dwarf.range_lists() or False
        if not self._range_lists:
            return []
        try:
            entries = self._range_lists.get_range_list_at_offset(attr.value, cu=die.cu)
        except Exception:
            return []
        base = (unit.base - self.bias) if unit is not None else 0
        out = []
        for entry in entries:
            if hasattr(entry, "base_address"):
                base = entry.base_address
                continue
            lo, hi = entry.begin_offset, entry.end_offset
            if not getattr(entry, "is_absolute", False):
                lo, hi = lo + base, hi + base
            if hi > lo:
                out.append((lo + self.bias, hi + self.bias))
        return out

    def _decl_files(self, unit: Unit) -> dict:
        program = self._dwarf.line_program_for_CU(unit.cu)
        if program is None:
            return {}
        version = program.header["version"]
        dirs = [_decode(d) for d in program.header["include_directory"]]
        out = {}
        for i, entry in enumerate(program.header["file_entry"]):
            name = _decode(entry.name)
            index = i if version >= 5 else i + 1
            if version >= 5:
                folder = dirs[entry.dir_index] if entry.dir_index < len(dirs) else unit.comp_dir
            else:
                folder = unit.comp_dir if entry.dir_index == 0 else dirs[entry.dir_index - 1]
            out[index] = name if os.path.isabs(name) else os.path.join(unit.comp_dir, folder, name)
        return out

    # -- queries --------------------------------------------------------------------------

    def scopes_at(self, pc: int) -> list[Scope]:
        """The scopes holding `pc`, outermost (the function) first; [] if none."""
        for unit in self.units():
            if not any(lo <= pc < hi for lo, hi in unit.ranges) and unit.ranges:
                continue
            for function in self._parsed(unit).functions:
                if function.contains(pc):
                    chain = [function]
                    while True:
                        inner = next((c for c in chain[-1].children if c.contains(pc)), None)
                        if inner is None:
                            return chain
                        chain.append(inner)
        return []

    def _find(self, pick):
        for unit in self.units():
            found = pick(self._parsed(unit))
            if found is not None:
                return found
        return None

    def function(self, name: str) -> Scope | None:
        """The out-of-line copy of function `name`, or None."""
        return self._find(lambda u: next((f for f in u.functions if f.name == name), None))

    def inlined(self, name: str) -> list[Scope]:
        """Every inlined copy of function `name`, in address order."""
        found = []
        for unit in self.units():
            for function in self._parsed(unit).functions:
                found += [s for s in _walk(function) if s.kind == "inlined" and s.name == name]
        return sorted(found, key=lambda s: s.entry_pc)

    def global_variable(self, name: str) -> Variable | None:
        return self._find(lambda u: u.globals.get(name))

    def global_names(self) -> list[str]:
        return sorted({n for u in self.units() for n in self._parsed(u).globals})

    def function_names(self) -> list[str]:
        return sorted({f.name for u in self.units() for f in self._parsed(u).functions})

    def type_named(self, text: str) -> CType | None:
        """A type by its C name: 'struct node', 'size_t', 'unsigned long', ..."""
        text = " ".join(text.split())
        die = self._find(lambda u: u.types.get(text))
        if die is not None:
            return self.types.read(die)
        return BASE_TYPES.get(_canonical_base(text))

    def close(self) -> None:
        self._file.close()


def _walk(scope: Scope):
    yield scope
    for child in scope.children:
        yield from _walk(child)


def _origin(die):
    """The DIE holding a concrete DIE's name and type (its abstract origin or
    specification), or the DIE itself."""
    seen = 0
    while seen < 4:
        for key in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if key in die.attributes:
                die = die.get_DIE_from_attribute(key)
                break
        else:
            return die
        seen += 1
    return die


def _text(die, name: str) -> str:
    attr = die.attributes.get(name) if die is not None else None
    return _decode(attr.value) if attr is not None else ""


def _decode(raw) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def _int(die, name: str) -> int:
    attr = die.attributes.get(name)
    return attr.value if attr is not None and isinstance(attr.value, int) else 0


_BASE_ALIASES = {"long int": "long", "long unsigned int": "unsigned long",
                 "unsigned long int": "unsigned long", "short int": "short",
                 "short unsigned int": "unsigned short", "unsigned": "unsigned int",
                 "signed": "int", "signed int": "int", "long long int": "long long",
                 "long long unsigned int": "unsigned long long",
                 "unsigned long long int": "unsigned long long", "unsigned short int":
                 "unsigned short", "signed long": "long", "bool": "_Bool"}


def _canonical_base(text: str) -> str:
    return _BASE_ALIASES.get(text, text)


__all__ = ["DebugInfo", "Scope", "Unit", "Variable", "pointer_to"]

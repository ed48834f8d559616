"""target.xml: the target description gdb reads with qXfer:features:read.

It names the architecture (i386:x86-64) and the OS ABI (GNU/Linux), then one
<feature> per group of registers in registers.LAYOUT, each register with an
explicit regnum, so gdb numbers them exactly as the `g` packet orders them.
gdb's amd64 code checks the features by name: core and sse carry the
registers it needs, linux (orig_rax) turns on its GNU/Linux support, segments
adds fs_base and gs_base.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from .registers import CORE, LAYOUT, SSE

ARCHITECTURE = "i386:x86-64"
OSABI = "GNU/Linux"

# (name, bit) of the flags registers, as gdb shows them: eflags = [ ZF PF ]
EFLAGS_FIELDS = (("CF", 0), ("", 1), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8),
                 ("IF", 9), ("DF", 10), ("OF", 11), ("NT", 14), ("RF", 16), ("VM", 17),
                 ("AC", 18), ("VIF", 19), ("VIP", 20), ("ID", 21))
MXCSR_FIELDS = (("IE", 0), ("DE", 1), ("ZE", 2), ("OE", 3), ("UE", 4), ("PE", 5), ("DAZ", 6),
                ("IM", 7), ("DM", 8), ("ZM", 9), ("OM", 10), ("UM", 11), ("PM", 12),
                ("FZ", 15))
# The views of an xmm register: (vector type id, element type, count, union field)
XMM_VIEWS = (("v4f", "ieee_single", 4, "v4_float"), ("v2d", "ieee_double", 2, "v2_double"),
             ("v16i8", "int8", 16, "v16_int8"), ("v8i16", "int16", 8, "v8_int16"),
             ("v4i32", "int32", 4, "v4_int32"), ("v2i64", "int64", 2, "v2_int64"))


def _flags(type_id: str, fields) -> list[str]:
    lines = [f'    <flags id="{type_id}" size="4">']
    lines += [f'      <field name="{name}" start="{bit}" end="{bit}"/>' for name, bit in fields]
    return lines + ["    </flags>"]


def _sse_types() -> list[str]:
    lines = [f'    <vector id="{vid}" type="{element}" count="{count}"/>'
             for vid, element, count, _ in XMM_VIEWS]
    lines.append('    <union id="vec128">')
    lines += [f'      <field name="{field}" type="{vid}"/>' for vid, _, _, field in XMM_VIEWS]
    lines.append('      <field name="uint128" type="uint128"/>')
    lines.append("    </union>")
    return lines + _flags("i386_mxcsr", MXCSR_FIELDS)


def _types(feature: str) -> list[str]:
    if feature == CORE:
        return _flags("i386_eflags", EFLAGS_FIELDS)
    if feature == SSE:
        return _sse_types()
    return []


def _reg_line(number: int) -> str:
    reg = LAYOUT[number]
    group = f" group={quoteattr(reg.group)}" if reg.group else ""
    return (f"    <reg name={quoteattr(reg.name)} bitsize=\"{reg.bits}\" "
            f"type={quoteattr(reg.type)} regnum=\"{number}\"{group}/>")


def target_xml() -> str:
    """The whole description, features in register-number order."""
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
             '<target version="1.0">', f"  <architecture>{ARCHITECTURE}</architecture>",
             f"  <osabi>{OSABI}</osabi>"]
    features = list(dict.fromkeys(reg.feature for reg in LAYOUT))
    for feature in features:
        lines.append(f'  <feature name="{feature}">')
        lines += _types(feature)
        lines += [_reg_line(n) for n, reg in enumerate(LAYOUT) if reg.feature == feature]
        lines.append("  </feature>")
    lines.append("</target>")
    return "\n".join(lines) + "\n"

"""C-level debugging from DWARF (pyelftools): types, locations, scopes, expressions, values.

    types       C types from DIEs, spelled as gdb spells them
    locations   DWARF location expressions and location lists, evaluated
    info        a program's scopes (functions, blocks, inlined copies) and variables
    cexpr       C expressions parsed (gdb's grammar: casts, ->, [], @, $registers)
    evaluate    expression trees to Values in a frame
    values      Values and how gdb prints them
"""

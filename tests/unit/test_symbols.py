"""SymbolTable names an address only inside a symbol."""

from emu.symbols import SymbolTable


def test_an_address_past_a_symbols_end_has_no_name():
    table = SymbolTable()
    table.add_address("mm_malloc", 0x401000, end=0x401080)
    table.add_address("heap_start", 0x404000, end=0x404008)
    assert table.describe(0x401000) == "mm_malloc"
    assert table.describe(0x40107F) == "mm_malloc+0x7f"
    assert table.describe(0x401080) == ""                 # past its size
    assert table.describe(0x404010) == ""                 # the heap after the last symbol
    assert table.lookup(0x404004) == ("heap_start", 4)


def test_a_symbol_without_an_end_names_a_bounded_neighbourhood():
    table = SymbolTable()
    table.add_address("label", 0x1000)
    assert table.describe(0x1010) == "label+0x10"
    assert table.describe(0x1000 + 0x10001) == ""


def test_re_adding_a_name_moves_it():
    table = SymbolTable()
    table.add_address("x", 0x1000, end=0x1008)
    table.add_address("x", 0x2000, end=0x2008)
    assert table.describe(0x1000) == "" and table.describe(0x2004) == "x+0x4"

"""Debugging a process: the target (stepping, breakpoints, watchpoints, reverse
execution), source and symbol information, and the views the front ends show.

Two front ends share it: the `emu debug` REPL (emu/debug/repl.py and
commands/) and the GDB remote stub (emu/gdbstub/).
"""

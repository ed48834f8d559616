"""The malloc lab: CS:APP traces replayed inside the machine, checked, timed,
scored, and drawn."""

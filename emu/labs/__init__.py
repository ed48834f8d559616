"""emu lab: course labs with a variant per student, graded on machine state.

    variants.py   who gets which variant: HMAC-SHA256(course key, lab, student)
    prng.py       the project's own PRNG (xoshiro256**), so variants never drift
    config.py     lab.toml: tests, points, visibility, budgets, variant knobs
    catalog.py    where labs live (examples/labs/LAB/) and how one is found
    handout.py    `emu lab init`: README and starter filled in for a variant
    runner.py     grading one submission: tests in order, budgets in instructions
    results.py    the one result model (TestResult, GradeReport)
    writers.py    text (gradelib-like), JSON, Gradescope, PrairieLearn, Autolab
    platforms.py  the platforms' inputs and files
    commands.py   what each `emu lab` subcommand does (emu/cli/lab.py parses)
    batch.py      `emu lab grade DIR... --jobs N`
    measure.py    counting the instructions a routine runs
    kernel_debug.py  a kernel routine under `emu debug` (emu lab repro)
    kinds/        one checker plug-in per kind of lab: pagewalk, memmap, bomb
"""

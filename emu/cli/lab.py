"""emu lab: course labs -- handouts per student, checks, grading for every platform."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..debug.repl import Repl
from ..errors import UsageError
from ..labs import commands
from ..labs.batch import grade_many
from ..labs.catalog import load_lab
from ..labs.platforms import FORMATS, ID_FIELDS
from ..labs.variants import MAX_PUBLIC_SEED, public_variant
from ..userfiles import read_user_text
from . import debug
from .common import int_in, print_lines


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "lab", help="course labs: handouts, checks, grading (Gradescope, PrairieLearn, Autolab)",
        description="Course labs with a variant per student, graded on machine state with "
                    "instruction budgets: the same grade on every machine.",
        epilog="Examples:\n"
               "  emu lab list\n"
               "  emu lab init pagewalk --seed 7                 # self-study variant 7\n"
               "  emu lab init memmap --student alice@uni.edu --key-file course.key\n"
               "  cd memmap && emu lab check                     # the public tests\n"
               "  emu lab repro allocate-matches-model           # reopen a failure in emu debug\n"
               "  emu lab grade memmap/ --format gradescope --key-file course.key\n"
               "  emu lab grade subs/* --lab memmap --jobs 2 --output reports/\n"
               "  emu lab solve bomb --seed 7                    # answers of a public seed",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    _add_list(actions)
    _add_init(actions)
    _add_check(actions)
    _add_grade(actions)
    _add_solve(actions)
    _add_repro(actions)


def _key_option(p) -> None:
    p.add_argument("--key-file", metavar="FILE",
                   help="the course key (else $EMU_LAB_KEY_FILE or $EMU_LAB_KEY)")


def _add_list(actions) -> None:
    p = actions.add_parser("list", help="the labs, one line each")
    p.set_defaults(run=_run_list)


def _add_init(actions) -> None:
    p = actions.add_parser("init", help="write a handout: README, starter code, public tests",
                           epilog="Examples:\n  emu lab init pagewalk --seed 7\n"
                                  "  emu lab init bomb --student alice --key-file course.key\n"
                                  "  emu lab init memmap --roster students.txt --dir out/",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lab", help="the lab's name (emu lab list)")
    p.add_argument("--student", metavar="ID", help="the student's id (needs the course key)")
    p.add_argument("--seed", type=int_in(0, MAX_PUBLIC_SEED), metavar="N",
                   help="a public self-study variant")
    p.add_argument("--roster", metavar="FILE", help="one student id a line: a handout each")
    p.add_argument("--dir", metavar="D", type=Path, help="where to write (default: ./LAB)")
    _key_option(p)
    p.set_defaults(run=_run_init)


def _add_check(actions) -> None:
    p = actions.add_parser("check", help="run the public tests on your handout folder",
                           epilog="Examples:\n  emu lab check\n  emu lab check pagewalk/",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", nargs="?", default=".", type=Path,
                   help="the handout folder (default: here)")
    p.add_argument("--all", action="store_true",
                   help="also the hidden tests (public seeds only)")
    p.set_defaults(run=_run_check)


def _add_grade(actions) -> None:
    p = actions.add_parser(
        "grade", help="grade submissions for a platform (stdout unless --output)",
        epilog="Examples:\n"
               "  emu lab grade sub/ --student alice --format json\n"
               "  emu lab grade /autograder/submission --lab memmap --format gradescope \\\n"
               "      --gradescope-metadata /autograder/submission_metadata.json \\\n"
               "      --output /autograder/results/results.json\n"
               "  emu lab grade subs/* --lab bomb --jobs 2 --output reports/",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                   help="a folder with the submitted files (several: one report each)")
    p.add_argument("--lab", help="the lab (default: from the submission's emu-lab.json)")
    p.add_argument("--student", metavar="ID", help="whose variant (default: the metadata, "
                                                   "or emu-lab.json)")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--output", type=Path, metavar="FILE",
                   help="write there (a folder when grading several)")
    p.add_argument("--jobs", type=int_in(1, 256), default=1, metavar="N",
                   help="submissions graded at once (several submissions)")
    p.add_argument("--public-only", action="store_true", help="skip the hidden tests")
    p.add_argument("--gradescope-metadata", type=Path, metavar="FILE",
                   help="Gradescope's submission_metadata.json: the student id")
    p.add_argument("--id-field", choices=ID_FIELDS, default="email",
                   help="which Gradescope user field is the student id (default email)")
    _key_option(p)
    p.set_defaults(run=_run_grade)


def _add_solve(actions) -> None:
    p = actions.add_parser("solve", help="the answers of a public seed (self-study)")
    p.add_argument("lab")
    p.add_argument("--seed", type=int_in(0, MAX_PUBLIC_SEED), required=True, metavar="N")
    p.set_defaults(run=_run_solve)


def _add_repro(actions) -> None:
    p = actions.add_parser(
        "repro", help="reopen a failed test in emu debug, where it failed",
        epilog="Examples:\n  emu lab repro walk-2m-pages\n"
               "  emu lab repro walk-2m-pages -x tests/walk.gdb --batch\n"
               "  emu lab repro emu1.eJyr...     # a token from a platform's report",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("failure", help="a test name (after emu lab check), a .json record, "
                                   "or an emu1. token")
    p.add_argument("--dir", type=Path, default=Path("."),
                   help="the handout folder with your code (default: here)")
    p.add_argument("-x", dest="command_file", metavar="FILE", help="debugger commands to run")
    p.add_argument("-ex", dest="commands", action="append", default=[], metavar="CMD")
    p.add_argument("--batch", action="store_true", help="exit after the commands")
    p.set_defaults(run=_run_repro)


# -- running -------------------------------------------------------------------------------

def _run_list(args) -> int:
    print_lines(commands.list_lines())
    return 0


def _run_init(args) -> int:
    print_lines(commands.init(args.lab, args.student, args.seed, args.dir, args.key_file,
                              args.roster))
    return 0


def _run_check(args) -> int:
    lines, status = commands.check(args.dir, args.all)
    print_lines(lines)
    return status


def _run_grade(args) -> int:
    request = commands.GradeRequest(args.submissions[0], args.lab, args.student,
                                    args.key_file, args.format, args.public_only,
                                    args.gradescope_metadata, args.id_field)
    if len(args.submissions) > 1:
        if args.student or args.gradescope_metadata:
            raise UsageError("--student and --gradescope-metadata are for one submission")
        print_lines(grade_many(request, args.submissions, args.output, args.jobs))
        return 0
    text, _ = commands.grade_one(request, args.output)
    if args.output is None:
        sys.stdout.write(text)
    return 0


def _run_solve(args) -> int:
    lab = load_lab(args.lab)
    variant = public_variant(lab.name, args.seed)
    params = lab.kind.draw_params(lab.config, variant)
    print_lines([f"{lab.name}, {variant.who} (variant {variant.id}):"]
                + lab.kind.solve(lab, variant, params))
    return 0


def _debug_defaults(program: str) -> argparse.Namespace:
    """`emu debug PROGRAM`'s options with their defaults, taken from its own
    parser, so an option emu debug gains never goes missing here."""
    parser = argparse.ArgumentParser(prog="emu")
    debug.add_parser(parser.add_subparsers())
    return parser.parse_args(["debug", program])


def _run_repro(args) -> int:
    session = commands.repro_session(args.failure, args.dir)
    script = read_user_text(args.command_file, "-x").splitlines() if args.command_file else []
    print_lines(session.banner)
    if session.program is not None:
        options = _debug_defaults(str(session.program))
        options.commands = session.commands + script + args.commands
        options.batch, options.libc, options.link = args.batch, session.libc, session.link
        options.guest_args = session.argv
        if session.kernel is not None:
            options.kernel, options.on_fault = str(session.kernel), session.on_fault
            options.junk_frames = session.junk_frames
        return debug.run(options)
    repl = Repl(session.kernel_call)
    repl.started = True
    repl.emit(repl.context())
    repl.run_lines(script + args.commands)
    if not args.batch:
        repl.interact()
    return 0

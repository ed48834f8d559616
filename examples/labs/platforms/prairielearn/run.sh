#!/usr/bin/env bash
# PrairieLearn's external grader entrypoint for an emu lab question.
#
# Put this file and the course key in serverFilesCourse/emu/ and, in the question's
# info.json (see info.json.example):
#   "externalGradingOptions": {"enabled": true, "image": "YOURNAME/emu-grader:2026.1",
#     "serverFilesCourse": ["emu/"], "entrypoint": "/grade/serverFilesCourse/emu/run.sh LAB",
#     "timeout": 120}
# The student's files are in /grade/student (with the emu-lab.json of their handout:
# PrairieLearn does not tell the grader who the student is). The results go to
# /grade/results/results.json; a submission that does not assemble is "gradable": false,
# so it costs no attempt. GRADE_ROOT lets the project's tests use a fake /grade tree.
set -uo pipefail
LAB="$1"
ROOT="${GRADE_ROOT:-/grade}"
EMU="${EMU:-emu}"
export EMU_LAB_KEY_FILE="${EMU_LAB_KEY_FILE:-$ROOT/serverFilesCourse/emu/course.key}"
mkdir -p "$ROOT/results"
if ! "$EMU" lab grade "$ROOT/student" --lab "$LAB" --format prairielearn \
        --output "$ROOT/results/results.json" 2> "$ROOT/results/stderr.txt"; then
    python3 - "$ROOT/results" <<'PY'
import json, pathlib, sys
results = pathlib.Path(sys.argv[1])
why = (results / "stderr.txt").read_text()[-2000:]
(results / "results.json").write_text(json.dumps({
    "gradable": False, "format_errors": ["the grader could not run: " + why]}))
PY
fi

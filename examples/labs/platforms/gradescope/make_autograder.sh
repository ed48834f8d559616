#!/usr/bin/env bash
# Make the zip to upload as a Gradescope programming assignment's autograder.
#
#   examples/labs/platforms/gradescope/make_autograder.sh LAB COURSE_KEY_FILE OUT.zip [ID_FIELD]
#
# The zip holds setup.sh, run_autograder, lab.conf (LAB and which metadata field is the
# student id: email, sid or id), course.key, and the project (emu/, the version in this
# checkout, committed files only). Only course staff can download an autograder zip.
set -euo pipefail
LAB="$1"; KEY="$2"; ID_FIELD="${4:-email}"
OUT="$(cd "$(dirname "$3")" && pwd)/$(basename "$3")"
HERE="$(cd "$(dirname "$0")" && pwd)"
PROJECT="$(cd "$HERE/../../../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp "$HERE/setup.sh" "$HERE/run_autograder" "$WORK/"
cp "$KEY" "$WORK/course.key"
printf 'LAB=%s\nID_FIELD=%s\n' "$LAB" "$ID_FIELD" > "$WORK/lab.conf"
mkdir "$WORK/emu"
git -C "$PROJECT" archive HEAD | tar -x -C "$WORK/emu"
(cd "$WORK" && zip -qr "$OUT" .)
echo "wrote $OUT: upload it as the autograder of the $LAB assignment"

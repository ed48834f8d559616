#!/usr/bin/env bash
# Make autograde.tar for an Autolab assessment:
#   examples/labs/platforms/autolab/make_autograde_tar.sh LAB COURSE_KEY_FILE autograde.tar
# Upload it with autograde-Makefile (Autolab: Edit assessment > Autograder). Students
# hand in a tar of their handout folder (handin.tar), emu-lab.json included.
set -euo pipefail
LAB="$1"; KEY="$2"; OUT="$3"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
printf '%s\n' "$LAB" > "$WORK/lab.name"
cp "$KEY" "$WORK/course.key"
tar -cf "$OUT" -C "$WORK" lab.name course.key
echo "wrote $OUT for lab $LAB"

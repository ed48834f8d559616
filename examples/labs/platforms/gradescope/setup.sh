#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image from the zip
# (Ubuntu base image). It installs emu from the copy of the project in the zip, with the
# engines pinned (constraints.txt), in /autograder/venv. With "Manual Docker
# configuration" and the image from examples/labs/platforms/Dockerfile, nothing here is
# needed: emu is on PATH already and this script only checks it.
set -euo pipefail

if command -v emu > /dev/null; then
    emu lab list
    exit 0
fi
apt-get update
apt-get install -y --no-install-recommends python3.11 python3.11-venv make tar \
    || apt-get install -y --no-install-recommends python3 python3-venv make tar
PYTHON="$(command -v python3.11 || command -v python3)"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "emu needs Python 3.11+"'
"$PYTHON" -m venv /autograder/venv
/autograder/venv/bin/pip install -c /autograder/source/emu/examples/labs/platforms/constraints.txt \
    -e /autograder/source/emu
/autograder/venv/bin/emu lab list

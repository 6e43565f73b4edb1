#!/bin/sh
# Creates, or reuses, a virtual environment with TensorBoard, the independent reader that the event-file test
# (EventFileTests) reads TrainingLab's events.out.tfevents.* files back with. Usage: scripts/tensorboard_venv.sh VENV.
# Prints what it does; exits non-zero (and the test skips, quoting this output) when PyPI cannot be reached.
set -eu
venv=${1:?usage: scripts/tensorboard_venv.sh VENV}
py="$venv/bin/python"

say() { echo "tensorboard-venv: $*"; }

if [ -x "$py" ] && "$py" -c 'import tensorboard' 2>/dev/null; then
    say "reusing $venv (tensorboard $("$py" -c 'import tensorboard; print(tensorboard.__version__)'))"
    exit 0
fi
if [ ! -x "$py" ]; then
    say "python3 -m venv $venv"
    python3 -m venv "$venv" || { say "python3 -m venv failed; on Debian install python3-venv"; exit 1; }
fi
say "$venv/bin/pip install tensorboard"
"$venv/bin/pip" install --quiet --disable-pip-version-check tensorboard || { say "pip install tensorboard failed (no PyPI access?)"; exit 1; }
say "ready: tensorboard $("$py" -c 'import tensorboard; print(tensorboard.__version__)')"

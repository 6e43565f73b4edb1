#!/bin/sh
# Creates, or reuses, the virtual environment with onnx and onnxruntime that the ONNX export test checks our
# files with. Usage: Tests/ONNX/onnx_venv.sh [VENV] (default .venv-onnx). Exits nonzero, saying why, when they
# cannot be installed (no network, no wheel for this Python); the test then skips with that message.
set -eu
venv=${1:-.venv-onnx}
py="$venv/bin/python"

say() { echo "onnx-venv: $*" >&2; }

if [ -x "$py" ] && "$py" -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
    exit 0
fi
if [ ! -x "$py" ]; then
    say "python3 -m venv $venv"
    python3 -m venv "$venv" || { say "python3 -m venv failed; on Debian install python3-venv"; exit 1; }
fi
say "$venv/bin/pip install onnx onnxruntime numpy"
"$venv/bin/pip" install --quiet --disable-pip-version-check onnx onnxruntime numpy || { say "pip could not install onnx and onnxruntime"; exit 1; }
say "ready: $("$py" -c 'import onnx, onnxruntime; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__)')"

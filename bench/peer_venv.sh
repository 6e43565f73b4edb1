#!/bin/sh
# Creates, or reuses, the virtual environment with PyTorch, numpy and snnTorch that `make bench-peer` measures
# against. Usage: bench/peer_venv.sh [VENV] (default .venv-peer). Everything it does is printed first.
set -eu
venv=${1:-.venv-peer}
py="$venv/bin/python"

say() { echo "bench-peer: $*"; }

if [ -x "$py" ] && "$py" -c 'import torch, numpy, snntorch' 2>/dev/null; then
    say "reusing $venv ($("$py" -c 'import torch, snntorch; print("torch", torch.__version__, "snntorch", snntorch.__version__)'))"
    exit 0
fi
if [ ! -x "$py" ]; then
    say "python3 -m venv $venv"
    python3 -m venv "$venv" || { say "python3 -m venv failed; on Debian install python3-venv"; exit 1; }
fi
pip="$venv/bin/pip"
if ! "$py" -c 'import torch' 2>/dev/null; then
    # The CPU-only wheel (~200 MB) when pip can find it (e.g. through its find-links); the default wheel also runs
    # on the CPU but brings several GB of CUDA libraries.
    say "$pip install torch==2.13.0+cpu"
    if ! "$pip" install --quiet 'torch==2.13.0+cpu'; then
        say "torch==2.13.0+cpu not found; $pip install torch (the default wheel, several GB)"
        "$pip" install --quiet torch
    fi
fi
say "$pip install numpy snntorch"
"$pip" install --quiet numpy snntorch
say "ready: $("$py" -c 'import torch, snntorch; print("torch", torch.__version__, "snntorch", snntorch.__version__)')"

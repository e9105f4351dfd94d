#!/usr/bin/env bash
# Builds the Python package `einstream` (pyproject.toml, bindings/python) with
# `pip install .` into a virtual environment and runs its pytest suite; CI runs
# this from the README's test command.
#
# EINSTREAM_PYTHON_CUDA=OFF (the default) builds the host backend only: CI has
# the CUDA toolkit but no GPU, and leaving the kernels out keeps the build at a
# few minutes on 2 cores. ON builds the CUDA backend (needs nvcc), AUTO lets
# CMake decide (on where nvcc is found), as a plain `pip install .` does.
# EINSTREAM_PYTHON_VENV picks the environment (default build-python/venv, made
# if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=${EINSTREAM_PYTHON_VENV:-build-python/venv}
case "$venv" in /*) ;; *) venv=$PWD/$venv ;; esac  # the tests run from another folder
cuda=${EINSTREAM_PYTHON_CUDA:-OFF}

if [ ! -x "$venv/bin/python" ]; then
  echo "python-test: creating $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip)
# Test requirements only; the package itself needs numpy, and nanobind and
# scikit-build-core come into pip's isolated build environment.
"${pip[@]}" install -q --disable-pip-version-check numpy pytest opt_einsum

defines=()
case "$cuda" in
  AUTO | auto) ;;
  ON | on | OFF | off) defines=(-C "cmake.define.EINSTREAM_ENABLE_CUDA=${cuda^^}") ;;
  *) echo "python-test: EINSTREAM_PYTHON_CUDA must be ON, OFF or AUTO, not '$cuda'" >&2; exit 2 ;;
esac
echo "python-test: pip install . (CUDA backend: $cuda)"
start=$SECONDS
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
  "${pip[@]}" install -q --disable-pip-version-check --force-reinstall --no-deps "${defines[@]}" .
echo "python-test: built and installed in $((SECONDS - start)) s"

# From outside the source tree, so the tests import the installed package.
cd bindings/python/tests
"$venv/bin/python" -m pytest -q -rs -p no:cacheprovider .

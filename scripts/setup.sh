#!/usr/bin/env bash
# Installs what einstream's build needs beyond a Debian/Ubuntu image with a C++
# compiler: CMake, GoogleTest, Google Benchmark, CLI11 and nlohmann-json, gfortran
# (for bindings/fortran), METIS (the hyper path search's graph partitioner; the
# build works without it), OpenMPI (einstream/mpi.hpp's test), and
# for scripts/sanitize.sh and scripts/fuzz.sh clang with its sanitizer and
# libFuzzer runtimes, as Debian packages. Anything already present (from a
# package or a source install) is left alone, so this is a no-op on a prepared
# machine.
set -euo pipefail

have_header() {
  for prefix in /usr/include /usr/local/include; do
    [ -e "$prefix/$1" ] && return 0
  done
  return 1
}

apt_install() {
  echo "setup: installing $*"
  if [ "$(id -u)" -eq 0 ]; then
    apt_get=(apt-get)
  elif command -v sudo >/dev/null 2>&1; then
    apt_get=(sudo apt-get)
  else
    echo "setup: missing $*; run as root or install them with apt-get" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${apt_updated:-}" ]; then
    "${apt_get[@]}" update -qq
    apt_updated=1
  fi
  "${apt_get[@]}" install -y -qq --no-install-recommends "$@"
}

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || command -v ninja >/dev/null 2>&1 || missing+=(make)
command -v clang++ >/dev/null 2>&1 || missing+=(clang)
command -v gfortran >/dev/null 2>&1 || missing+=(gfortran)
# The Python package (scripts/python-test.sh): Debian keeps venv and the
# interpreter's headers out of python3.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' >/dev/null 2>&1 || missing+=(python3-dev)
have_header gtest/gtest.h || missing+=(libgtest-dev)
have_header benchmark/benchmark.h || missing+=(libbenchmark-dev)
have_header nlohmann/json.hpp || missing+=(nlohmann-json3-dev)
have_header CLI/CLI.hpp || missing+=(libcli11-dev)
have_header metis.h || missing+=(libmetis-dev)
# MPI for einstream/mpi.hpp's test under mpirun (OpenMPI).
command -v mpicxx >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 ||
  missing+=(libopenmpi-dev openmpi-bin)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# clang's sanitizer and libFuzzer runtimes come in a package of their own
# (libclang-rt-14-dev on Debian 12), named after clang's major version.
runtimes=$(clang -print-resource-dir)/lib/linux
arch=$(uname -m)
if [ ! -e "$runtimes/libclang_rt.fuzzer-$arch.a" ] || [ ! -e "$runtimes/libclang_rt.tsan-$arch.a" ]; then
  apt_install "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
else
  [ ${#missing[@]} -eq 0 ] && echo "setup: all build dependencies present"
fi
exit 0

#!/usr/bin/env python3
"""Compares the outputs of headline_c (a .npy file) and headline_fortran (raw
column-major float32) with numpy.einsum on the same inputs (every row of i
at the small size, three at the full size).

    python3 check.py SIZE [--c OUT.npy] [--fortran OUT.raw]"""

import argparse

import numpy

import inputs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=sorted(inputs.SIZES))
    parser.add_argument("--c", help="headline_c's OUTPUT.npy")
    parser.add_argument("--fortran", help="headline_fortran's OUTPUT.raw")
    args = parser.parse_args()
    e = inputs.SIZES[args.size]
    rows = inputs.checked_rows(args.size)
    expected = inputs.reference(inputs.operands(args.size, rows))
    failed = False
    results = {}
    if args.c:
        results["C"] = numpy.load(args.c)
    if args.fortran:
        raw = numpy.fromfile(args.fortran, dtype="<f4")
        results["Fortran"] = raw.reshape((e["i"], e["m"], e["n"]), order="F")
    for language, result in results.items():
        if result.shape != (e["i"], e["m"], e["n"]):
            print(f"{language}: shape {result.shape}, expected {(e['i'], e['m'], e['n'])}")
            failed = True
            continue
        error = inputs.relative_error(result[rows], expected)
        print(f"{language}: error {error:.2e} against numpy.einsum in float64 on {len(rows)} rows of i")
        failed = failed or error > 1e-5
    if failed:
        raise SystemExit("check.py: a result is off")


if __name__ == "__main__":
    main()

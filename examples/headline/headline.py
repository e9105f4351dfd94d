#!/usr/bin/env python3
"""The old tool's example from Python: einstream.einsum on numpy arrays,
checked against numpy.einsum.

    python3 headline.py [small|full]

small (the default) runs anywhere; full is the example's size (12.3 GB of
float32 input in host memory), for a machine with a GPU and about 40 GB of
free host memory (numpy's float64 reference needs its own copy)."""

import sys
import time

import einstream

import inputs


def main():
    size = sys.argv[1] if len(sys.argv) > 1 else "small"
    if size not in inputs.SIZES:
        raise SystemExit("usage: headline.py [small|full]")
    arrays = inputs.operands(size)
    gigabytes = sum(a.nbytes for a in arrays) * 1e-9
    start = time.perf_counter()
    result = einstream.einsum(inputs.EXPRESSION, *arrays)
    seconds = time.perf_counter() - start
    print(f"headline.py ({size}): {gigabytes:.3g} GB of input in {seconds:.3f} s "
          f"({gigabytes / seconds:.3g} GB/s), result {result.shape} {result.dtype}")
    rows = inputs.checked_rows(size)
    expected = inputs.reference([a[rows] if term[0] == "i" else a for a, term in
                                 zip(arrays, inputs.EXPRESSION.split("->")[0].split(","))])
    error = inputs.relative_error(result[rows], expected)
    print(f"headline.py: error {error:.2e} against numpy.einsum in float64 on {len(rows)} rows of i")
    if error > 1e-5:
        raise SystemExit("headline.py: the result is off")


if __name__ == "__main__":
    main()

"""The headline example's sizes and deterministic inputs, shared by
headline.py and check.py (and computed the same way by headline.c and
headline.f90): element p (C-order position) of operand t is
((p * 2654435761 + 40503 t) mod 2^32 mod 2001 - 1000) / 1000 as float32."""

import numpy

EXPRESSION = "jrl,ijr,ijrk,ijrl,ikmn->imn"
SIZES = {
    "small": dict(i=6, j=20, r=3, k=16, l=12, m=5, n=4),
    "full": dict(i=500, j=1000, r=3, k=1024, l=1024, m=9, n=9),
}
_CHUNK = 1 << 26


def _values(t, first, count):
    """Elements first .. first + count - 1 (C-order positions) of operand t."""
    values = numpy.empty(count, numpy.float32)
    for begin in range(0, count, _CHUNK):  # bounded temporaries at 12 GB
        p = numpy.arange(first + begin, first + min(begin + _CHUNK, count), dtype=numpy.uint64)
        hash_ = (p * numpy.uint64(2654435761) + numpy.uint64(40503 * t)) & numpy.uint64(0xFFFFFFFF)
        values[begin:begin + len(p)] = (
            (hash_ % numpy.uint64(2001)).astype(numpy.int64) - 1000).astype(numpy.float32) / numpy.float32(1000)
    return values


def operands(size, rows=None):
    """The inputs at `size`; with `rows`, only those values of mode i (the
    leading mode of every operand that has it), so a reference for a few rows
    of the output costs little even at the full size."""
    e = SIZES[size]
    arrays = []
    for t, term in enumerate(EXPRESSION.split("->")[0].split(",")):
        shape = tuple(e[mode] for mode in term)
        if rows is None or term[0] != "i":
            arrays.append(_values(t, 0, int(numpy.prod(shape))).reshape(shape))
            continue
        row = int(numpy.prod(shape[1:]))
        arrays.append(numpy.stack([_values(t, i * row, row).reshape(shape[1:]) for i in rows]))
    return arrays


def checked_rows(size):
    """The rows of i the full-size checks compare: all of them when small."""
    count = SIZES[size]["i"]
    return list(range(count)) if size == "small" else [0, count // 2, count - 1]


def reference(arrays):
    """numpy.einsum in float64 along opt_einsum-like pairwise steps."""
    return numpy.einsum(EXPRESSION, *[a.astype(numpy.float64) for a in arrays], optimize=True)


def relative_error(result, expected):
    return float(numpy.abs(result - expected).max() / max(numpy.abs(expected).max(), 1e-300))

"""Shared fixtures: seeded random operands and per-dtype tolerances."""

import zlib

import numpy
import pytest

DTYPES = [numpy.float32, numpy.float64, numpy.complex64, numpy.complex128]

# Relative tolerance against numpy.einsum (which sums in another order):
# einstream's host backend accumulates in double, so single precision
# results differ from numpy's by numpy's own rounding.
TOLERANCE = {
    numpy.dtype(numpy.float32): 2e-5,
    numpy.dtype(numpy.complex64): 2e-5,
    numpy.dtype(numpy.float64): 1e-12,
    numpy.dtype(numpy.complex128): 1e-12,
    # Half precision stores every intermediate rounded to the dtype: about
    # 20 unit roundoffs (2^-11, 2^-8) for the few steps of these tests.
    numpy.dtype(numpy.float16): 1e-2,
    "bfloat16": 8e-2,
}


def random_array(rng, shape, dtype=numpy.float64):
    dtype = numpy.dtype(dtype)
    values = rng.uniform(-1, 1, size=shape)
    if dtype.kind == "c":
        values = values + 1j * rng.uniform(-1, 1, size=shape)
    return values.astype(dtype)


def assert_matches(result, expected, dtype=None):
    """result == expected within dtype's tolerance (dtype may be "bfloat16")."""
    if not (isinstance(dtype, str) and dtype == "bfloat16"):
        dtype = numpy.dtype(dtype or expected.dtype)
    expected = numpy.asarray(expected)
    result = numpy.asarray(result)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    scale = max(1.0, float(numpy.max(numpy.abs(expected), initial=0)))
    numpy.testing.assert_allclose(result, expected, rtol=TOLERANCE[dtype],
                                  atol=TOLERANCE[dtype] * scale)


@pytest.fixture
def rng(request):
    seed = zlib.crc32(request.node.nodeid.encode())
    print(f"seed {seed}")
    return numpy.random.default_rng(seed)

"""einstream.einsum against numpy.einsum on the host backend."""

import logging
import re

import numpy
import pytest

import einstream
from conftest import DTYPES, assert_matches, random_array

CASES = [
    ("ij,jk->ik", [(4, 5), (5, 6)]),
    ("ij,jk", [(4, 5), (5, 6)]),  # implicit output
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 2)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ii->i", [(5, 5)]),
    ("ii", [(5, 5)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ij->", [(3, 4)]),
    ("abc,cd,bde->ae", [(2, 3, 4), (4, 5), (3, 5, 2)]),
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (2, 3, 5, 2)]),
    ("...ij,jk->...ik", [(2, 3, 4), (4, 5)]),
    ("i...,i...->...", [(4, 2, 3), (4, 2, 3)]),
    ("...ij,...jk->...ik", [(1, 3, 4), (2, 4, 5)]),  # size-one batch broadcasts
    ("ij,,jk->ik", [(2, 3), (), (3, 4)]),  # a scalar operand
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda dtype: numpy.dtype(dtype).name)
@pytest.mark.parametrize("formula,shapes", CASES, ids=[case[0] for case in CASES])
def test_matches_numpy(rng, formula, shapes, dtype):
    operands = [random_array(rng, shape, dtype) for shape in shapes]
    result = einstream.einsum(formula, *operands, backend="host")
    assert_matches(result, numpy.einsum(formula, *operands), dtype)


def test_returns_numpy_arrays_and_scalars_like_numpy(rng):
    a = random_array(rng, (3, 4))
    matrix = einstream.einsum("ij,kj->ik", a, a)
    assert type(matrix) is numpy.ndarray and matrix.flags.c_contiguous
    total = einstream.einsum("ij,ij", a, a)
    assert isinstance(total, numpy.float64)
    assert total == pytest.approx(numpy.einsum("ij,ij", a, a))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda dtype: numpy.dtype(dtype).name)
def test_any_strides_without_copies(rng, dtype):
    base = random_array(rng, (8, 10, 6), dtype)
    other = random_array(rng, (12, 10), dtype)
    views = {
        "transposed": (base.transpose(2, 0, 1), other.T),
        "every other": (base[::2, ::3, ::2], other[::3, ::3]),
        "negative": (base[::-1, :, ::-2], other[::-1, ::-1]),
        "fortran": (numpy.asfortranarray(base), numpy.asfortranarray(other)),
    }
    formulas = {
        "transposed": "kij,jl->ikl",
        "every other": "ijk,lj->ilk",
        "negative": "ijk,lj->kli",
        "fortran": "ijk,lj->ikl",
    }
    for name, (x, y) in views.items():
        result = einstream.einsum(formulas[name], x, y, backend="host")
        assert_matches(result, numpy.einsum(formulas[name], x, y), dtype)


def test_broadcast_strides_of_zero(rng):
    row = random_array(rng, (5,))
    broadcast = numpy.broadcast_to(row, (4, 5))
    assert broadcast.strides[0] == 0 and not broadcast.flags.writeable
    b = random_array(rng, (5, 3))
    assert_matches(einstream.einsum("ij,jk->ik", broadcast, b, backend="host"),
                   numpy.einsum("ij,jk->ik", broadcast, b))


def test_read_only_inputs(rng):
    a = random_array(rng, (3, 4))
    a.flags.writeable = False
    assert_matches(einstream.einsum("ij->ji", a, backend="host"), a.T)


def test_lists_and_python_scalars_go_through_numpy():
    assert_matches(einstream.einsum("i,i", [1.0, 2.0], [3.0, 4.0]), numpy.float64(11.0))
    assert_matches(einstream.einsum("i,->i", numpy.arange(3.0), 2.0), numpy.arange(3.0) * 2)


def test_interleaved_sublists_like_numpy(rng):
    a, b = random_array(rng, (3, 4)), random_array(rng, (4, 5))
    assert_matches(einstream.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b)
    assert_matches(einstream.einsum(a, [Ellipsis, 1], b, [1, 2]),
                   numpy.einsum(a, [Ellipsis, 1], b, [1, 2]))


def test_sublists_with_more_modes_than_letters(rng):
    # A chain of 60 matrices has 61 distinct modes, past a-z and A-Z: they are
    # labelled as opt_einsum.get_symbol labels them.
    chain = [random_array(rng, (2, 2)) for _ in range(60)]
    arguments = []
    for index, matrix in enumerate(chain):
        arguments += [matrix, [index, index + 1]]
    expected = chain[0]
    for matrix in chain[1:]:
        expected = expected @ matrix
    assert_matches(einstream.einsum(*arguments, [0, 60], backend="host"), expected)
    assert_matches(einstream.einsum(*arguments, backend="host"), expected)


def test_out_any_strides(rng):
    a, b = random_array(rng, (4, 5)), random_array(rng, (5, 6))
    out = numpy.zeros((6, 4)).T  # Fortran order
    assert einstream.einsum("ij,jk->ik", a, b, out=out) is out
    assert_matches(out, a @ b)
    backwards = numpy.zeros((4, 12))[:, ::-2]
    einstream.einsum("ij,jk->ik", a, b, out=backwards)
    assert_matches(backwards, a @ b)


def test_out_must_match_the_result(rng):
    a, b = random_array(rng, (4, 5)), random_array(rng, (5, 6))
    with pytest.raises(ValueError, match="out is f64"):
        einstream.einsum("ij,jk->ik", a, b, out=numpy.zeros((4, 5)))
    with pytest.raises(ValueError, match="out is f32"):
        einstream.einsum("ij,jk->ik", a, b, out=numpy.zeros((4, 6), numpy.float32))
    frozen = numpy.zeros((4, 6))
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        einstream.einsum("ij,jk->ik", a, b, out=frozen)


def test_out_that_overlaps_an_input_is_refused(rng):
    a = random_array(rng, (4, 4))
    with pytest.raises(einstream.Error, match="overlaps input 0"):
        einstream.einsum("ij->ji", a, out=a)


def test_memory_limit_in_bytes_slices_on_the_host_backend(rng):
    x, y = random_array(rng, (40, 30)), random_array(rng, (30, 50))
    z = random_array(rng, (50, 20))
    expected = numpy.einsum("ij,jk,kl->il", x, y, z)
    whole = einstream.Plan("ij,jk,kl->il", x, y, z, backend="host")
    assert_matches(whole(x, y, z), expected)
    assert whole.last_report.blocks == 1
    for limit in (4096, "4KiB", "6000B"):
        sliced = einstream.Plan("ij,jk,kl->il", x, y, z, backend="host", memory_limit=limit)
        assert_matches(sliced(x, y, z), expected)
        assert sliced.last_report.blocks > 1, limit
        assert "slic" in sliced.explain().lower()
    assert_matches(einstream.einsum("ij,jk,kl->il", x, y, z, backend="host",
                                    memory_limit=4096), expected)


def test_memory_limit_forms():
    assert str(einstream.MemoryLimit.parse("4GiB")) == str(einstream.MemoryLimit.from_bytes(4 << 30))
    a = numpy.ones((2, 2))
    for limit in (0.5, 1.0, "90%", "0.9", "1GiB", 2**20, numpy.float64(0.25)):
        assert_matches(einstream.einsum("ij->", a, memory_limit=limit), numpy.float64(4))
    with pytest.raises(ValueError, match="too few"):
        einstream.einsum("ij->", a, memory_limit=1)
    with pytest.raises(ValueError):
        einstream.einsum("ij->", a, memory_limit="lots")
    with pytest.raises(ValueError):
        einstream.einsum("ij->", a, memory_limit=1.5)
    with pytest.raises(TypeError):
        einstream.einsum("ij->", a, memory_limit=[1])


def test_old_tool_example_scaled_down(rng):
    # The old tool's headline example, jrl,ijr,ijrk,ijrl,ikmn->imn, with
    # j=1000, r=3, l=1024, i=500, k=1024, m=n=9 divided down to seconds.
    j, r, l, i, k, m, n = 12, 3, 16, 10, 16, 9, 9
    shapes = [(j, r, l), (i, j, r), (i, j, r, k), (i, j, r, l), (i, k, m, n)]
    operands = [random_array(rng, shape, numpy.float32) for shape in shapes]
    formula = "jrl,ijr,ijrk,ijrl,ikmn->imn"
    expected = numpy.einsum(formula, *[operand.astype(numpy.float64) for operand in operands])
    result = einstream.einsum(formula, *operands, cuda_device="cpu", cuda_mem_limit=0.9,
                              async_computation=True)
    assert result.dtype == numpy.float32
    assert_matches(result, expected.astype(numpy.float32), numpy.float32)
    sliced = einstream.einsum(formula, *operands, backend="host", cuda_mem_limit="64KiB")
    assert_matches(sliced, expected.astype(numpy.float32), numpy.float32)


def test_old_tool_keywords_are_aliases(rng):
    a = random_array(rng, (3, 4))
    expected = a @ a.T
    for device in ("cuda:0", 0, "cuda", "cpu"):
        if device != "cpu" and einstream.cuda_enabled() and einstream.devices():
            continue  # these would run on the GPU; tests/test_gpu.py covers that
        result = einstream.einsum("ij,kj->ik", a, a, cuda_device=device, cuda_mem_limit=0.5,
                                  async_computation=False)
        assert_matches(result, expected)
    with pytest.raises(TypeError, match="both memory_limit and its alias cuda_mem_limit"):
        einstream.einsum("ij->", a, memory_limit=0.5, cuda_mem_limit=0.5)
    with pytest.raises(TypeError, match="both device and its alias cuda_device"):
        einstream.einsum("ij->", a, device=0, cuda_device=0)
    with pytest.raises(ValueError, match="not a CUDA device"):
        einstream.einsum("ij->", a, cuda_device="tpu:0")
    with pytest.raises(ValueError, match="contradicts"):
        einstream.einsum("ij->", a, cuda_device="cpu", backend="cuda")


@pytest.mark.parametrize("path", ["auto", "naive", "greedy", "optimal", "dp", "random-greedy",
                                  "random_greedy"])
def test_path_algorithms(rng, path):
    shapes = [(3, 4), (4, 5), (5, 6), (6, 3)]
    operands = [random_array(rng, shape) for shape in shapes]
    assert_matches(einstream.einsum("ij,jk,kl,lm->im", *operands, path=path),
                   numpy.einsum("ij,jk,kl,lm->im", *operands))


def test_errors_map_to_python_exceptions(rng):
    a = random_array(rng, (3, 4))
    with pytest.raises(ValueError) as parse:
        einstream.einsum("ij,jk->ik)", a, a)
    assert isinstance(parse.value, einstream.ParseError)
    assert isinstance(parse.value, einstream.Error) and isinstance(parse.value, RuntimeError)
    assert parse.value.expression == "ij,jk->ik)" and parse.value.position >= 0
    with pytest.raises(einstream.ShapeError) as shape:
        einstream.einsum("ij,jk->ik", a, a)  # j is 4 in one operand, 3 in the other
    assert isinstance(shape.value, ValueError)
    assert "4" in str(shape.value) and "3" in str(shape.value)
    with pytest.raises(einstream.ShapeError, match="data type"):
        einstream.einsum("ij,jk->ik", a, a.T.astype(numpy.float32))
    with pytest.raises(ValueError, match="backend"):
        einstream.einsum("ij->", a, backend="gpu")
    with pytest.raises(ValueError, match="path"):
        einstream.einsum("ij->", a, path="fastest")
    with pytest.raises(TypeError, match="int64"):
        einstream.einsum("ij->", numpy.ones((2, 2), numpy.int64))
    with pytest.raises(TypeError, match="float16 or bfloat16"):
        einstream.einsum("ij->", numpy.ones((2, 2), numpy.int32))
    with pytest.raises(TypeError, match=r"operand 0 \(object\) is not an array"):
        einstream.einsum("ij->", object())
    swapped = a.astype(a.dtype.newbyteorder("S"))
    with pytest.raises(TypeError, match=r"operand 1 has dtype [<>]f8, in non-native byte order"):
        einstream.einsum("ij,ij->", a, swapped)
    with pytest.raises(TypeError, match=r"out has dtype [<>]f8, in non-native byte order"):
        einstream.einsum("ij->i", a, out=numpy.zeros(3, swapped.dtype))
    assert issubclass(einstream.MemoryError, MemoryError)
    assert issubclass(einstream.MemoryError, einstream.Error)
    assert issubclass(einstream.CudaError, RuntimeError)


def test_memory_error_is_a_memory_error(rng):
    # An intermediate cap no path can meet.
    x, y = random_array(rng, (30, 40)), random_array(rng, (50, 60))
    try:
        einstream.contract_path("ij,kl->ijkl", x, y, backend="host", memory_limit="1KiB")
    except MemoryError as error:
        assert isinstance(error, einstream.MemoryError)
        assert error.bytes_needed > error.bytes_available
    else:
        pytest.skip("the planner fits this output under 1 KiB by slicing; nothing to map")


def test_logging_at_debug(rng, caplog):
    a = random_array(rng, (3, 4))
    with caplog.at_level(logging.DEBUG, logger="einstream"):
        einstream.einsum("ij,kj->ik", a, a)
    messages = [record.getMessage() for record in caplog.records if record.name == "einstream"]
    assert any("plan for 'ij,kj->ik'" in message and "FLOPs" in message
               for message in messages)
    # The default backend is the GPU where the package has one.
    assert any(re.search(r"execution: (host|cuda) backend", message) for message in messages)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="einstream"):
        einstream.einsum("ij,kj->ik", a, a)
    assert not [record for record in caplog.records if record.name == "einstream"]


def test_devices_and_version():
    listed = einstream.devices()
    assert isinstance(listed, list)
    if not einstream.cuda_enabled():
        assert listed == []
    for device in listed:
        assert device.total_memory > 0 and device.name
    assert einstream.__version__.count(".") == 2

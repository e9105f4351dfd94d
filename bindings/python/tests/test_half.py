"""Half precision: numpy float16, ml_dtypes' bfloat16 (where installed) and
torch float16/bfloat16 tensors on the host backend, and the dtype names."""

import sys

import numpy
import pytest

import einstream
from conftest import assert_matches, random_array


def test_numpy_float16_in_float16_out(rng):
    a = random_array(rng, (4, 5, 3), numpy.float16)
    b = random_array(rng, (3, 6), numpy.float16)
    result = einstream.einsum("ijk,kl->lij", a, b, backend="host")
    assert isinstance(result, numpy.ndarray) and result.dtype == numpy.float16
    expected = numpy.einsum("ijk,kl->lij", a.astype(numpy.float64), b.astype(numpy.float64))
    assert_matches(result.astype(numpy.float64), expected, numpy.float16)


def test_float16_chain_strides_and_out(rng):
    a = random_array(rng, (6, 8), numpy.float16)[::2]
    b = random_array(rng, (8, 5), numpy.float16).T.copy().T
    c = random_array(rng, (5, 4), numpy.float16)
    out = numpy.empty((4, 3), numpy.float16).T
    assert einstream.einsum("ij,jk,kl->il", a, b, c, out=out, backend="host") is out
    wide = [x.astype(numpy.float64) for x in (a, b, c)]
    assert_matches(out.astype(numpy.float64), numpy.einsum("ij,jk,kl->il", *wide), numpy.float16)


@pytest.mark.parametrize("name", ["f16", "float16", numpy.float16])
def test_float16_names(name):
    plan = einstream.Plan("ij,jk->ik", (4, 5), (5, 6), dtype=name, backend="host")
    assert plan.dtype == numpy.float16
    _, info = einstream.contract_path("ij,jk->ik", (4, 5), (5, 6), dtype=name)
    assert info.largest_intermediate == 24


@pytest.mark.parametrize("name", ["bf16", "bfloat16"])
def test_bfloat16_names_plan_without_numpy_arrays(name):
    plan = einstream.Plan("ij,jk->ik", (4, 5), (5, 6), dtype=name, backend="host")
    assert plan.shape == (4, 6)
    _, info = einstream.contract_path("ij,jk->ik", (4, 5), (5, 6), dtype=name)
    assert info.path == [(0, 1)]


def test_bfloat16_dtype_without_ml_dtypes_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # import raises ImportError
    plan = einstream.Plan("ij->i", (2, 3), dtype="bf16", backend="host")
    with pytest.raises(TypeError, match="numpy has no bfloat16: install ml_dtypes"):
        plan.dtype


def test_ml_dtypes_bfloat16_arrays(rng):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = random_array(rng, (4, 5), numpy.float32).astype(ml_dtypes.bfloat16)
    b = random_array(rng, (5, 6), numpy.float32).astype(ml_dtypes.bfloat16)[:, ::-1]
    result = einstream.einsum("ij,jk->ki", a, b, backend="host")
    assert result.dtype == numpy.dtype(ml_dtypes.bfloat16)
    expected = numpy.einsum("ij,jk->ki", a.astype(numpy.float64), b.astype(numpy.float64))
    assert_matches(result.astype(numpy.float64), expected, "bfloat16")


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_torch_half_in_half_out(dtype_name):
    torch = pytest.importorskip("torch")
    dtype = getattr(torch, dtype_name)
    generator = torch.Generator().manual_seed(11)
    a = torch.rand(4, 5, 3, generator=generator).mul(2).sub(1).to(dtype)
    b = torch.rand(3, 6, generator=generator).mul(2).sub(1).to(dtype)
    result = einstream.einsum("ijk,kl->lij", a, b, backend="host")
    assert isinstance(result, torch.Tensor) and result.dtype == dtype
    expected = torch.einsum("ijk,kl->lij", a.double(), b.double())
    assert_matches(result.double().numpy(), expected.numpy(),
                   "bfloat16" if dtype_name == "bfloat16" else numpy.float16)
    # A plan from shapes and a torch dtype, called with a strided view and out=.
    plan = einstream.Plan("ij,jk->ik", (4, 5), (5, 6), dtype=dtype, backend="host")
    c = torch.rand(6, 5, generator=generator).to(dtype).t()
    out = torch.empty(4, 6, dtype=dtype)
    assert plan(a[:, :, 0], c, out=out) is out
    assert_matches(out.double().numpy(), (a[:, :, 0].double() @ c.double()).numpy(),
                   "bfloat16" if dtype_name == "bfloat16" else numpy.float16)

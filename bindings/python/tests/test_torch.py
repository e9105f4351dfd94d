"""torch tensors in host memory (CUDA tensors: test_gpu.py)."""

import numpy
import pytest

import einstream
from conftest import assert_matches

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex64,
                                   torch.complex128])
def test_torch_in_torch_out(dtype):
    generator = torch.Generator().manual_seed(7)
    a = torch.randn(4, 5, 3, generator=generator, dtype=dtype)
    b = torch.randn(3, 6, generator=generator, dtype=dtype)
    result = einstream.einsum("ijk,kl->lij", a, b, backend="host")
    assert isinstance(result, torch.Tensor) and result.dtype == dtype
    assert result.device.type == "cpu"
    expected = torch.einsum("ijk,kl->lij", a, b)
    assert_matches(result.numpy(), expected.numpy())


def test_torch_views_grad_and_conj():
    a = torch.randn(6, 8, dtype=torch.float64, requires_grad=True)
    b = torch.randn(8, 4, dtype=torch.float64)
    result = einstream.einsum("ij,jk->ik", a.t().t()[::2], b)
    assert_matches(result.numpy(), (a.detach()[::2] @ b).numpy())
    transposed = einstream.einsum("ji,jk->ik", a.detach().t(), b)
    assert_matches(transposed.numpy(), (a.detach() @ b).numpy())
    c = torch.randn(3, 3, dtype=torch.complex128)
    assert_matches(einstream.einsum("ij->ji", c.conj()).numpy(), c.conj().t().resolve_conj().numpy())


def test_torch_out_and_plan():
    a = torch.randn(4, 5, dtype=torch.float32)
    b = torch.randn(5, 6, dtype=torch.float32)
    out = torch.empty(6, 4, dtype=torch.float32).t()
    plan = einstream.Plan("ij,jk->ik", a, b)
    assert plan(a, b, out=out) is out
    assert_matches(out.numpy(), (a.double() @ b.double()).float().numpy(), numpy.float32)


def test_numpy_first_operand_gives_numpy():
    a = numpy.ones((2, 3))
    b = torch.ones(3, 2, dtype=torch.float64)
    assert isinstance(einstream.einsum("ij,jk->ik", a, b), numpy.ndarray)
    assert isinstance(einstream.einsum("jk,ij->ik", b, a), torch.Tensor)

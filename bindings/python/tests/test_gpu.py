"""The CUDA backend with numpy (host), torch and CuPy (device) operands.

Skipped unless this einstream was built with CUDA and sees a GPU.
"""

import numpy
import pytest

import einstream
from conftest import DTYPES, assert_matches, random_array

pytestmark = pytest.mark.skipif(
    not (einstream.cuda_enabled() and einstream.devices()),
    reason="needs einstream built with CUDA (EINSTREAM_ENABLE_CUDA=ON) and a visible GPU",
)

FORMULA = "abc,cd,bde->ae"
SHAPES = [(20, 30, 40), (40, 50), (30, 50, 10)]


def _expected(operands):
    return numpy.einsum(FORMULA, *operands)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda dtype: numpy.dtype(dtype).name)
def test_numpy_operands_on_the_cuda_backend(rng, dtype):
    operands = [random_array(rng, shape, dtype) for shape in SHAPES]
    result = einstream.einsum(FORMULA, *operands, backend="cuda")
    assert isinstance(result, numpy.ndarray)
    assert_matches(result, _expected(operands), dtype)


def test_numpy_operands_stream_under_a_small_limit(rng):
    operands = [random_array(rng, shape, numpy.float32) for shape in [(64, 256, 128),
                                                                      (128, 96),
                                                                      (256, 96, 32)]]
    plan = einstream.Plan(FORMULA, *operands, backend="cuda", memory_limit="2MiB")
    assert_matches(plan(*operands), numpy.einsum(FORMULA, *[o.astype(numpy.float64)
                                                            for o in operands]).astype(
        numpy.float32), numpy.float32)
    report = plan.last_report
    assert report.backend == "cuda" and report.blocks > 1 and report.bytes_to_device > 0
    assert plan(*[operand[::-1][::-1] for operand in operands]).shape == (64, 32)


def test_strided_numpy_operands_on_the_cuda_backend(rng):
    a = random_array(rng, (40, 30, 20))
    b = random_array(rng, (50, 30))
    views = (a[::-2, :, ::3].transpose(2, 0, 1), b[::2].T)
    result = einstream.einsum("kij,jl->ikl", *views, cuda_device="cuda:0")
    assert_matches(result, numpy.einsum("kij,jl->ikl", *views))


def test_old_tool_example_on_the_gpu(rng):
    j, r, l, i, k, m, n = 100, 3, 128, 50, 128, 9, 9
    shapes = [(j, r, l), (i, j, r), (i, j, r, k), (i, j, r, l), (i, k, m, n)]
    operands = [random_array(rng, shape, numpy.float32) for shape in shapes]
    formula = "jrl,ijr,ijrk,ijrl,ikmn->imn"
    expected = numpy.einsum(formula, *[operand.astype(numpy.float64) for operand in operands],
                            optimize=True).astype(numpy.float32)
    result = einstream.einsum(formula, *operands, cuda_device="cuda:0", cuda_mem_limit="16MiB",
                              async_computation=True)
    numpy.testing.assert_allclose(result, expected, rtol=1e-3,
                                  atol=1e-3 * numpy.abs(expected).max())


torch = None
try:
    import torch
except ImportError:
    pass


@pytest.mark.skipif(torch is None or not torch.cuda.is_available(), reason="needs torch with CUDA")
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
def test_torch_cuda_tensors_in_and_out(dtype):
    torch_dtype = getattr(torch, dtype)
    generator = torch.Generator(device="cuda").manual_seed(3)
    operands = [torch.randn(*shape, dtype=torch_dtype, device="cuda", generator=generator)
                for shape in SHAPES]
    result = einstream.einsum(FORMULA, *operands)
    assert isinstance(result, torch.Tensor) and result.device.type == "cuda"
    expected = torch.einsum(FORMULA, *operands)
    assert_matches(result.cpu().numpy(), expected.cpu().numpy())
    # Transposed and sliced device views, written by a kernel just before.
    a = torch.randn(64, 48, device="cuda", dtype=torch_dtype) * 2
    b = torch.randn(32, 48, device="cuda", dtype=torch_dtype)
    out = torch.empty(32, 32, device="cuda", dtype=torch_dtype).t()
    einstream.einsum("ij,kj->ik", a[::2], b, out=out)
    assert_matches(out.cpu().numpy(), (a[::2] @ b.t()).cpu().numpy())


@pytest.mark.skipif(torch is None or not torch.cuda.is_available(), reason="needs torch with CUDA")
def test_repeated_calls_on_the_same_tensors_replay_a_graph():
    generator = torch.Generator(device="cuda").manual_seed(5)
    operands = [torch.randn(*shape, dtype=torch.float64, device="cuda", generator=generator)
                for shape in SHAPES]
    out = torch.empty(20, 10, dtype=torch.float64, device="cuda")
    expected = torch.einsum(FORMULA, *operands).cpu().numpy()
    for graph_replay in (True, False):
        plan = einstream.Plan(FORMULA, *operands, graph_replay=graph_replay)
        replayed = []
        for _ in range(3):
            plan(*operands, out=out)
            replayed.append(plan.last_report.graph_replayed)
            assert_matches(out.cpu().numpy(), expected)
        # Captured at the second call of the same arrays, replayed from then on.
        assert replayed == ([False, True, True] if graph_replay else [False] * 3)


@pytest.mark.skipif(torch is None or not torch.cuda.is_available(), reason="needs torch with CUDA")
def test_torch_cpu_tensors_on_the_cuda_backend():
    a = torch.randn(30, 40, dtype=torch.float64)
    b = torch.randn(40, 20, dtype=torch.float64)
    result = einstream.einsum("ij,jk->ik", a, b, backend="cuda")
    assert isinstance(result, torch.Tensor) and result.device.type == "cpu"
    assert_matches(result.numpy(), (a @ b).numpy())


@pytest.mark.skipif(torch is None or not torch.cuda.is_available(), reason="needs torch with CUDA")
def test_torch_cuda_plan_reuse_and_host_backend_refusal():
    a = torch.randn(16, 8, device="cuda")
    b = torch.randn(8, 4, device="cuda")
    plan = einstream.Plan("ij,jk->ik", a, b)
    assert plan.backend == "cuda"
    for _ in range(3):
        a.normal_()
        assert_matches(plan(a, b).cpu().numpy(), (a.double() @ b.double()).float().cpu().numpy(),
                       numpy.float32)
    with pytest.raises(ValueError, match="backend='host'"):
        einstream.einsum("ij,jk->ik", a, b, backend="host")
    with pytest.raises(ValueError, match="device='cpu'"):
        einstream.einsum("ij,jk->ik", a, b, cuda_device="cpu")


cupy = None
try:
    import cupy
except ImportError:
    pass


@pytest.mark.skipif(cupy is None, reason="needs CuPy")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda dtype: numpy.dtype(dtype).name)
def test_cupy_arrays_in_and_out(rng, dtype):
    operands = [random_array(rng, shape, dtype) for shape in SHAPES]
    on_device = [cupy.asarray(operand) for operand in operands]
    result = einstream.einsum(FORMULA, *on_device)
    assert isinstance(result, cupy.ndarray)
    assert_matches(cupy.asnumpy(result), _expected(operands), dtype)
    view = on_device[0][::-1, :, ::2]
    assert_matches(cupy.asnumpy(einstream.einsum("abc->cab", view)),
                   operands[0][::-1, :, ::2].transpose(2, 0, 1), dtype)


def test_two_pipelines_on_one_gpu_share_the_blocks(rng):
    # devices=[0, 0]: two pipelines on device 0, each a share of the blocks,
    # their partial outputs combined on the host (NCCL needs distinct GPUs).
    operands = [random_array(rng, shape, numpy.float64) for shape in [(64, 256, 128),
                                                                      (128, 96),
                                                                      (256, 96, 32)]]
    plan = einstream.Plan(FORMULA, *operands, backend="cuda", memory_limit="2MiB",
                          devices=[0, 0])
    assert_matches(plan(*operands), numpy.einsum(FORMULA, *operands), numpy.float64)
    report = plan.last_report
    assert len(report.devices) == 2 and report.blocks > 1
    assert report.combined_with in ("host", ""), report.combined_with
    assert all(device.blocks > 0 for device in report.devices), str(report)

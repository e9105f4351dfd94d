"""einstream: Einstein summation for tensors larger than the GPU.

    import einstream
    c = einstream.einsum("ij,jk->ik", a, b)          # numpy, torch or CuPy arrays
    c = einstream.einsum("jrl,ijr->il", x, y, memory_limit="4GiB")
    plan = einstream.Plan("ij,jk->ik", a, b)          # plan once, call many times
    path, info = einstream.contract_path("ij,jk,kl->il", a, b, c)
    print(info)                                       # the plan, step by step

einsum() accepts the old tool's keyword names (cuda_device, cuda_mem_limit,
async_computation). Plans (path search, slicing, residency, workspace,
explain()) and executions (start, progress about once a second, end, transfers
and timings) are logged at DEBUG level under the logger "einstream", warnings
and errors at WARNING and ERROR; the logger's level when a Plan is made
decides what the library sends.
"""

import logging as _logging

from ._einstream import (
    CudaError,
    Error,
    MemoryError,  # noqa: A004 - einstream.MemoryError is also a builtins.MemoryError
    MemoryLimit,
    ParseError,
    ShapeError,
    cuda_enabled,
)
from ._einstream import devices as _devices
from ._einstream import version as _version
from ._plan import PathInfo, Plan, contract_path, einsum

__version__ = _version()

_logging.getLogger("einstream").addHandler(_logging.NullHandler())


def devices():
    """The GPUs einstream can use: Device objects with index, name, total_memory,
    free_memory and compute_capability; empty without a GPU or a CUDA build."""
    return _devices()


__all__ = [
    "CudaError",
    "Error",
    "MemoryError",
    "MemoryLimit",
    "ParseError",
    "PathInfo",
    "Plan",
    "ShapeError",
    "contract_path",
    "cuda_enabled",
    "devices",
    "einsum",
]

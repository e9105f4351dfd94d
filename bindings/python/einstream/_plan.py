"""einstream.Plan, einsum and contract_path over the C++ Plan."""

import logging
import threading

import numpy

from . import _einstream, _operands, _options
from ._operands import Operand

log = logging.getLogger("einstream")

# C++ plans one Python Plan keeps for operands of different strides.
_PLANS_KEPT = 8
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _symbol(index):
    """The label of the index-th distinct mode, as opt_einsum.get_symbol writes it:
    a-z, A-Z, then code points from U+00C0 on (skipping the surrogates)."""
    if index < len(_LETTERS):
        return _LETTERS[index]
    if index >= 55296:
        return chr(index + 2048)
    return chr(index + 140)


def _interleaved_formula(arguments):
    """numpy's einsum(op0, sublist0, op1, sublist1, ..., [sublist_out]) as a formula."""
    letters = {}

    def term(sublist):
        text = ""
        for mode in sublist:
            if mode is Ellipsis:
                text += "..."
                continue
            if mode not in letters:
                letters[mode] = _symbol(len(letters))
            text += letters[mode]
        return text

    arguments = list(arguments)
    output = arguments.pop() if len(arguments) % 2 == 1 else None
    operands = arguments[0::2]
    formula = ",".join(term(sublist) for sublist in arguments[1::2])
    if output is not None:
        formula += "->" + term(output)
    return formula, operands


def _split_formula(formula, operands):
    if isinstance(formula, str):
        return formula, operands
    return _interleaved_formula((formula,) + tuple(operands))


def _c_order_operand(shape, dtype, what):
    if not all(isinstance(extent, (int, numpy.integer)) for extent in shape):
        raise TypeError(f"{what}: a shape is a tuple of ints, got {shape!r}")
    return Operand.of_shape(tuple(int(extent) for extent in shape), dtype)


def _describe_all(operands, dtype, what="operand"):
    """Operands from arrays or (where shapes are allowed) tuples of ints."""
    described = []
    shape_positions = []
    for position, operand in enumerate(operands):
        if isinstance(operand, tuple):
            described.append(None)
            shape_positions.append(position)
        else:
            described.append(Operand(operand, f"{what} {position}"))
    if shape_positions:
        if dtype is None:
            arrays = [operand for operand in described if operand is not None]
            dtype = arrays[0].dtype if arrays else "f64"
        dtype = _operands.dtype_name(dtype)
        for position in shape_positions:
            described[position] = _c_order_operand(operands[position], dtype,
                                                   f"{what} {position}")
    return described


def _resolve_place(operands, device_argument, backend):
    """(device index, backend) from the device argument and where the operands are."""
    index, wants_host = _options.device(device_argument)
    on_device = [(position, operand) for position, operand in enumerate(operands)
                 if operand is not None and operand.on_device]
    if wants_host:
        if backend == "cuda":
            raise ValueError("device='cpu' contradicts backend='cuda'")
        if on_device:
            position, operand = on_device[0]
            raise ValueError(f"device='cpu' but operand {position} is on cuda:{operand.device}")
        return None, "host"
    if not on_device:
        return index, backend
    devices = sorted({operand.device for _, operand in on_device})
    if len(devices) > 1:
        raise ValueError(f"operands on several CUDA devices ({devices}); einstream uses one")
    if index is not None and index != devices[0]:
        raise ValueError(f"device={index} but the operands are on cuda:{devices[0]}")
    position = on_device[0][0]
    if backend == "host":
        raise ValueError(f"backend='host' reads host memory, but operand {position} is in CUDA "
                         f"device memory (cuda:{devices[0]})")
    if not _einstream.cuda_enabled():
        raise _einstream.Error(
            f"operand {position} is in CUDA device memory, but this einstream was built without "
            "its CUDA backend (EINSTREAM_ENABLE_CUDA=OFF); see the README's Python section"
        )
    return devices[0], "cuda"


def _layout_operand(out_operand):
    """The out operand whose strides a plan needs: None for a C-order one, which
    the plan for the C-order result serves."""
    if out_operand is None:
        return None
    c_order = Operand.of_shape(out_operand.shape, out_operand.dtype)
    return None if out_operand.layout_key() == c_order.layout_key() else out_operand


class PathInfo:
    """A contraction path and its cost; printing it gives the plan's explain() text.

    Attributes follow opt_einsum's PathInfo where they mean the same: `path`
    (opt_einsum's list of tuples), `opt_cost` (FLOPs as opt_einsum counts
    them), `largest_intermediate` (elements), `eq` (the formula); `seconds`
    is the time the path search took and `backend` the backend planned for.
    """

    def __init__(self, formula, plan):
        info = plan.path_info
        self.eq = formula
        self.path = info.path
        self.opt_cost = info.flops
        self.largest_intermediate = info.largest_intermediate
        self.seconds = info.seconds
        self.backend = plan.backend
        self._explain = plan.explain()

    def __str__(self):
        return self._explain

    def __repr__(self):
        return (f"PathInfo(eq={self.eq!r}, path={self.path!r}, opt_cost={self.opt_cost:.6g}, "
                f"largest_intermediate={self.largest_intermediate:.6g})")


class Plan:
    """An einsum formula planned once for given shapes and dtype, called many times.

        plan = einstream.Plan("ij,jk->ik", (64, 32), (32, 16), dtype="float32")
        c = plan(a, b)                      # c = a @ b, a numpy array for numpy a, b
        plan(a, b, out=c, alpha=2, beta=1)  # c = 2 a @ b + c

    Operands are example arrays (their dtype, shapes, strides and device are
    taken) or shapes as tuples of ints (C order, host memory, `dtype`,
    default float64). A call takes arrays of the planned shapes and dtype in
    any strides; a new layout of strides is planned once and kept. The
    keywords are einsum()'s; `alpha` and `beta` of a call give
    `out = alpha * einsum(...) + beta * out`.

    A Plan may be called from several threads; calls on one Plan run one at
    a time.
    """

    def __init__(self, formula, *operands, out=None, dtype=None, memory_limit=None, device=None,
                 backend="auto", path=None, register_host_memory=False, allow_tf32=False,
                 graph_replay=True, cuda_device=None, cuda_mem_limit=None,
                 async_computation=None, devices=None, optimize=None):
        path = _options.pick("path", path, "optimize", optimize, "auto")
        formula, operands = _split_formula(formula, operands)
        if not operands:
            raise TypeError("a Plan needs at least one operand (an array or a shape tuple)")
        described = _describe_all(operands, dtype)
        if dtype is not None:
            wanted = _operands.dtype_name(dtype)
            for position, operand in enumerate(described):
                if operand.dtype != wanted:
                    raise _einstream.ShapeError(
                        f"operand {position} has dtype {operand.dtype} but dtype={dtype} was "
                        "given")
        out_operand = None if out is None else Operand(out, "out")
        self._setup(formula, described, out_operand, memory_limit, device, backend, path,
                    register_host_memory, allow_tf32, graph_replay, cuda_device, cuda_mem_limit,
                    devices)

    @classmethod
    def _for(cls, formula, described, out_operand, *option_values):
        plan = cls.__new__(cls)
        plan._setup(formula, described, out_operand, *option_values)
        return plan

    def _setup(self, formula, described, out_operand, memory_limit, device, backend, path,
               register_host_memory, allow_tf32, graph_replay, cuda_device, cuda_mem_limit,
               devices=None):
        limit = _options.pick("memory_limit", memory_limit, "cuda_mem_limit", cuda_mem_limit,
                              _options.DEFAULT_MEMORY_LIMIT)
        device = _options.pick("device", device, "cuda_device", cuda_device)
        device_index, wants_host = _options.device(device)
        device_list = _options.devices(devices, device_index)
        if device_list and (wants_host or backend == "host"):
            raise ValueError(f"devices={devices!r} lists CUDA devices, but "
                             f"{'device=' + repr(device) if wants_host else 'backend=' + repr(backend)}"
                             " runs on the host")
        if device_list and device is None:
            device = device_list[0]
        index, backend = _resolve_place(described + [out_operand], device, backend)
        self._formula = formula
        self._options = _options.options(limit, index, backend, path, register_host_memory,
                                         allow_tf32, graph_replay, device_list)
        self._dtype = described[0].dtype
        self._shapes = [operand.shape for operand in described]
        self._plans = {}
        self._lock = threading.Lock()
        self._first = self._plan_for(described, _layout_operand(out_operand))
        self._last = self._first

    def _plan_for(self, described, out_operand):
        key = (tuple(operand.layout_key() for operand in described),
               None if out_operand is None else out_operand.layout_key())
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        plan = _einstream.Plan(self._formula, [operand.desc() for operand in described],
                               None if out_operand is None else out_operand.desc(), self._options)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("plan for %r on %s:\n%s", self._formula,
                      ", ".join(repr(operand.desc()) for operand in described), plan.explain())
        if len(self._plans) >= _PLANS_KEPT:
            self._plans.pop(next(iter(self._plans)))
        self._plans[key] = plan
        return plan

    def __call__(self, *operands, out=None, alpha=1.0, beta=0.0):
        described = [Operand(operand, f"operand {position}")
                     for position, operand in enumerate(operands)]
        return self._run(described, out, alpha, beta)

    def _check(self, described):
        if len(described) != len(self._shapes):
            raise TypeError(f"the plan for {self._formula!r} takes {len(self._shapes)} operands, "
                            f"got {len(described)}")
        for position, operand in enumerate(described):
            if operand.dtype != self._dtype or operand.shape != self._shapes[position]:
                raise _einstream.ShapeError(
                    f"operand {position} is {operand.dtype}{list(operand.shape)} but the plan "
                    f"for {self._formula!r} was made for {self._dtype}"
                    f"{list(self._shapes[position])}")

    def _run(self, described, out, alpha, beta):
        self._check(described)
        result_desc = self._first.output
        out_operand = None
        if out is not None:
            if isinstance(out, numpy.ndarray) and not out.flags.writeable:
                raise ValueError("out is a read-only array")
            out_operand = Operand(out, "out")
            if out_operand.dtype != result_desc.dtype or \
                    list(out_operand.shape) != list(result_desc.extents):
                raise _einstream.ShapeError(
                    f"out is {out_operand.dtype}{list(out_operand.shape)} but the result of "
                    f"{self._formula!r} is {result_desc.dtype}{list(result_desc.extents)}")
        elif beta != 0:
            raise ValueError("beta != 0 adds to out, so it needs out=")
        on_device = [operand for operand in described + [out_operand]
                     if operand is not None and operand.on_device]
        if on_device and self._first.backend != "cuda":
            raise ValueError(f"the plan runs on the {self._first.backend} backend, which reads "
                             "host memory, but an operand is in CUDA device memory")
        for operand in on_device:
            if operand.device != self._options.device:
                raise ValueError(f"the plan runs on cuda:{self._options.device}, but an operand "
                                 f"is on cuda:{operand.device}")
        with self._lock:
            plan = self._plan_for(described, _layout_operand(out_operand))
            self._last = plan
            if out_operand is None:
                device = on_device[0].device if on_device else None
                framework = _operands.result_framework(described, device is not None)
                out = _operands.allocate(framework, tuple(result_desc.extents), result_desc.dtype,
                                         device)
                out_operand = Operand(out, "the result")
                fresh = True
            else:
                fresh = False
            _operands.synchronize(described + [out_operand])
            plan.execute([operand.address for operand in described], out_operand.address,
                         complex(alpha), complex(beta))
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%r: %s", self._formula, str(plan.last_report).rstrip())
        if fresh and isinstance(out, numpy.ndarray) and out.ndim == 0:
            return out[()]  # numpy.einsum gives a scalar for a full contraction
        return out

    @property
    def formula(self):
        return self._formula

    @property
    def dtype(self):
        """The operands' dtype as numpy names it (bfloat16: ml_dtypes', else TypeError)."""
        return _operands.numpy_dtype(self._dtype)

    @property
    def shape(self):
        """The result's shape."""
        return tuple(self._first.output.extents)

    @property
    def backend(self):
        """'host' or 'cuda': where calls run."""
        return self._first.backend

    @property
    def path(self):
        """The contraction path in opt_einsum's format (a list of tuples)."""
        return self._first.path_info.path

    @property
    def info(self):
        """A PathInfo of the path; print it for the plan's explain() text."""
        return PathInfo(self._formula, self._first)

    @property
    def workspace_bytes(self):
        """Memory one call allocates (host arena, or device bytes on the CUDA backend)."""
        return self._first.workspace_bytes

    @property
    def last_report(self):
        """The ExecutionReport of the last call: blocks, bytes moved, seconds."""
        return self._last.last_report

    def explain(self, detail="summary"):
        """The plan as opt_einsum's PathInfo table: naive and optimized FLOPs,
        speedup, largest intermediate, slicing, residency, backend, then per
        step the contraction, scaling, kind (GEMM, batched GEMM, reduce, ...),
        FLOPs and remaining operands. detail="program" adds the lowered
        program's ops and buffers."""
        return self._first.explain(detail)

    def __repr__(self):
        return (f"einstream.Plan({self._formula!r}, {len(self._shapes)} operands, "
                f"{self._dtype}, backend={self.backend!r})")


def einsum(formula, *operands, out=None, memory_limit=None, device=None, backend="auto",
           path=None, register_host_memory=False, allow_tf32=False, graph_replay=True,
           cuda_device=None, cuda_mem_limit=None, async_computation=None, devices=None,
           optimize=None):
    """Einstein summation, as numpy.einsum, for operands of any size.

    formula: numpy's notation ("ij,jk->ik", "...ij,...jk", implicit output)
        or numpy's interleaved form einsum(a, [0, 1], b, [1, 2], [0, 2]).
    operands: numpy arrays, torch tensors or CuPy arrays, in host or CUDA
        memory and any strides, read without copying; all of one dtype
        (float32, float64, complex64, complex128, float16 or bfloat16: torch
        bfloat16 tensors, or ml_dtypes' bfloat16 arrays where it is
        installed). Half-precision operands accumulate in float32 or wider
        and each intermediate is rounded to their dtype.
    out: an array of the result's shape and dtype, in any strides, to write
        to; else the result is allocated in the operands' framework and
        place (numpy in, numpy out; torch CUDA tensors in, a torch CUDA
        tensor out) and returned.
    memory_limit: device memory einstream may use: a fraction of the device
        (float, default 0.9), bytes (int) or a string ('4GiB', '90%'). On
        the host backend a limit in bytes bounds the intermediates, which
        slices the work.
    device: the CUDA device (0, 'cuda:1', a torch.device; 'cpu' means the
        host backend); default the operands' device, else 0.
    devices: several CUDA devices of this host for one execution ([0, 1],
        'all'; a device may repeat): the blocks are shared among them, each
        under memory_limit, and their partial results combined (with NCCL
        on distinct GPUs where the build has it, else on the host;
        Plan.last_report.devices, .combine_seconds and .combined_with say
        how). CUDA backend only; operands must be in host memory. The
        first is the plan's device (device=, if given, must match it).
    backend: 'auto' (CUDA when built and a GPU is present, else host),
        'host' or 'cuda'.
    path: 'auto', 'naive', 'greedy', 'optimal', 'dp', 'random-greedy' or
        'hyper' (cotengra-style hyper-optimization for large networks); or a
        contraction path to run as it is, without a search, in opt_einsum's
        format: a list of tuples of operand positions (Plan.path,
        opt_einsum.contract_path's, cotengra's tree.get_path() or the tree
        itself, or numpy.einsum_path's list). A step of three or more
        operands is contracted in pairs, in their cheapest order; under
        memory_limit the blocks are sliced along the path as given.
    optimize: numpy's and opt_einsum's name of path (True: 'auto', False:
        'naive'); give one of the two.
    register_host_memory: page-lock host operands for direct DMA.
    allow_tf32: let float32 GEMMs use TF32 tensor cores.
    graph_replay: on the CUDA backend, replay a one-block plan's kernels from
        a CUDA graph when it is called again on the same arrays (one launch
        instead of one per op; Plan.last_report.graph_replayed says so).
    cuda_device, cuda_mem_limit: the old tool's names of device and
        memory_limit. async_computation: accepted and ignored; einstream
        always overlaps transfers with compute and returns when the result
        is written.
    """
    del async_computation  # a no-op: see the docstring
    path = _options.pick("path", path, "optimize", optimize, "auto")
    formula, operands = _split_formula(formula, operands)
    if not operands:
        raise TypeError("einsum needs at least one operand")
    described = [Operand(operand, f"operand {position}")
                 for position, operand in enumerate(operands)]
    out_operand = None if out is None else Operand(out, "out")
    plan = Plan._for(formula, described, out_operand, memory_limit, device, backend, path,
                     register_host_memory, allow_tf32, graph_replay, cuda_device, cuda_mem_limit,
                     devices)
    return plan._run(described, out, 1.0, 0.0)


def contract_path(formula, *operands, dtype=None, memory_limit=None, device=None, backend="auto",
                  path=None, cuda_device=None, cuda_mem_limit=None, optimize=None):
    """The contraction path einsum would take, as opt_einsum.contract_path gives it.

    operands: arrays or shapes (tuples of ints); `dtype` sizes shapes'
    elements (default the arrays', else float64). Returns (path, info):
    path in opt_einsum's format (a list of tuples of operand positions),
    info a PathInfo whose printout is the plan's explain() text.
    """
    path = _options.pick("path", path, "optimize", optimize, "auto")
    formula, operands = _split_formula(formula, operands)
    if not operands:
        raise TypeError("contract_path needs at least one operand or shape")
    described = _describe_all(operands, dtype)
    plan = Plan._for(formula, described, None, memory_limit, device, backend, path, False, False,
                     True, cuda_device, cuda_mem_limit)
    info = plan.info
    return info.path, info

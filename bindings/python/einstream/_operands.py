"""Arrays of any framework as einstream operands, and results allocated in the
operands' framework and place.

numpy arrays, torch tensors and CuPy arrays (and anything else that speaks
DLPack or the buffer protocol) are read through nanobind without copying;
objects that offer only ``__cuda_array_interface__`` are read from that dict;
anything else (lists, Python scalars, ``__array_interface__`` objects) goes
through ``numpy.asarray``.
"""

import numpy

from . import _einstream

# DLPack device types (dlpack.h): host memory, CUDA device memory, pinned
# host memory, CUDA managed memory.
_DLPACK_CPU = 1
_DLPACK_CUDA = 2
_DLPACK_CUDA_HOST = 3
_DLPACK_CUDA_MANAGED = 13
_HOST_DEVICE_TYPES = (_DLPACK_CPU, _DLPACK_CUDA_HOST)
_DEVICE_DEVICE_TYPES = (_DLPACK_CUDA, _DLPACK_CUDA_MANAGED)

# einstream's dtype names and numpy's. numpy has no bfloat16: "bf16" maps to
# ml_dtypes' bfloat16 where ml_dtypes is installed (numpy_dtype()), and is
# otherwise held by torch tensors only.
NUMPY_DTYPES = {
    "f32": numpy.dtype(numpy.float32),
    "f64": numpy.dtype(numpy.float64),
    "c64": numpy.dtype(numpy.complex64),
    "c128": numpy.dtype(numpy.complex128),
    "f16": numpy.dtype(numpy.float16),
}
_EINSTREAM_DTYPES = {dtype: name for name, dtype in NUMPY_DTYPES.items()}
# Names numpy does not know (or knows only with ml_dtypes imported).
_BFLOAT16_NAMES = ("bf16", "bfloat16")
_EXPECTED = "float32, float64, complex64, complex128, float16 or bfloat16"


def _is_bfloat16(dtype):
    """Whether dtype (a numpy dtype, perhaps ml_dtypes', or a name) is bfloat16."""
    if isinstance(dtype, str):
        return dtype in _BFLOAT16_NAMES
    return isinstance(dtype, numpy.dtype) and dtype.name == "bfloat16" and dtype.itemsize == 2


def dtype_name(dtype):
    """einstream's name ('f32', ...) of a numpy/torch/CuPy dtype or dtype name."""
    if isinstance(dtype, str) and dtype in NUMPY_DTYPES:
        return dtype
    if type(dtype).__module__.startswith("torch"):
        dtype = str(dtype)[len("torch."):]  # torch.float32 -> 'float32'
    if _is_bfloat16(dtype):
        return "bf16"
    try:
        dtype = numpy.dtype(dtype)
    except TypeError:
        dtype = None
    if _is_bfloat16(dtype):  # ml_dtypes.bfloat16 given as a type
        return "bf16"
    name = _EINSTREAM_DTYPES.get(dtype)
    if name is None:
        raise TypeError(f"dtype {dtype} is not one einstream computes in: expected {_EXPECTED}")
    return name


def numpy_dtype(name):
    """The numpy dtype of einstream's dtype `name`; bf16 needs ml_dtypes."""
    if name != "bf16":
        return NUMPY_DTYPES[name]
    try:
        import ml_dtypes
    except ImportError:
        raise TypeError(
            "numpy has no bfloat16: install ml_dtypes for numpy bfloat16 arrays, use torch "
            "bfloat16 tensors, or compute in float32 or float16"
        ) from None
    return numpy.dtype(ml_dtypes.bfloat16)


def _framework(array):
    module = type(array).__module__.split(".")[0]
    if module == "torch":
        return "torch"
    if module == "cupy":
        return "cupy"
    return "numpy"


class Operand:
    """One array as einstream sees it: dtype, shape, strides in elements, place."""

    __slots__ = ("source", "framework", "dtype", "shape", "strides", "on_device", "device",
                 "address")

    def __init__(self, array, what):
        given = type(array).__name__
        self.framework = _framework(array)
        if self.framework == "torch":
            # DLPack refuses tensors that need grad or carry lazy conj/neg
            # bits; detaching is free, resolving copies only when a bit is set.
            if array.requires_grad:
                array = array.detach()
            if array.is_conj():
                array = array.resolve_conj()
            if array.is_neg():
                array = array.resolve_neg()
        elif self.framework == "cupy":
            # CuPy 14's DLPack export of negative strides divides the byte
            # stride unsigned (-4800 bytes of f32 reads as 2^62 - 1200); its
            # __cuda_array_interface__ gives signed byte strides.
            self._from_cuda_array_interface(array, what, array.device.id)
            return
        elif self.framework == "numpy" and _is_bfloat16(getattr(array, "dtype", None)):
            # ml_dtypes' bfloat16 speaks neither DLPack nor the buffer
            # protocol: its bits are read through a uint16 view.
            self._from_bfloat16_array(array, what)
            return
        elif self.framework == "numpy" and not isinstance(array, numpy.ndarray):
            if hasattr(array, "__cuda_array_interface__") and not hasattr(array, "__dlpack__"):
                self._from_cuda_array_interface(array, what)
                return
            if not hasattr(array, "__dlpack__"):
                array = numpy.asarray(array)
        if isinstance(array, numpy.ndarray) and not array.dtype.isnative:
            raise TypeError(
                f"{what} has dtype {array.dtype.str}, in non-native byte order: einstream reads "
                "arrays in place, in this machine's byte order (convert it first: "
                "a.astype(a.dtype.newbyteorder('=')))"
            )
        self.source = array
        try:
            dtype, shape, strides, device_type, device, address = _einstream.describe(array)
        except TypeError:
            raise TypeError(
                f"{what} ({given}) is not an array einstream can read: expected "
                "a numpy array, torch tensor, CuPy array or an object with __dlpack__, "
                "__cuda_array_interface__ or __array_interface__"
            ) from None
        if dtype is None:
            raise TypeError(
                f"{what} has dtype {getattr(array, 'dtype', '?')}, which einstream does not "
                f"compute in: expected {_EXPECTED} (cast it first, e.g. a.astype(numpy.float64))"
            )
        if device_type not in _HOST_DEVICE_TYPES + _DEVICE_DEVICE_TYPES:
            raise ValueError(
                f"{what} lives on DLPack device type {device_type}; einstream reads host "
                "memory and CUDA device memory only"
            )
        self.dtype = dtype
        self.shape = tuple(shape)
        self.strides = tuple(strides)
        self.on_device = device_type in _DEVICE_DEVICE_TYPES
        self.device = device if self.on_device else None
        self.address = address

    @classmethod
    def of_shape(cls, shape, dtype):
        """A C-order host operand of that shape and dtype, with no data."""
        operand = cls.__new__(cls)
        operand.source = None
        operand.framework = "numpy"
        operand.dtype = dtype
        operand.shape = tuple(shape)
        operand.strides = tuple(_einstream.TensorDesc(dtype, list(shape)).strides)
        operand.on_device = False
        operand.device = None
        operand.address = 0
        return operand

    def _from_bfloat16_array(self, array, what):
        if not isinstance(array, numpy.ndarray):
            raise TypeError(f"{what}: a bfloat16 array must be a numpy.ndarray (ml_dtypes)")
        bits = array.view(numpy.uint16)
        _, shape, strides, device_type, device, address = _einstream.describe(bits)
        self.source = array
        self.dtype = "bf16"
        self.shape = tuple(shape)
        self.strides = tuple(strides)
        self.on_device = False
        self.device = None
        self.address = address

    def _from_cuda_array_interface(self, array, what, device=None):
        interface = array.__cuda_array_interface__
        if interface.get("mask") is not None:
            raise ValueError(f"{what}: masked __cuda_array_interface__ arrays are not supported")
        dtype = numpy.dtype(interface["typestr"])
        self.dtype = dtype_name(dtype)
        self.shape = tuple(int(extent) for extent in interface["shape"])
        byte_strides = interface.get("strides")
        if byte_strides is None:
            self.strides = tuple(_einstream.TensorDesc(self.dtype, list(self.shape)).strides)
        else:
            if any(stride % dtype.itemsize for stride in byte_strides):
                raise ValueError(f"{what} has strides that are not whole elements")
            self.strides = tuple(stride // dtype.itemsize for stride in byte_strides)
        self.source = array
        self.framework = "cupy"
        self.on_device = True
        self.device = _pointer_device(interface["data"][0]) if device is None else device
        self.address = interface["data"][0]

    def desc(self):
        return _einstream.TensorDesc(self.dtype, list(self.shape), list(self.strides))

    def layout_key(self):
        """The strides a plan depends on: those of axes longer than one."""
        return tuple(stride if extent > 1 else 0 for extent, stride in zip(self.shape, self.strides))


def _pointer_device(address):
    import cupy  # only __cuda_array_interface__ objects get here; CuPy reads their device

    return cupy.cuda.runtime.pointerGetAttributes(address).device


def result_framework(operands, on_device):
    """The framework of the first operand that can hold a result at that place."""
    for operand in operands:
        if not on_device or operand.framework != "numpy":
            return operand.framework
    return "numpy"


def allocate(framework, shape, dtype, device):
    """An uninitialised array of the framework; `device` None means host memory."""
    if framework == "torch":
        import torch

        torch_dtype = torch.bfloat16 if dtype == "bf16" else getattr(torch, NUMPY_DTYPES[dtype].name)
        where = "cpu" if device is None else f"cuda:{device}"
        return torch.empty(shape, dtype=torch_dtype, device=where)
    if framework == "cupy":
        import cupy

        if dtype == "bf16":
            raise TypeError("CuPy has no bfloat16: pass out= (a torch bfloat16 tensor) or "
                            "compute in float32 or float16")
        with cupy.cuda.Device(device):
            return cupy.empty(shape, dtype=NUMPY_DTYPES[dtype])
    return numpy.empty(shape, dtype=numpy_dtype(dtype))


def synchronize(operands):
    """Waits for the work the frameworks queued on their current CUDA streams.

    einstream runs on its own streams; a tensor a torch or CuPy kernel is
    still writing must be finished before einstream reads it, and a freshly
    allocated output block must no longer be in use by an earlier kernel.
    """
    done = set()
    for operand in operands:
        if not operand.on_device or (operand.framework, operand.device) in done:
            continue
        done.add((operand.framework, operand.device))
        if operand.framework == "torch":
            import torch

            torch.cuda.current_stream(operand.device).synchronize()
        elif operand.framework == "cupy":
            import cupy

            with cupy.cuda.Device(operand.device):
                cupy.cuda.get_current_stream().synchronize()

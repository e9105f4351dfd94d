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

# einstream's dtype names and numpy's.
NUMPY_DTYPES = {
    "f32": numpy.dtype(numpy.float32),
    "f64": numpy.dtype(numpy.float64),
    "c64": numpy.dtype(numpy.complex64),
    "c128": numpy.dtype(numpy.complex128),
}
_EINSTREAM_DTYPES = {dtype: name for name, dtype in NUMPY_DTYPES.items()}


def dtype_name(dtype):
    """einstream's name ('f32', ...) of a numpy/torch/CuPy dtype or dtype name."""
    if isinstance(dtype, str) and dtype in NUMPY_DTYPES:
        return dtype
    if type(dtype).__module__.startswith("torch"):
        dtype = str(dtype)[len("torch."):]  # torch.float32 -> 'float32'
    try:
        name = _EINSTREAM_DTYPES.get(numpy.dtype(dtype))
    except TypeError:
        name = None
    if name is None:
        raise TypeError(
            f"dtype {dtype} is not one einstream computes in: expected float32, float64, "
            "complex64 or complex128"
        )
    return name


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
        elif self.framework == "numpy" and not isinstance(array, numpy.ndarray):
            if hasattr(array, "__cuda_array_interface__") and not hasattr(array, "__dlpack__"):
                self._from_cuda_array_interface(array, what)
                return
            if not hasattr(array, "__dlpack__"):
                array = numpy.asarray(array)
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
                "compute in: expected float32, float64, complex64 or complex128 (cast it first, "
                "e.g. a.astype(numpy.float64))"
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

    def _from_cuda_array_interface(self, array, what):
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
        self.device = _pointer_device(interface["data"][0])
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
    numpy_dtype = NUMPY_DTYPES[dtype]
    if framework == "torch":
        import torch

        torch_dtype = getattr(torch, numpy_dtype.name)
        where = "cpu" if device is None else f"cuda:{device}"
        return torch.empty(shape, dtype=torch_dtype, device=where)
    if framework == "cupy":
        import cupy

        with cupy.cuda.Device(device):
            return cupy.empty(shape, dtype=numpy_dtype)
    return numpy.empty(shape, dtype=numpy_dtype)


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

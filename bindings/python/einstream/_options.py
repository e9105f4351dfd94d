"""Keyword arguments to einstream.Options, with the old tool's names as aliases."""

import logging
import numbers

from . import _einstream

# An integer memory limit below this is more likely a mistaken fraction (1
# meaning "the whole device") than a byte count; the C++ parser refuses a
# bare "1" for the same reason.
_SMALLEST_BYTE_LIMIT = 1024
DEFAULT_MEMORY_LIMIT = 0.9


def memory_limit(value):
    """A MemoryLimit from a fraction (float), bytes (int) or text ('4GiB', '90%')."""
    if isinstance(value, _einstream.MemoryLimit):
        return value
    if isinstance(value, bool):
        raise TypeError("memory_limit must be a float fraction, int bytes or a string, not a bool")
    if isinstance(value, numbers.Integral):
        if value < _SMALLEST_BYTE_LIMIT:
            raise ValueError(
                f"memory_limit={value} (an int) means {value} bytes, which is too few to be "
                f"meant: pass a fraction of the device as a float (e.g. {float(value)}) or "
                f"bytes of at least {_SMALLEST_BYTE_LIMIT} (or a string such as '512B')"
            )
        return _einstream.MemoryLimit.from_bytes(int(value))
    if isinstance(value, numbers.Real):
        return _einstream.MemoryLimit.from_fraction(float(value))
    if isinstance(value, str):
        return _einstream.MemoryLimit.parse(value)
    raise TypeError(
        "memory_limit must be a fraction of the device (float, e.g. 0.9), bytes (int) or a "
        f"string such as '4GiB' or '90%', not {type(value).__name__}"
    )


def device(value):
    """(index or None, wants_host) from 0, 'cuda:1', 'cuda', 'cpu' or a torch.device."""
    if value is None:
        return None, False
    if hasattr(value, "type") and hasattr(value, "index") and not isinstance(value, str):
        value = str(value)  # torch.device('cuda', 1) -> 'cuda:1'
    if isinstance(value, bool):
        raise TypeError("device must be an index, 'cuda:N' or 'cpu', not a bool")
    if isinstance(value, numbers.Integral):
        index = int(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text == "cpu":
            return None, True
        if text == "cuda":
            return None, False
        if text.startswith("cuda:"):
            text = text[len("cuda:"):]
        try:
            index = int(text)
        except ValueError:
            raise ValueError(
                f"device {value!r} is not a CUDA device: expected an index, 'cuda', 'cuda:N' "
                "or 'cpu'"
            ) from None
    else:
        raise TypeError(f"device must be an index, 'cuda:N' or 'cpu', not {type(value).__name__}")
    if index < 0:
        raise ValueError(f"device index {index} is negative")
    return index, False


def devices(value, device_index):
    """The device list of Options.devices from None, 'all', an index or a sequence of
    indices ('cuda:N' and torch.device entries too), checked against `device_index`
    (the device argument's index or None): [] when no list is given."""
    if value is None:
        return []
    if isinstance(value, str) and value.strip().lower() == "all":
        listed = [info.index for info in _einstream.devices()]
        if not listed:
            raise ValueError("devices='all': no CUDA device is visible")
    else:
        entries = [value] if not isinstance(value, (list, tuple)) else list(value)
        if not entries:
            raise ValueError("devices is empty: list at least one CUDA device, or pass 'all'")
        listed = []
        for entry in entries:
            index, wants_host = device(entry)
            if wants_host or index is None:
                raise ValueError(f"devices entry {entry!r} is not a CUDA device index")
            listed.append(index)
    if device_index is not None and device_index != listed[0]:
        raise ValueError(f"device={device_index} but devices={value!r} starts with "
                         f"{listed[0]}: the first of devices is the plan's device")
    return listed


_ALGORITHMS = "'auto', 'naive', 'greedy', 'optimal', 'dp', 'random-greedy', 'hyper'"


def path_choice(path):
    """(algorithm name, given steps) of einsum's `path` (or numpy's and
    opt_einsum's `optimize`): an algorithm's name; True ('auto') or False
    ('naive', numpy's meaning); or a path to run as it is, in opt_einsum's
    format (a list of tuples of operand positions: Plan.path,
    opt_einsum.contract_path, cotengra's get_path()), numpy.einsum_path's
    list with its leading 'einsum_path' too, or an object with a get_path()
    method that gives one (a cotengra ContractionTree)."""
    if isinstance(path, str):
        return path.replace("_", "-"), []
    if path is True or path is False:
        return ("auto" if path else "naive"), []
    if callable(getattr(path, "get_path", None)):  # a cotengra ContractionTree
        path = path.get_path()
    try:
        steps = list(path)
    except TypeError:
        raise TypeError(f"path must name an algorithm ({_ALGORITHMS}) or be a contraction path "
                        f"(a list of tuples of operand positions), not "
                        f"{type(path).__name__}") from None
    if steps and isinstance(steps[0], str) and steps[0] == "einsum_path":
        steps = steps[1:]
    if not steps:
        raise ValueError("path is an empty contraction path: give its steps, or an algorithm "
                         f"({_ALGORITHMS})")
    given = []
    for number, step in enumerate(steps):
        try:
            positions = list(step)
        except TypeError:
            positions = None
        if (positions is None or
                not all(isinstance(p, numbers.Integral) and not isinstance(p, bool)
                        for p in positions)):
            raise TypeError(f"path step {number} is {step!r}: expected a tuple of operand "
                            "positions (ints)")
        for position in positions:
            if not -2**31 <= position < 2**31:
                raise ValueError(f"path step {number} names operand {position}: positions "
                                 "count the operands not yet contracted, from 0")
        given.append([int(p) for p in positions])
    return "auto", given


def pick(name, value, alias_name, alias_value, default=None):
    """The value of a keyword given under its name or its old alias, not both."""
    if alias_value is not None:
        if value is not None:
            raise TypeError(f"got both {name} and its alias {alias_name}; pass one")
        return alias_value
    return default if value is None else value


def options(memory_limit_value, device_index, backend, path, register_host_memory, allow_tf32,
            graph_replay=True, device_list=()):
    result = _einstream.Options()
    result.memory_limit = memory_limit(memory_limit_value)
    result.device = 0 if device_index is None else device_index
    result.devices = list(device_list)
    if not isinstance(backend, str):
        raise TypeError(f"backend must be 'auto', 'host' or 'cuda', not {type(backend).__name__}")
    result.backend = backend
    algorithm, steps = path_choice(path)
    result.path = algorithm
    result.given_path = steps
    result.register_host_memory = bool(register_host_memory)
    result.allow_tf32 = bool(allow_tf32)
    result.graph_replay = bool(graph_replay)
    result.log_to_python(log_level())
    return result


# The library's levels by the Python level each is logged at (info and debug
# both at DEBUG, as the old tool logged plans and transfers), most detailed
# first.
_LOG_LEVELS = (("debug", logging.DEBUG), ("warn", logging.WARNING), ("error", logging.ERROR))


def log_level():
    """The most detailed library level the logger "einstream" would record now
    ('' when it records nothing), so a plan made while nobody listens pays
    nothing for logging."""
    logger = logging.getLogger("einstream")
    for name, level in _LOG_LEVELS:
        if logger.isEnabledFor(level):
            return name
    return ""

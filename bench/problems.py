"""Einsum problem descriptions shared by the bench drivers (bench/peers.py,
bench/streaming.py): parsing and validating them, plus small output helpers.

A problem is a dict with at least "name", "kind", "expression" (explicit
output, letters only, e.g. 'ik,kj->ij'), "shapes" (one list of positive ints
per operand) and "dtype"; a driver may require more fields. A problem file
holds a list of problems, or an object whose "problems" is that list.

Pure Python: nothing here needs torch, numpy or a GPU.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable

FIELDS = ("name", "kind", "expression", "shapes", "dtype")


# ---------------------------------------------------------------------------
# Parsing and validation.


def parse_expression(expression: str, who: str = "") -> tuple[list[str], str]:
    """'ab,bc->ac' -> (['ab', 'bc'], 'ac'). Problems use explicit outputs and
    letters only (no ellipsis), which keeps the bookkeeping exact. `who`, if
    given, names what needs the explicit output in that error ('the suite')."""
    text = expression.replace(" ", "")
    if "->" not in text:
        needs = f"{who} needs" if who else "needs"
        raise ValueError(f"'{expression}': {needs} an explicit output ('->')")
    inputs, output = text.split("->")
    terms = inputs.split(",")
    for term in terms + [output]:
        if not re.fullmatch(r"[a-zA-Z]*", term):
            raise ValueError(f"'{expression}': term '{term}' has a character other than a letter")
    if len(set(output)) != len(output):
        raise ValueError(f"'{expression}': the output repeats a mode")
    return terms, output


def extents_of(problem: dict, who: str = "") -> dict[str, int]:
    """Each mode's extent, checked against every operand that has it."""
    terms, output = parse_expression(problem["expression"], who)
    shapes = problem["shapes"]
    if len(terms) != len(shapes):
        raise ValueError(f"{len(terms)} operands but {len(shapes)} shapes")
    extents: dict[str, int] = {}
    for operand, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        if len(term) != len(shape):
            raise ValueError(f"operand {operand} '{term}' has rank {len(term)} but shape {shape}")
        for mode, extent in zip(term, shape, strict=True):
            if not isinstance(extent, int) or extent <= 0:
                raise ValueError(f"operand {operand} has extent {extent!r}")
            if extents.setdefault(mode, extent) != extent:
                raise ValueError(f"mode '{mode}' is {extents[mode]} and {extent}")
    for mode in output:
        if mode not in extents:
            raise ValueError(f"output mode '{mode}' is in no input")
    return extents


def load_problems(
    path: str,
    kinds: tuple[str, ...],
    dtypes: dict[str, int],
    extra_fields: Iterable[str] = (),
    check: Callable[[dict], object] | None = None,
    who: str = "",
) -> list[dict]:
    """The problems of the JSON file at `path`, validated: the FIELDS and
    `extra_fields` present, names unique, kind in `kinds`, dtype in `dtypes`,
    expression and shapes consistent, and `check(problem)` (which raises
    ValueError on a bad problem) passed. Errors name the file and problem."""
    with open(path) as file:
        document = json.load(file)
    problems = document["problems"] if isinstance(document, dict) else document
    required = FIELDS + tuple(extra_fields)
    names = set()
    for index, problem in enumerate(problems):
        where = f"{path}: problem {index} ({problem.get('name', '?')})"
        for field in required:
            if field not in problem:
                raise ValueError(f"{where}: missing field '{field}'")
        if problem["name"] in names:
            raise ValueError(f"{where}: duplicate name")
        names.add(problem["name"])
        if problem["kind"] not in kinds:
            raise ValueError(f"{where}: kind '{problem['kind']}' is not one of {kinds}")
        if problem["dtype"] not in dtypes:
            raise ValueError(f"{where}: dtype '{problem['dtype']}' is not one of {list(dtypes)}")
        try:
            extents_of(problem, who)
            if check is not None:
                check(problem)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
    return problems


def select(problems: list[dict], only: str | None) -> list[dict]:
    """The problems named in `only` (comma-separated), in file order; all of
    them when `only` is empty. An unknown name ends the program."""
    if not only:
        return problems
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    known = {problem["name"] for problem in problems}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise SystemExit(f"--only: no problem named {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [problem for problem in problems if problem["name"] in wanted]


def sizes(problem: dict, itemsizes: dict[str, int]) -> dict:
    """Bytes of the inputs and the output, with `itemsizes` mapping each
    dtype to its bytes per element."""
    extents = extents_of(problem)
    _, output = parse_expression(problem["expression"])
    itemsize = itemsizes[problem["dtype"]]
    return {
        "input_bytes": sum(math.prod(shape) for shape in problem["shapes"]) * itemsize,
        "output_bytes": math.prod(extents[mode] for mode in output) * itemsize,
    }


# ---------------------------------------------------------------------------
# Output helpers.


def slug(text: str) -> str:
    """A device name as a file name part: 'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "device"


def first_line(error: BaseException, untyped: tuple[type[BaseException], ...] = ()) -> str:
    """The gist of an error for a table cell: its first line, with its type
    unless it is one of `untyped` (whose message already says what failed)."""
    lines = str(error).strip().splitlines()
    text = lines[0][:400] if lines else ""
    if untyped and isinstance(error, untyped):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def write_atomically(path: str, text: str) -> None:
    """Writes `text` to `path` through a temporary file beside it, so a crash
    never leaves a half-written result."""
    partial = path + ".partial"
    with open(partial, "w") as file:
        file.write(text)
    os.replace(partial, path)

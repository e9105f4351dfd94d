#!/usr/bin/env python3
"""In-memory peer comparison: einstream against torch.einsum and opt_einsum + torch.

For each problem of bench/suite.json (float32, or float16 where its dtype says
so; every tensor resident on one GPU):

  * random inputs, uniform in [-1, 1), seeded by --seed and the problem's name;
  * torch.einsum and opt_einsum.contract_expression(..., optimize=--oe-optimize)
    with backend='torch', timed as the median of --repeat runs after --warmup,
    each run bracketed by torch.cuda.synchronize() (TF32 off; single-operand
    einsums return views, so the timed call includes .contiguous());
  * einstream through its CLI, `einstream bench ... --backend cuda --json
    --inputs *.npy --save-output out.npy`, on the same inputs;
  * einstream's and torch's outputs against a float64 reference (opt_einsum's
    path in float64 with the torch backend): ||x - ref|| / ||ref||, which must
    be <= 1e-5 for einstream (5e-3 in float16), or no more than torch's own
    error where torch misses it too (cancellation that no summation order
    avoids).

Writes bench/results/inmemory-<device>.json (raw) and .md (tables and
geometric-mean speedups overall and per kind) after every problem, so a crash
or a failing problem loses nothing already measured. A problem that fails for
one system is recorded as "failed: <message>" and the run goes on.

  python3 bench/peers.py [--einstream ./build/einstream] [--only NAME[,NAME]]
                         [--repeat 20] [--warmup 3] [--dry-run]

--dry-run needs neither torch nor numpy: it validates suite.json and prints
each problem's FLOPs (einstream's path, via `einstream path --json`, when the
binary is there), bytes and memory estimate.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # bench/problems.py, whatever the working directory

from problems import extents_of, load_problems, parse_expression, select, sizes, slug, write_atomically  # noqa: E402
from problems import first_line as shared_first_line  # noqa: E402

KINDS = ("gemm-bound", "memory-bound", "network")
DTYPES = {"f32": 4, "f16": 2}
TOLERANCE = 1e-5  # norm-wise relative error einstream must reach against float64
# float16 problems: a few unit roundoffs (2^-11) of the inputs and the result.
TOLERANCES = {"f32": TOLERANCE, "f16": 5e-3}
NUMPY_DTYPES = {"f32": "float32", "f16": "float16"}
SLOW_RATIO = 0.9  # a problem where einstream reaches less than this of a peer's speed is "slow"
# Peak device memory a problem may plan for, leaving room on an 80 GB H100
# for the CUDA context, allocator slack and einstream's own copies.
DEVICE_BUDGET_BYTES = 60e9


# ---------------------------------------------------------------------------
# The suite's FLOPs and sizes for --dry-run (pure Python; parsing and
# validation are in bench/problems.py).


def naive_flops(problem: dict) -> float:
    """FLOPs of contracting left to right, counted as opt_einsum counts them: a
    fallback for --dry-run when neither einstream nor opt_einsum is at hand."""
    terms, output = parse_expression(problem["expression"])
    extents = extents_of(problem)
    flops = 0.0
    current = set(terms[0])
    rest = [set(term) for term in terms[1:]]
    if not rest:
        summed = bool(current - set(output))
        return float(math.prod(extents[m] for m in current) * (2 if summed else 1))
    for position, operand in enumerate(rest):
        later = set(output).union(*rest[position + 1 :])
        modes = current | operand
        result = {mode for mode in modes if mode in later}
        flops += math.prod(extents[m] for m in modes) * (2 if modes - result else 1)
        current = result
    return flops


def einstream_path(binary: str, problem: dict) -> dict | None:
    """`einstream path --json`: einstream's path and its FLOPs, or None."""
    if not binary or not os.access(binary, os.X_OK):
        return None
    command = [binary, "path", problem["expression"], "--shapes", json.dumps(problem["shapes"]), "--json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def dry_run(args: argparse.Namespace, problems: list[dict]) -> int:
    try:
        import opt_einsum  # noqa: F401  (optional here)
    except ImportError:
        opt_einsum = None
    header = (
        f"{'name':30} {'kind':12} {'ops':>3} {'FLOPs':>10} {'source':9} {'in GiB':>7} {'out GiB':>7} {'peak GiB':>8}"
    )
    print(header)
    print("-" * len(header))
    counts = {kind: 0 for kind in KINDS}
    worst = 0.0
    for problem in problems:
        counts[problem["kind"]] += 1
        size = sizes(problem, DTYPES)
        itemsize = DTYPES[problem["dtype"]]
        path = einstream_path(args.einstream, problem)
        if path is not None:
            flops, source = float(path["flops"]), "einstream"
            largest = float(path["largest_intermediate"]) * itemsize
        elif opt_einsum is not None:
            _, info = opt_einsum.contract_path(
                problem["expression"], *problem["shapes"], shapes=True, optimize=args.oe_optimize
            )
            flops, source = float(info.opt_cost), "opt_einsum"
            largest = float(info.largest_intermediate) * itemsize
        else:
            flops, source = naive_flops(problem), "naive"
            largest = float(size["output_bytes"])
        # The harness holds the float32 inputs and a float64 copy for the
        # reference, whose largest intermediate is float64 too.
        peak = 3 * size["input_bytes"] + 2 * largest + 3 * size["output_bytes"]
        worst = max(worst, peak)
        operands = len(problem["shapes"])
        print(
            f"{problem['name']:30} {problem['kind']:12} {operands:3} {flops:10.3e} {source:9} "
            f"{size['input_bytes'] / 2**30:7.3f} {size['output_bytes'] / 2**30:7.3f} {peak / 2**30:8.2f}"
        )
        if peak > DEVICE_BUDGET_BYTES:
            print(f"  warning: {problem['name']} may need {peak / 1e9:.1f} GB on the device")
    print(
        f"\n{len(problems)} problems: "
        + ", ".join(f"{counts[kind]} {kind}" for kind in KINDS)
        + f"; largest estimated device footprint {worst / 2**30:.2f} GiB"
    )
    return 0


# ---------------------------------------------------------------------------
# Measuring (needs torch with CUDA, numpy and opt_einsum).


class EinstreamFailed(RuntimeError):
    """einstream exited with an error, timed out or printed no report."""


def first_line(error: BaseException) -> str:
    """The gist of an error for a table cell: its first line, with its type
    unless einstream's own message already says what failed."""
    return shared_first_line(error, untyped=(EinstreamFailed,))


def time_calls(torch, call, repeat: int, warmup: int) -> tuple[list[float], object]:
    """Seconds of each of `repeat` calls after `warmup`, each bracketed by a
    device synchronization (as einstream bench times), and the last result."""
    result = None
    for _ in range(warmup):
        result = call()
    torch.cuda.synchronize()
    seconds = []
    for _ in range(repeat):
        result = None  # let the allocator reuse the previous result's memory
        start = time.perf_counter()
        result = call()
        torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def timing_summary(seconds: list[float]) -> dict:
    return {
        "median_ms": statistics.median(seconds) * 1e3,
        "min_ms": min(seconds) * 1e3,
        "times_ms": [value * 1e3 for value in seconds],
    }


def relative_error(torch, actual, reference) -> float:
    """||actual - reference|| / ||reference|| in float64 (absolute error when
    the reference is zero)."""
    actual = actual.to(device=reference.device, dtype=torch.float64).reshape(-1)
    reference = reference.reshape(-1)
    scale = float(torch.linalg.vector_norm(reference))
    error = float(torch.linalg.vector_norm(actual - reference))
    return error / scale if scale > 0 else error


def random_inputs(numpy, problem: dict, seed: int) -> list:
    """Inputs uniform in [-1, 1) in the problem's dtype (drawn in float32 and
    rounded), the same for a problem whatever --only selects."""
    generator = numpy.random.default_rng([seed, zlib.crc32(problem["name"].encode())])
    arrays = []
    for shape in problem["shapes"]:
        values = generator.random(size=shape, dtype=numpy.float32)
        values *= 2
        values -= 1
        arrays.append(values.astype(NUMPY_DTYPES[problem["dtype"]], copy=False))
    return arrays


def run_einstream(args, problem: dict, input_paths: list[str], output_path: str) -> dict:
    command = [
        args.einstream,
        "bench",
        problem["expression"],
        "--shapes",
        json.dumps(problem["shapes"]),
        "--dtype",
        problem["dtype"],
        "--backend",
        args.backend,
        "--repeat",
        str(args.repeat),
        "--warmup",
        str(args.warmup),
        "--json",
        "--save-output",
        output_path,
        "--inputs",
        *input_paths,
    ]
    for extra in reversed(args.einstream_arg or []):
        command[3:3] = shlex.split(extra)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        raise EinstreamFailed(f"timed out after {args.timeout:g} s") from None
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}"
        raise EinstreamFailed(message.splitlines()[-1])
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise EinstreamFailed("no JSON report on stdout")
    return json.loads(lines[-1])


def measure(args, problem: dict, modules: dict, scratch: str) -> dict:
    """One problem, every system; each system's failure is recorded, not raised."""
    torch, numpy, opt_einsum = modules["torch"], modules["numpy"], modules["opt_einsum"]
    expression = problem["expression"]
    record = {
        "name": problem["name"],
        "kind": problem["kind"],
        "expression": expression,
        "shapes": problem["shapes"],
        "dtype": problem["dtype"],
        **sizes(problem, DTYPES),
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        # The run's settings travel with each record: --only merges
        # records of different runs into one file.
        "settings": {
            "repeat": args.repeat,
            "warmup": args.warmup,
            "seed": args.seed,
            "backend": args.backend,
            "oe_optimize": args.oe_optimize,
            "einstream_version": args.einstream_version,
        },
    }

    _, info = opt_einsum.contract_path(expression, *problem["shapes"], shapes=True, optimize=args.oe_optimize)
    record["opt_einsum_flops"] = float(info.opt_cost)
    record["opt_einsum_path"] = [list(step) for step in info.path]
    # torch.einsum orders multi-operand contractions with opt_einsum's
    # strategy of torch.backends.opt_einsum (default 'auto'): its path's cost
    # explains most of its time on the networks.
    strategy = getattr(getattr(torch.backends, "opt_einsum", None), "strategy", None)
    if strategy and len(problem["shapes"]) > 2:
        _, torch_info = opt_einsum.contract_path(expression, *problem["shapes"], shapes=True, optimize=strategy)
        record["torch_path_flops"] = float(torch_info.opt_cost)
        record["torch_path_largest_intermediate_bytes"] = float(torch_info.largest_intermediate) * DTYPES[
            problem["dtype"]
        ]

    host_inputs = random_inputs(numpy, problem, args.seed)
    input_paths = []
    for operand, values in enumerate(host_inputs):
        input_paths.append(os.path.join(scratch, f"in{operand}.npy"))
        numpy.save(input_paths[-1], values)
    output_path = os.path.join(scratch, "einstream_out.npy")

    # einstream first, while this process holds no device memory for the problem.
    einstream_output = None
    try:
        report = run_einstream(args, problem, input_paths, output_path)
        record["einstream"] = {
            "median_ms": report["median_seconds"] * 1e3,
            "min_ms": report["min_seconds"] * 1e3,
            "times_ms": [value * 1e3 for value in report.get("times_seconds", [])],
            "report": report,
        }
        record["flops"] = float(report["flops"])
        einstream_output = numpy.load(output_path)
    except Exception as error:  # noqa: BLE001 (one system's failure must not end the problem)
        record["einstream"] = {"failed": first_line(error)}
    for path in input_paths + [output_path]:
        if os.path.exists(path):
            os.remove(path)
    record.setdefault("flops", record["opt_einsum_flops"])

    device = torch.device(args.device)
    operands = [torch.from_numpy(values).to(device) for values in host_inputs]
    del host_inputs
    results = {}

    def run_peer(key: str, call) -> None:
        try:
            seconds, result = time_calls(torch, call, args.repeat, args.warmup)
            record[key] = timing_summary(seconds)
            results[key] = result
        except Exception as error:  # noqa: BLE001
            record[key] = {"failed": first_line(error)}
        finally:
            torch.cuda.empty_cache()

    run_peer("torch", lambda: torch.einsum(expression, *operands).contiguous())
    # opt_einsum plans once (as einstream does); the call runs its pairwise
    # steps through torch.
    planned = opt_einsum.contract_expression(expression, *problem["shapes"], optimize=args.oe_optimize)
    # Only the result's error is needed from here on: keep torch's output and
    # free opt_einsum's to make room for the float64 reference.
    run_peer("opt_einsum", lambda: planned(*operands, backend="torch").contiguous())
    results.pop("opt_einsum", None)

    # The float64 reference on the device, or on the host when it does not fit.
    # Memory is released after each except clause ends, when the traceback
    # (which holds the failed attempt's intermediates) is gone.
    reference = None
    for place in (device, torch.device("cpu")):
        failure = None
        try:
            reference = planned(
                *[operand.to(device=place, dtype=torch.float64) for operand in operands], backend="torch"
            )
            record["reference_device"] = str(place)
        except Exception as error:  # noqa: BLE001 (out of memory, most likely)
            failure = first_line(error)
        if failure is None:
            break
        record["reference_failed"] = failure
        torch.cuda.empty_cache()
    operands.clear()
    torch.cuda.empty_cache()

    if reference is not None:
        record.pop("reference_failed", None)
        if "torch" in results:
            record["torch"]["rel_error"] = relative_error(torch, results.pop("torch"), reference)
        if einstream_output is not None:
            if list(einstream_output.shape) != list(reference.shape):
                record["einstream"]["rel_error_failed"] = (
                    f"output shape {list(einstream_output.shape)}, expected {list(reference.shape)}"
                )
            else:
                error = relative_error(torch, torch.from_numpy(numpy.ascontiguousarray(einstream_output)), reference)
                # A contraction with heavy cancellation (a network summed to a
                # scalar) can miss 1e-5 in float32 whatever the order of the
                # sums: einstream then must be as close as torch.einsum is.
                allowed = max(TOLERANCES[problem["dtype"]], record.get("torch", {}).get("rel_error", 0.0))
                record["einstream"]["rel_error"] = error
                record["einstream"]["tolerance"] = allowed
                record["einstream"]["correct"] = error <= allowed
    results.clear()
    del reference
    torch.cuda.empty_cache()
    return record


# ---------------------------------------------------------------------------
# Reporting.


def median_ms(record: dict, system: str) -> float | None:
    entry = record.get(system) or {}
    return entry.get("median_ms")


def speedups(record: dict) -> dict:
    """Peer time / einstream time (> 1: einstream is faster), for problems
    where einstream ran and its result was correct."""
    einstream = record.get("einstream") or {}
    ours = einstream.get("median_ms")
    if ours is None or ours <= 0 or einstream.get("correct") is False:
        return {}
    ratios = {}
    for peer in ("torch", "opt_einsum"):
        theirs = median_ms(record, peer)
        if theirs is not None:
            ratios[peer] = theirs / ours
    peers = [median_ms(record, peer) for peer in ("torch", "opt_einsum") if median_ms(record, peer) is not None]
    if peers:
        ratios["best"] = min(peers) / ours
    return ratios


def geometric_mean(values: list[float]) -> float | None:
    values = [value for value in values if value > 0]
    return math.exp(sum(math.log(value) for value in values) / len(values)) if values else None


def summarize(records: list[dict]) -> dict:
    groups = {"all": records}
    for kind in KINDS:
        groups[kind] = [record for record in records if record["kind"] == kind]
    summary = {}
    for group, members in groups.items():
        if not members:
            continue
        entry = {"problems": len(members), "einstream_ok": sum(1 for record in members if speedups(record))}
        for peer in ("torch", "opt_einsum", "best"):
            ratios = [speedups(record)[peer] for record in members if peer in speedups(record)]
            entry[peer] = {
                "geomean": geometric_mean(ratios),
                "min": min(ratios) if ratios else None,
                "under_0.9": sum(1 for ratio in ratios if ratio < SLOW_RATIO),
                "count": len(ratios),
            }
        summary[group] = entry
    return summary


def format_ms(entry: dict | None) -> str:
    if not entry:
        return "-"
    if "failed" in entry:
        return "failed: " + entry["failed"].replace("|", "\\|")[:120]
    return f"{entry['median_ms']:.3f}"


def format_ratio(value: float | None) -> str:
    if value is None:
        return "-"
    text = f"{value:.2f}x"
    return f"**{text}**" if value < SLOW_RATIO else text


def format_rate(record: dict) -> str:
    """einstream's physical rate: TFLOP/s where FLOPs dominate, else GB/s."""
    report = (record.get("einstream") or {}).get("report")
    if not report or not report.get("median_seconds"):
        return "-"
    if record["kind"] == "memory-bound":
        return f"{report['bytes'] / report['median_seconds'] / 1e9:.0f} GB/s"
    return f"{report['flops'] / report['median_seconds'] / 1e12:.1f} TFLOP/s"


def format_error(entry: dict | None, dtype: str = "f32") -> str:
    if not entry:
        return "-"
    if "rel_error_failed" in entry:
        return "wrong shape"
    if "rel_error" not in entry:
        return "-"
    mark = "" if entry["rel_error"] <= entry.get("tolerance", TOLERANCES[dtype]) else " ✗"
    return f"{entry['rel_error']:.1e}{mark}"


def write_markdown(path: str, meta: dict, records: list[dict]) -> None:
    summary = summarize(records)
    lines = [f"# einstream vs PyTorch, in memory: {meta['device_name']}", ""]
    lines.append(
        f"Last run {meta['finished']} on {meta['device_name']} · einstream `{meta['einstream_version']}` "
        f"(`{meta['einstream']}`, backend {meta['backend']}) · torch {meta['torch']} · "
        f"opt_einsum {meta['opt_einsum']} · numpy {meta['numpy']} · median of {meta['repeat']} runs "
        f"after {meta['warmup']} warm-up · seed {meta['seed']}."
    )
    lines.append("")
    lines.append(
        "All tensors float32 (float16 for the problems named -f16) and resident on the device; TF32 off. Each run is timed from the call to "
        "the end of a device synchronization. torch.einsum is called as is (it orders multi-operand "
        f"contractions with opt_einsum when that is installed: {meta['torch_opt_einsum']}), with "
        "`.contiguous()` since a single-operand einsum returns a view; opt_einsum is "
        f"`contract_expression(..., optimize='{meta['oe_optimize']}')`, planned once, run with "
        "`backend='torch'`; einstream is `einstream bench` (plan built once, inputs and output in "
        "device memory). Speedup = peer time / einstream time (above 1: einstream is faster; bold: "
        f"below {SLOW_RATIO}x). Error: ||x - ref|| / ||ref|| against float64 (opt_einsum's path in "
        f"float64); einstream must reach {TOLERANCE:g} ({TOLERANCES['f16']:g} in float16), or torch's own "
        "error where that is larger "
        "(✗: it did not, and the problem is left out "
        "of the speedups). FLOPs: einstream's path (opt_einsum's where einstream failed), counted as "
        "opt_einsum counts them. einstream rate: TFLOP/s, or for memory-bound problems GB/s of the "
        "bytes its program reads and writes (`bytes_kind` in the JSON). Problems re-measured with "
        "`--only` keep their own run settings in the JSON."
    )
    lines.append("")
    lines.append("## Summary")
    lines.append("")
    lines.append(
        "| kind | problems | einstream ran and correct | vs torch.einsum: geomean / min / under 0.9x "
        "| vs opt_einsum+torch | vs best peer |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for group, entry in summary.items():
        cells = []
        for peer in ("torch", "opt_einsum", "best"):
            data = entry[peer]
            if data["count"] == 0:
                cells.append("-")
            else:
                cells.append(
                    f"{format_ratio(data['geomean'])} / {format_ratio(data['min'])} / "
                    f"{data['under_0.9']} of {data['count']}"
                )
        lines.append(f"| {group} | {entry['problems']} | {entry['einstream_ok']} | " + " | ".join(cells) + " |")
    failed = [record["name"] for record in records if "failed" in (record.get("einstream") or {})]
    wrong = [record["name"] for record in records if (record.get("einstream") or {}).get("correct") is False]
    crashed = [record["name"] for record in records if "error" in record]
    if failed:
        lines += ["", f"einstream failed on: {', '.join(failed)}."]
    if wrong:
        lines += ["", f"einstream's result was off (error above its tolerance) on: {', '.join(wrong)}."]
    if crashed:
        lines += ["", f"The harness failed on: {', '.join(crashed)} (see the JSON)."]
    lines += ["", "## Problems", ""]
    lines.append(
        "| problem | kind | expression | FLOPs | in+out GB | torch.einsum ms | opt_einsum ms | einstream ms "
        "| einstream rate | vs torch | vs opt_einsum | einstream error | torch error |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for record in records:
        ratios = speedups(record)
        if "error" in record:
            lines.append(
                f"| {record['name']} | {record['kind']} | `{record['expression']}` | - | - | "
                f"harness failed: {record['error'].replace('|', '/')[:120]} | | | | | | | |"
            )
            continue
        gigabytes = (record["input_bytes"] + record["output_bytes"]) / 1e9
        lines.append(
            f"| {record['name']} | {record['kind']} | `{record['expression']}` | {record['flops']:.2e} | "
            f"{gigabytes:.2f} | {format_ms(record.get('torch'))} | {format_ms(record.get('opt_einsum'))} | "
            f"{format_ms(record.get('einstream'))} | {format_rate(record)} | "
            f"{format_ratio(ratios.get('torch'))} | {format_ratio(ratios.get('opt_einsum'))} | "
            f"{format_error(record.get('einstream'), record['dtype'])} | "
            f"{format_error(record.get('torch'), record['dtype'])} |"
        )
    lines.append("")
    lines.append(
        "Shapes, paths, every run's time and einstream's full `bench --json` report are in the JSON "
        "file beside this one."
    )
    write_atomically(path, "\n".join(lines) + "\n")


def progress_line(record: dict) -> str:
    cells = []
    for system in ("torch", "opt_einsum", "einstream"):
        entry = record.get(system) or {}
        cells.append(f"{system} {format_ms(entry)}" + (" ms" if "median_ms" in entry else ""))
    cells += [f"vs {peer} {ratio:.2f}x" for peer, ratio in speedups(record).items()]
    if "rel_error" in (record.get("einstream") or {}):
        cells.append(f"error {record['einstream']['rel_error']:.1e}")
    if "error" in record:
        cells.append(f"harness failed: {record['error']}")
    return "  ".join(cells)


def einstream_version(binary: str) -> str:
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        return done.stdout.strip() or done.stderr.strip() or "unknown"
    except OSError as error:
        return f"unavailable ({error})"


def run_suite(args: argparse.Namespace, suite: list[dict], problems: list[dict]) -> int:
    import numpy
    import opt_einsum
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("peers.py: torch sees no CUDA device (use --dry-run to only check the suite)")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device_name = torch.cuda.get_device_name(torch.device(args.device))
    args.einstream_version = einstream_version(args.einstream)
    os.makedirs(args.out_dir, exist_ok=True)
    base = os.path.join(args.out_dir, f"inmemory-{slug(device_name)}")
    json_path, markdown_path = base + ".json", base + ".md"

    opt_einsum_in_torch = getattr(torch.backends, "opt_einsum", None)
    meta = {
        "device_name": device_name,
        "einstream": args.einstream,
        "einstream_version": args.einstream_version,
        "backend": args.backend,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "opt_einsum": opt_einsum.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "torch_opt_einsum": (
            f"enabled={opt_einsum_in_torch.enabled}, strategy={opt_einsum_in_torch.strategy}"
            if opt_einsum_in_torch is not None and opt_einsum_in_torch.is_available()
            else "not available"
        ),
        "oe_optimize": args.oe_optimize,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "seed": args.seed,
        "tolerance": TOLERANCE,
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
    }

    # With --only, earlier results for the other problems are kept (one
    # problem can be re-measured without losing the rest), unless --fresh.
    records: dict[str, dict] = {}
    if args.only and not args.fresh and os.path.exists(json_path):
        try:
            with open(json_path) as file:
                for record in json.load(file).get("problems", []):
                    records[record["name"]] = record
        except (OSError, ValueError, KeyError) as error:
            print(f"peers.py: not merging with {json_path}: {error}", file=sys.stderr)

    def save() -> None:
        order = [problem["name"] for problem in suite]
        ordered = sorted(records.values(), key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
        meta["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        write_atomically(
            json_path, json.dumps({"meta": meta, "summary": summarize(ordered), "problems": ordered}, indent=1) + "\n"
        )
        write_markdown(markdown_path, meta, ordered)

    modules = {"torch": torch, "numpy": numpy, "opt_einsum": opt_einsum}
    if args.tmp_dir:
        os.makedirs(args.tmp_dir, exist_ok=True)
    scratch_root = tempfile.mkdtemp(prefix="einstream-peers-", dir=args.tmp_dir)
    try:
        for index, problem in enumerate(problems, 1):
            print(
                f"[{index}/{len(problems)}] {problem['name']}: {problem['expression']} {problem['shapes']}", flush=True
            )
            scratch = tempfile.mkdtemp(dir=scratch_root)
            try:
                record = measure(args, problem, modules, scratch)
            except Exception as error:  # noqa: BLE001 (the harness itself failed on this problem)
                traceback.print_exc()
                record = {
                    "name": problem["name"],
                    "kind": problem["kind"],
                    "expression": problem["expression"],
                    "shapes": problem["shapes"],
                    "dtype": problem["dtype"],
                    **sizes(problem, DTYPES),
                    "error": first_line(error),
                }
                torch.cuda.empty_cache()
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            records[problem["name"]] = record
            save()
            print("    " + progress_line(record), flush=True)
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
    print(f"wrote {markdown_path} and {json_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "einstream_positional",
        nargs="?",
        metavar="EINSTREAM",
        help="path to the einstream binary (same as --einstream)",
    )
    parser.add_argument("--einstream", default="./build/einstream", help="path to the einstream binary")
    parser.add_argument("--suite", default=os.path.join(HERE, "suite.json"))
    parser.add_argument("--only", help="comma-separated problem names")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per system (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before the timed ones")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backend", default="cuda", help="einstream's --backend")
    parser.add_argument("--device", default="cuda:0", help="torch device")
    parser.add_argument(
        "--oe-optimize", default="dp", help="opt_einsum's path algorithm (DESIGN.md's peer table used 'dp')"
    )
    parser.add_argument(
        "--einstream-arg",
        action="append",
        help="extra arguments for `einstream bench`, e.g. --einstream-arg='--path dp'",
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds one einstream run may take")
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    parser.add_argument("--tmp-dir", default="/tmp", help="where the inputs are written as .npy for einstream")
    parser.add_argument(
        "--fresh", action="store_true", help="with --only: do not keep the other problems' earlier results"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate the suite and print FLOPs and sizes; no torch or GPU needed"
    )
    args = parser.parse_args(argv)
    if args.einstream_positional:
        args.einstream = args.einstream_positional
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")

    suite = load_problems(args.suite, KINDS, DTYPES, who="the suite")
    problems = select(suite, args.only)
    if args.dry_run:
        return dry_run(args, problems)
    return run_suite(args, suite, problems)


if __name__ == "__main__":
    sys.exit(main())

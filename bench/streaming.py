#!/usr/bin/env python3
"""Out-of-core benchmark: einstream streaming from host memory against its floor and PyTorch.

Runs on the GPU machine, in three steps:

  1. the C++ bench (bench/cuda/streaming/main.cpp) on every problem of
     bench/ooc.json: it measures the pinned H2D/D2H bandwidth and the cuBLAS
     GEMM rate (TF32 off) in the same run, times einstream with pageable,
     pinned and registered host memory (median of --repeat after a warm-up),
     checks output slices against a float64 host reference, and writes raw
     JSON;
  2. PyTorch, for every problem whose inputs and output fit the device with
     room to spare (--torch-max-gb): host tensors in pageable and in pinned
     memory; each run copies every input to the GPU, calls torch.einsum (TF32
     off), copies the result back and synchronizes; median of --repeat after
     a warm-up;
  3. bench/results/streaming-<device>.md (tables) and .json (everything).

Floor of a problem = max(input bytes / pinned H2D, output bytes / pinned D2H,
FLOPs / GEMM rate), all measured in the same run. Targets (the issue's, for an
H100): transfer-bound at most 1.15x the floor from pinned or registered
memory and 1.5x from pageable memory; compute-bound at most 1.15x.

  python3 bench/streaming.py [--bench ./build/bench/einstream_streaming_bench]
                             [--only NAME[,NAME]] [--repeat 3] [--modes ...]
                             [--trace-dir DIR] [--bench-json RAW.json] [--no-torch]
                             [--dry-run]

--dry-run needs neither torch nor a GPU: it validates ooc.json and prints each
problem's sizes, FLOPs (exhaustive pairwise search, counted as opt_einsum
counts) and its floor at the DESIGN.md anchors (54 GB/s, 51 TFLOP/s f32).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)  # bench/problems.py, whatever the working directory

from problems import extents_of, first_line, load_problems, parse_expression, select  # noqa: E402
from problems import sizes, slug, write_atomically  # noqa: E402

KINDS = ("transfer-bound", "compute-bound")
MODES = ("pageable", "pinned", "registered", "device")
# What --modes runs unless told: the host memory modes ("device", operands
# already in device memory, is asked for by name, e.g. for device-sliced).
DEFAULT_MODES = ("pageable", "pinned", "registered")
DTYPES = {"f32": 4, "f64": 8}
# The targets: einstream's median over the floor.
TARGETS = {
    ("transfer-bound", "pinned"): 1.15,
    ("transfer-bound", "registered"): 1.15,
    ("transfer-bound", "pageable"): 1.5,
    ("compute-bound", "pinned"): 1.15,
    ("compute-bound", "registered"): 1.15,
    ("compute-bound", "pageable"): 1.15,
    # Operands in device memory: nothing crosses, the floor is the GEMM term.
    ("compute-bound", "device"): 1.15,
    ("transfer-bound", "device"): 1.15,
}
# DESIGN.md's measured anchors (H100), for --dry-run estimates only.
ANCHOR_LINK = 54e9
ANCHOR_GEMM = {"f32": 51e12, "f64": 56e12}
# A peer copies everything to the device: it must fit with room for its
# intermediates on an 80 GB H100.
TORCH_MAX_GB = 60.0


# ---------------------------------------------------------------------------
# The problems: memory limits, FLOPs and floors for --dry-run (pure Python;
# parsing and validation are in bench/problems.py).


UNITS = {
    "b": 1,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "tb": 1e12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_memory_limit(text: str) -> tuple[str, float]:
    """As einstream's MemoryLimit::parse: ('bytes', n) for '4GiB', '1e9';
    ('fraction', f) for a bare number in (0, 1]."""
    match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([a-zA-Z]*)\s*", text)
    if not match:
        raise ValueError(f"memory limit '{text}' is not a number with an optional unit")
    value, unit = float(match.group(1)), match.group(2).lower()
    if not unit:
        if 0 < value <= 1:
            return "fraction", value
        return "bytes", value
    if unit not in UNITS:
        raise ValueError(f"memory limit '{text}': unknown unit (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
    return "bytes", value * UNITS[unit]


def check_memory_limit(problem: dict) -> None:
    """Raises ValueError when the problem's memory limit does not parse."""
    parse_memory_limit(problem["memory_limit"])


def best_flops(problem: dict) -> float:
    """FLOPs of the cheapest pairwise contraction order (exhaustive over
    subsets, fine for the few operands here), counted as opt_einsum counts:
    each step costs the product of the extents of its modes, twice when it
    sums a mode."""
    terms, output = parse_expression(problem["expression"])
    extents = extents_of(problem)
    count = len(terms)
    if count == 1:
        modes = set(terms[0])
        return float(math.prod(extents[m] for m in modes) * (2 if modes - set(output) else 1))
    modes_of = [set(term) for term in terms]

    def kept(subset: int) -> set[str]:
        """Modes of the tensor contracting `subset` yields: those needed
        outside it or in the output."""
        inside = set().union(*(modes_of[i] for i in range(count) if subset >> i & 1))
        outside = set(output).union(*(modes_of[i] for i in range(count) if not subset >> i & 1))
        return inside & outside

    cost = {1 << i: 0.0 for i in range(count)}
    for size in range(2, count + 1):
        for members in itertools.combinations(range(count), size):
            subset = sum(1 << i for i in members)
            result = kept(subset)
            best = math.inf
            left = (subset - 1) & subset
            while left:
                right = subset ^ left
                if left < right:  # each split once
                    modes = kept(left) | kept(right)
                    step = math.prod(extents[m] for m in modes) * (2 if modes - result else 1)
                    best = min(best, cost[left] + cost[right] + step)
                left = (left - 1) & subset
            cost[subset] = best
    return cost[(1 << count) - 1]


def dry_run(args: argparse.Namespace, problems: list[dict]) -> int:
    header = (
        f"{'name':20} {'kind':14} {'limit':6} {'in GB':>7} {'out GB':>7} {'FLOPs':>9} "
        f"{'H2D s':>7} {'D2H s':>7} {'GEMM s':>7} {'floor':>11} {'streams':>7} {'torch':>5}"
    )
    print(header)
    print("-" * len(header))
    estimate = 0.0
    largest_host = 0.0
    for problem in problems:
        size = sizes(problem, DTYPES)
        flops = best_flops(problem)
        h2d = size["input_bytes"] / ANCHOR_LINK
        d2h = size["output_bytes"] / ANCHOR_LINK
        gemm = flops / ANCHOR_GEMM[problem["dtype"]]
        floor = max(h2d, d2h, gemm)
        term = "GEMM" if gemm >= max(h2d, d2h) else ("H2D" if h2d >= d2h else "D2H")
        kind, limit = parse_memory_limit(problem["memory_limit"])
        total = size["input_bytes"] + size["output_bytes"]
        streams = "yes" if kind == "fraction" or total > limit else "NO"
        torch_fits = "yes" if total / 1e9 < args.torch_max_gb else "no"
        print(
            f"{problem['name']:20} {problem['kind']:14} {problem['memory_limit']:6} "
            f"{size['input_bytes'] / 1e9:7.2f} {size['output_bytes'] / 1e9:7.2f} {flops:9.2e} "
            f"{h2d:7.3f} {d2h:7.3f} {gemm:7.3f} {floor:6.3f} {term:4} {streams:>7} {torch_fits:>5}"
        )
        if problem["kind"] == "compute-bound" and gemm < 3 * max(h2d, d2h):
            print(f"  warning: {problem['name']}: the GEMM term is under 3x the transfer terms")
        if problem["kind"] == "transfer-bound" and term == "GEMM":
            print(f"  warning: {problem['name']}: transfer-bound, but the GEMM term dominates")
        if streams == "NO":
            print(f"  warning: {problem['name']}: fits its memory limit whole, so it does not stream")
        largest_host = max(largest_host, total)
        # Rough run time: per mode a warm-up and the repeats at the target
        # ratio, plus filling the host buffers at ~10 GB/s (twice: ordinary
        # and pinned) and the PyTorch runs where they fit.
        modes = [mode for mode in args.modes.split(",") if mode]
        runs = sum((1 + args.repeat) * floor * TARGETS[(problem["kind"], mode)] for mode in modes)
        estimate += runs + 2 * total / 10e9
        if torch_fits == "yes" and not args.no_torch:
            estimate += (1 + args.repeat) * (size["input_bytes"] / 7e9 + size["output_bytes"] / 12e9 + floor)
    print(
        f"\n{len(problems)} problems; largest host footprint {largest_host / 1e9:.1f} GB (inputs + output, "
        f"held once); estimated run time ~{estimate / 60:.1f} min at the anchors (54 GB/s, 51 TFLOP/s)"
    )
    return 0


# ---------------------------------------------------------------------------
# Running the C++ bench and PyTorch.


def run_bench(args: argparse.Namespace, raw_path: str) -> tuple[list[str], int]:
    if not os.access(args.bench, os.X_OK):
        raise SystemExit(
            f"streaming.py: no bench binary at {args.bench}; build it with\n"
            f"  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && "
            f"cmake --build build -j --target einstream_streaming_bench"
        )
    command = [args.bench, args.problems, "--out", raw_path, "--repeat", str(args.repeat), "--modes", args.modes]
    if args.only:
        command += ["--only", args.only]
    if args.trace_dir:
        command += ["--trace-dir", args.trace_dir]
    print("running: " + shlex.join(command), flush=True)
    # The bench prints its table as it goes: let it write straight through.
    done = subprocess.run(command)
    return command, done.returncode


def fill_uniform(torch, tensor, device) -> None:
    """Uniform [-1, 1) values generated on the device and copied in chunks:
    seconds for gigabytes, where the CPU generator takes minutes."""
    flat = tensor.view(-1)
    chunk = 1 << 27
    for start in range(0, flat.numel(), chunk):
        count = min(chunk, flat.numel() - start)
        values = torch.rand(count, device=device, dtype=tensor.dtype).mul_(2).sub_(1)
        flat[start : start + count].copy_(values)
    torch.cuda.synchronize()


def release_pinned(torch) -> None:
    """PyTorch caches freed pinned host blocks; hand them back to the OS."""
    empty = getattr(torch._C, "_host_emptyCache", None)
    if empty is not None:
        try:
            empty()
        except RuntimeError:
            pass


def time_torch(torch, problem: dict, mode: str, repeat: int, device) -> dict:
    """PyTorch from host memory: copy every input to the device,
    torch.einsum, copy the result back, synchronize; median of `repeat` runs
    after one warm-up."""
    dtype = {"f32": torch.float32, "f64": torch.float64}[problem["dtype"]]
    pinned = mode == "pinned"
    terms, output = parse_expression(problem["expression"])
    extents = extents_of(problem)
    start = time.perf_counter()
    host_inputs = [torch.empty(shape, dtype=dtype, pin_memory=pinned) for shape in problem["shapes"]]
    for tensor in host_inputs:
        fill_uniform(torch, tensor, device)
    host_output = torch.empty([extents[label] for label in output], dtype=dtype, pin_memory=pinned)
    host_output.zero_()
    fill_seconds = time.perf_counter() - start

    def once() -> float:
        begin = time.perf_counter()
        operands = [tensor.to(device, non_blocking=pinned) for tensor in host_inputs]
        result = torch.einsum(problem["expression"], *operands)
        host_output.copy_(result, non_blocking=pinned)
        torch.cuda.synchronize()
        return time.perf_counter() - begin

    try:
        warmup = once()
        seconds = [once() for _ in range(repeat)]
    finally:
        del host_inputs, host_output
        torch.cuda.empty_cache()
        release_pinned(torch)
    return {
        "median_seconds": statistics.median(seconds),
        "min_seconds": min(seconds),
        "times_seconds": seconds,
        "warmup_seconds": warmup,
        "fill_seconds": fill_seconds,
    }


def measure_torch(args: argparse.Namespace, records: list[dict]) -> dict:
    """PyTorch's times per problem and mode (pageable, pinned), measured once
    per distinct (expression, shapes, dtype): the headline's memory limits do
    not matter to PyTorch."""
    info = {}
    try:
        import torch
    except ImportError as error:
        info["unavailable"] = f"torch not importable: {error}"
        return info
    if not torch.cuda.is_available():
        info["unavailable"] = "torch sees no CUDA device"
        return info
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    opt_einsum_backend = getattr(torch.backends, "opt_einsum", None)
    info["torch"] = torch.__version__
    info["cuda"] = torch.version.cuda
    info["device_name"] = torch.cuda.get_device_name(device)
    info["torch_opt_einsum"] = (
        f"enabled={opt_einsum_backend.enabled}, strategy={opt_einsum_backend.strategy}"
        if opt_einsum_backend is not None and opt_einsum_backend.is_available()
        else "not available"
    )
    measured: dict[str, dict] = {}
    for record in records:
        if "failed" in record and "modes" not in record:
            continue
        total_gb = (record["input_bytes"] + record["output_bytes"]) / 1e9
        if total_gb >= args.torch_max_gb:
            record["torch"] = {"skipped": f"{total_gb:.1f} GB of inputs and output does not fit the device"}
            print(f"torch {record['name']}: skipped ({record['torch']['skipped']})", flush=True)
            continue
        key = json.dumps([record["expression"], record["shapes"], record["dtype"]])
        if key not in measured:
            measured[key] = {}
            for mode in ("pageable", "pinned"):
                try:
                    measured[key][mode] = time_torch(torch, record, mode, args.repeat, device)
                except Exception as error:  # noqa: BLE001 (out of memory, most likely)
                    traceback.print_exc()
                    measured[key][mode] = {"failed": first_line(error)}
                    torch.cuda.empty_cache()
                    release_pinned(torch)
                entry = measured[key][mode]
                text = f"{entry['median_seconds']:.4f} s" if "median_seconds" in entry else entry["failed"]
                print(f"torch {record['name']} {mode}: {text}", flush=True)
        record["torch"] = measured[key]
    return info


# ---------------------------------------------------------------------------
# Reporting.


def assess(record: dict) -> None:
    """Adds each mode's target and whether einstream met it (and was right)."""
    for mode, entry in (record.get("modes") or {}).items():
        target = TARGETS.get((record["kind"], mode))
        entry["target"] = target
        if "ratio_to_floor" in entry and target is not None:
            entry["met"] = entry["ratio_to_floor"] <= target and entry.get("correct", False)
        torch_entry = (record.get("torch") or {}).get(mode) or {}
        if "median_seconds" in entry and "median_seconds" in torch_entry:
            entry["speedup_over_torch"] = torch_entry["median_seconds"] / entry["median_seconds"]


def mode_items(record: dict) -> list[tuple[str, dict]]:
    """The record's modes in MODES order (the bench runs them grouped by
    memory kind)."""
    modes = record.get("modes") or {}
    return [(mode, modes[mode]) for mode in sorted(modes, key=lambda m: MODES.index(m) if m in MODES else len(MODES))]


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:160]


def format_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def write_markdown(path: str, document: dict) -> None:
    meta, calibration, records = document["meta"], document["calibration"], document["problems"]
    device = meta["device_name"]
    lines = [f"# einstream out of core: {device}", ""]
    torch_text = (
        f"torch {meta['torch']['torch']} (CUDA {meta['torch']['cuda']})"
        if "torch" in meta["torch"]
        else f"PyTorch not measured ({meta['torch'].get('unavailable', 'skipped')})"
    )
    lines.append(
        f"Last run {meta['finished']} on {device} · einstream `{meta['einstream_version']}` · {torch_text} · "
        f"median of {meta['repeat']} runs after 1 warm-up · host threads {meta['host_threads']}."
    )
    lines += ["", "Command:", "", "```", meta["command"], "```", ""]
    lines.append(f"which ran `{meta['bench_command']}`.")
    lines += ["", "## Ceilings measured in this run", "", "| figure | value |", "| --- | --- |"]
    lines.append(f"| H2D from pinned memory | {calibration['h2d_pinned_GBps']:.1f} GB/s |")
    lines.append(f"| D2H to pinned memory | {calibration['d2h_pinned_GBps']:.1f} GB/s |")
    lines.append(f"| H2D from pageable memory (plain cudaMemcpyAsync) | {calibration['h2d_pageable_GBps']:.1f} GB/s |")
    lines.append(f"| H2D and D2H at once (two streams, both directions' bytes) | {calibration['both_directions_GBps']:.1f} GB/s |")
    for key, value in calibration.items():
        match = re.fullmatch(r"gemm_(\w+)_TFLOPps", key)
        if match:
            lines.append(f"| cuBLAS GEMM {match.group(1)}, 8192³, pedantic math (no TF32) | {value:.1f} TFLOP/s |")
    lines += ["", f"Method: {calibration['method']}.", ""]
    lines.append(
        "Floor = max(input bytes / pinned H2D, output bytes / pinned D2H, FLOPs / GEMM rate), with the "
        "plan's FLOPs counted as opt_einsum counts them; the term that sets it is in parentheses. Ratio = "
        "einstream's median / floor. Targets: transfer-bound 1.15x from pinned or registered memory, "
        "1.5x from pageable memory; compute-bound 1.15x. pageable: ordinary memory, every page touched "
        "before timing; pinned: cudaMallocHost; registered: ordinary memory with "
        "`Options::register_host_memory` (the warm-up execution pays the registration: see "
        "`warmup_seconds` in the JSON). direct: the share of the link's bytes DMA'd straight from or to "
        "the caller's page-locked memory rather than through einstream's staging buffers. Each timed run is the wall time of `Plan::execute`, from host "
        "inputs to the result in host memory. Error: ||x - ref|| / ||ref|| on output slices (the first "
        "output mode at its first, middle and last index) against a float64 host reference; it must be "
        "at most 1e-5 (f32). PyTorch: copy every input to the device, `torch.einsum` (TF32 off), copy "
        "the result back, synchronize, from host tensors in the same kind of memory; measured where "
        "inputs and output fit the device; speedup = PyTorch time / einstream time."
    )

    rows = [(record, mode, entry) for record in records for mode, entry in mode_items(record)]
    met = sum(1 for _, _, entry in rows if entry.get("met"))
    lines += ["", "## Summary", "", f"{met} of {len(rows)} problem x mode targets met."]
    missed = [f"{record['name']} {mode}" for record, mode, entry in rows if "met" in entry and not entry["met"]]
    failed = [f"{record['name']} {mode}" for record, mode, entry in rows if "failed" in entry]
    failed += [record["name"] for record in records if "failed" in record]
    wrong = [f"{record['name']} {mode}" for record, mode, entry in rows if entry.get("correct") is False]
    if missed:
        lines.append(f"Missed: {', '.join(missed)}.")
    if wrong:
        lines.append(f"Wrong or unchecked results: {', '.join(wrong)}.")
    if failed:
        lines.append(f"Failed: {', '.join(failed)} (see the JSON).")

    lines += ["", "## Problems", ""]
    lines.append("| problem | kind | expression | memory limit | in GB | out GB | FLOPs | floor s (term) | H2D / D2H / GEMM s |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for record in records:
        floor = record.get("floor")
        floor_text = f"{floor['seconds']:.3f} ({floor['term']})" if floor else "-"
        terms = (
            f"{floor['h2d_seconds']:.3f} / {floor['d2h_seconds']:.3f} / {floor['gemm_seconds']:.3f}" if floor else "-"
        )
        flops = f"{record['flops']:.2e}" if "flops" in record else "-"
        lines.append(
            f"| {record['name']} | {record['kind']} | `{record['expression']}` | {record['memory_limit']} | "
            f"{record['input_bytes'] / 1e9:.2f} | {record['output_bytes'] / 1e9:.2f} | {flops} | {floor_text} | {terms} |"
        )
    notes = [f"- {record['name']}: {record['note']}" for record in records if record.get("note")]
    if notes:
        lines += [""] + notes

    lines += ["", "## Results", ""]
    lines.append(
        "| problem | mode | einstream s | floor s (term) | ratio | target | met | blocks | H2D GB | link GB/s "
        "| overlap | direct | staging s | error | PyTorch s | speedup |"
    )
    lines.append("| --- " * 16 + "|")
    for record in records:
        floor = record.get("floor")
        if "failed" in record:
            lines.append(f"| {record['name']} | - | failed: {cell(record['failed'])} |" + " |" * 13)
        for mode, entry in mode_items(record):
            torch_entry = (record.get("torch") or {}).get(mode) or {}
            if "median_seconds" in torch_entry:
                torch_text = f"{torch_entry['median_seconds']:.3f}"
            elif "failed" in torch_entry:
                torch_text = f"failed: {cell(torch_entry['failed'])[:60]}"
            else:
                torch_text = "-"
            speedup = f"{entry['speedup_over_torch']:.2f}x" if "speedup_over_torch" in entry else "-"
            if "failed" in entry:
                lines.append(
                    f"| {record['name']} | {mode} | failed: {cell(entry['failed'])} |" + " |" * 11 + f" {torch_text} | |"
                )
                continue
            report = entry.get("report", {})
            if "rel_error" in entry:
                error = f"{entry['rel_error']:.1e}" + ("" if entry.get("correct") else " ✗")
            else:
                error = "unchecked: " + cell(entry.get("check_failed", "?"))[:60]
            met_text = "met" if entry.get("met") else "**MISSED**"
            crossed = report.get("bytes_direct", 0) + report.get("bytes_staged", 0)
            direct = f"{100 * report.get('bytes_direct', 0) / crossed:.0f}%" if crossed else "-"
            lines.append(
                f"| {record['name']} | {mode} | {entry['median_seconds']:.3f} | "
                f"{floor['seconds']:.3f} ({floor['term']}) | {entry['ratio_to_floor']:.2f}x | "
                f"{entry['target']:.2f}x | {met_text} | {report.get('blocks', '-')} | "
                f"{report.get('bytes_to_device', 0) / 1e9:.2f} | {entry['link_GBps']:.1f} | "
                f"{100 * report.get('overlap', 0):.0f}% | {direct} | {report.get('staging_seconds', 0):.3f} | {error} | "
                f"{torch_text} | {speedup} |"
            )
    if any("skipped" in (record.get("torch") or {}) for record in records):
        skipped = [record["name"] for record in records if "skipped" in (record.get("torch") or {})]
        lines += ["", f"PyTorch was not run on {', '.join(skipped)}: the tensors do not fit the device."]
    lines += [
        "",
        "Every run's time, each mode's full report of its median run (stream busy times, bytes direct and "
        "staged, device bytes), the warm-up times and the fill times are in the JSON beside this file.",
    ]
    write_atomically(path, "\n".join(lines) + "\n")


def run(args: argparse.Namespace, problems: list[dict]) -> int:
    command_line = "python3 " + shlex.join(sys.argv if args.argv is None else args.argv)
    if args.bench_json:
        raw_path, bench_command, status = args.bench_json, "(reused " + args.bench_json + ")", 0
    else:
        raw_path = args.raw_out
        if os.path.exists(raw_path):
            os.remove(raw_path)
        bench, status = run_bench(args, raw_path)
        bench_command = shlex.join(bench)
        if status != 0:
            print(f"streaming.py: the bench exited with status {status}; reporting what it wrote", flush=True)
    if not os.path.exists(raw_path):
        print(f"streaming.py: the bench wrote no results ({raw_path})", file=sys.stderr)
        return 1
    with open(raw_path) as file:
        raw = json.load(file)
    records = raw["problems"]

    torch_info = {"unavailable": "--no-torch"} if args.no_torch else measure_torch(args, records)
    for record in records:
        assess(record)

    device_name = raw["device"]["name"]
    meta = {
        "device_name": device_name,
        "device": raw["device"],
        "einstream_version": raw.get("einstream_version", "?"),
        "command": command_line,
        "bench_command": bench_command,
        "bench_status": status,
        "bench_started": raw.get("started"),
        "bench_finished": raw.get("finished"),
        "repeat": raw["settings"]["repeat"],
        "modes": raw["settings"]["modes"],
        "host_threads": raw["host"]["threads"],
        "host": raw["host"],
        "python": platform.python_version(),
        "torch": torch_info,
        "targets": {f"{kind} {mode}": target for (kind, mode), target in TARGETS.items()},
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    document = {"meta": meta, "calibration": raw["calibration"], "problems": records}
    os.makedirs(args.out_dir, exist_ok=True)
    base = os.path.join(args.out_dir, f"streaming-{slug(device_name)}")
    write_atomically(base + ".json", json.dumps(document, indent=1) + "\n")
    write_markdown(base + ".md", document)
    print(f"wrote {base}.md and {base}.json")
    return 0 if status == 0 else status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bench",
        default=os.path.join(ROOT, "build", "bench", "einstream_streaming_bench"),
        help="the C++ bench binary (default: build/bench/einstream_streaming_bench)",
    )
    parser.add_argument("--problems", default=os.path.join(HERE, "ooc.json"))
    parser.add_argument("--only", help="comma-separated problem names")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per problem and mode (median reported)")
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES), help="where the operands of the einstream runs live (pageable, pinned, registered, device)")
    parser.add_argument("--trace-dir", help="write one Chrome trace per problem (pinned mode) here")
    parser.add_argument(
        "--raw-out",
        default="/tmp/einstream-streaming-bench.json",
        help="where the C++ bench writes its raw results",
    )
    parser.add_argument("--bench-json", help="reuse this raw bench result instead of running the bench")
    parser.add_argument("--no-torch", action="store_true", help="do not time PyTorch")
    parser.add_argument(
        "--torch-max-gb",
        type=float,
        default=TORCH_MAX_GB,
        help="time PyTorch only where inputs + output are under this many GB",
    )
    parser.add_argument("--device", default="cuda:0", help="torch device")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    parser.add_argument(
        "--dry-run", action="store_true", help="validate ooc.json and print sizes and floors; no torch or GPU needed"
    )
    args = parser.parse_args(argv)
    args.argv = None if argv is None else ["bench/streaming.py", *argv]
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    unknown = [mode for mode in args.modes.split(",") if mode and mode not in MODES]
    if unknown or not [mode for mode in args.modes.split(",") if mode]:
        parser.error(f"--modes: unknown or no modes {unknown} (known: {', '.join(MODES)})")

    problems = select(
        load_problems(args.problems, KINDS, DTYPES, extra_fields=("memory_limit",), check=check_memory_limit),
        args.only,
    )
    if args.dry_run:
        return dry_run(args, problems)
    return run(args, problems)


if __name__ == "__main__":
    sys.exit(main())

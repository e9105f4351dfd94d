#!/usr/bin/env python3
"""Strong scaling of the out-of-core problems over the GPUs of one host.

Runs bench/cuda/streaming/main.cpp on bench/ooc.json once per device count
(1, 2, 4, 8, up to the GPUs visible; `--devices 0,...,N-1`, Options::devices)
in one session, then writes bench/results/scaling-<machine>.md: per problem
and host-memory mode, the median time, the speedup over one GPU and its
efficiency (speedup / N), each device's link bandwidth and overlap, and the
share of the time spent adding the devices' partial outputs on the host.
Each run also measures the host's memory copy rate with the staging threads
(`host_copy_GBps`): pageable problems stop scaling where N links need more
than it. The issue's target: transfer-bound problems at least 0.9 x N times
one GPU's speed on N GPUs until host memory bandwidth binds.

  python3 bench/scaling.py [--bench build/bench/einstream_streaming_bench]
                           [--problems bench/ooc.json] [--counts 1,2,4,8]
                           [--only NAME,...] [--modes pageable,pinned]
                           [--repeat 3] [--out FILE.md] [--raw-dir DIR]
  python3 bench/scaling.py --from-json 1=raw1.json 2=raw2.json ...  # tables only

Run it on a machine with several GPUs with NCCL_NVLS_ENABLE=0 (see the
device notes); on one GPU it measures N=1 only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys

TRANSFER_BOUND_TARGET = 0.9


def visible_gpus() -> int:
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return 0
    return sum(1 for line in listing.stdout.splitlines() if line.startswith("GPU "))


def run_bench(args, count: int, raw_path: str) -> None:
    command = [args.bench, args.problems, "--out", raw_path, "--repeat", str(args.repeat),
               "--modes", args.modes]
    if args.only:
        command += ["--only", args.only]
    command += ["--devices", ",".join(str(device) for device in range(count))] if count > 1 \
        else ["--device", "0"]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=False)


def device_rows(report: dict) -> list[dict]:
    return report.get("devices") or [report]


def link_GBps(device: dict) -> float:
    seconds = device.get("seconds") or 0
    moved = device.get("bytes_to_device", 0) + device.get("bytes_to_host", 0)
    return moved / seconds / 1e9 if seconds > 0 else 0.0


def tables(runs: dict[int, dict]) -> str:
    counts = sorted(runs)
    base = runs[counts[0]]
    lines = []
    lines.append("| problem | kind | mode | GPUs | median s | speedup | efficiency | "
                 "per-device link GB/s | per-device overlap | combine share | host copy GB/s |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    misses = []
    for problem in base["problems"]:
        name = problem["name"]
        for mode in problem.get("modes", {}):
            one = problem["modes"][mode].get("median_seconds")
            for count in counts:
                entry = next((p for p in runs[count]["problems"] if p["name"] == name), None)
                result = (entry or {}).get("modes", {}).get(mode, {})
                host_copy = runs[count].get("calibration", {}).get("host_copy_GBps", 0)
                if "median_seconds" not in result:
                    lines.append(f"| {name} | {problem['kind']} | {mode} | {count} | "
                                 f"failed: {result.get('failed', 'not run')} | | | | | | |")
                    continue
                median = result["median_seconds"]
                speedup = one / median if one else 0
                report = result.get("report", {})
                devices = device_rows(report)
                links = ", ".join(f"{link_GBps(device):.1f}" for device in devices)
                overlaps = ", ".join(f"{device.get('overlap', 0):.0%}" for device in devices)
                combine = report.get("combine_seconds", 0) / median if median else 0
                combined_with = report.get("combined_with", "")
                lines.append(f"| {name} | {problem['kind']} | {mode} | {count} | {median:.4f} | "
                             f"{speedup:.2f}x | {speedup / count:.0%} | {links} | {overlaps} | "
                             f"{combine:.1%}{f' ({combined_with})' if combined_with else ''} | "
                             f"{host_copy:.1f} |")
                if problem["kind"] == "transfer-bound" and count > 1 and \
                        speedup < TRANSFER_BOUND_TARGET * count:
                    misses.append(f"{name} {mode} on {count} GPUs: {speedup:.2f}x "
                                  f"(target {TRANSFER_BOUND_TARGET * count:.1f}x)")
    text = "\n".join(lines) + "\n"
    if misses:
        text += "\nBelow the 0.9 x N target:\n" + "".join(f"- {miss}\n" for miss in misses)
    else:
        text += "\nEvery transfer-bound row meets 0.9 x N.\n"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", default="build/bench/einstream_streaming_bench")
    parser.add_argument("--problems", default="bench/ooc.json")
    parser.add_argument("--counts", default="1,2,4,8", help="device counts to run")
    parser.add_argument("--only", help="problems to run (names, comma-separated)")
    parser.add_argument("--modes", default="pageable,pinned")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="Markdown file (default bench/results/scaling-<gpu>.md)")
    parser.add_argument("--raw-dir", default="build/scaling", help="the bench's raw JSON files")
    parser.add_argument("--from-json", nargs="+", metavar="N=FILE",
                        help="tabulate earlier raw files instead of running")
    args = parser.parse_args()

    runs: dict[int, dict] = {}
    if args.from_json:
        for item in args.from_json:
            count, _, path = item.partition("=")
            with open(path) as handle:
                runs[int(count)] = json.load(handle)
    else:
        gpus = visible_gpus()
        counts = [int(c) for c in args.counts.split(",") if 0 < int(c) <= max(gpus, 1)]
        if gpus == 0:
            print("scaling: no GPU visible", file=sys.stderr)
            return 1
        os.makedirs(args.raw_dir, exist_ok=True)
        for count in counts:
            raw = os.path.join(args.raw_dir, f"scaling-{count}.json")
            run_bench(args, count, raw)
            with open(raw) as handle:
                runs[count] = json.load(handle)
    if not runs:
        print("scaling: nothing to tabulate", file=sys.stderr)
        return 1
    first = runs[min(runs)]
    device = first.get("device", {}).get("name", "unknown GPU")
    header = (f"# Strong scaling over the GPUs of one host: {device}\n\n"
              f"Made by `bench/scaling.py` on {datetime.date.today().isoformat()}: "
              f"`einstream_streaming_bench {first.get('settings', {}).get('problems_file', '')}` "
              f"once per GPU count ({', '.join(str(c) for c in sorted(runs))}), median of "
              f"{first.get('settings', {}).get('repeat', '?')} after a warm-up. Speedup: one GPU's "
              "median over N GPUs'; per-device columns list each device in order; combine share: "
              "combining the partial outputs (in brackets: with NCCL or on the host) over the "
              "median; host copy: the staging "
              "threads' pageable memcpy rate measured in the same run.\n\n")
    text = header + tables(runs)
    out = args.out or os.path.join(
        "bench", "results",
        "scaling-" + device.lower().replace(" ", "-") + f"-x{max(runs)}.md")
    with open(out, "w") as handle:
        handle.write(text)
    print(text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

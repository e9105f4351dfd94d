#!/usr/bin/env python3
"""Planning benchmark against the peers: einstream's `hyper` path search,
cotengra's HyperOptimizer (greedy + kahypar, subtree reconfiguration) and
opt_einsum's best of 128 random-greedy runs, on the same networks.

Every path is costed by opt_einsum's own contract_path (FLOPs as opt_einsum
counts them, largest intermediate), so the three compare 1:1; planning time
is each tool's wall time on this machine. cotengra, kahypar, optuna and
opt_einsum are peers for comparison only, never dependencies of einstream:

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install cotengra kahypar optuna opt_einsum
    /tmp/peers/bin/python bench/planning_peers.py --einstream build/einstream \\
        --out bench/results/planning-<machine>.md

Networks (closed, summed to a scalar, one mode per edge): random 3- and
4-regular graphs, square lattices, and Sycamore-like random circuit
amplitudes (qubits on a grid, two-qubit gates on a cycle of four coupler
patterns, one-qubit gates between, product input and output states).
"""
import argparse
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time


def regular(vertices, degree, bond, seed):
    # The configuration model: each vertex gets `degree` half-edges, a random
    # pairing joins them; redrawn until no self-loop or repeated edge.
    rng = random.Random(seed)
    while True:
        half_edges = [v for v in range(vertices) for _ in range(degree)]
        rng.shuffle(half_edges)
        edges = set()
        for k in range(0, len(half_edges), 2):
            a, b = half_edges[k], half_edges[k + 1]
            if a == b or (min(a, b), max(a, b)) in edges:
                break
            edges.add((min(a, b), max(a, b)))
        else:
            return network_of(vertices, sorted(edges), bond)


def lattice(rows, columns, bond):
    edges = []
    for r in range(rows):
        for c in range(columns):
            site = r * columns + c
            if c + 1 < columns:
                edges.append((site, site + 1))
            if r + 1 < rows:
                edges.append((site, site + columns))
    return network_of(rows * columns, edges, bond)


def network_of(operands, edges, bond):
    inputs = [[] for _ in range(operands)]
    for mode, (a, b) in enumerate(edges):
        inputs[a].append(mode)
        inputs[b].append(mode)
    return {"inputs": inputs, "output": [], "extents": {m: bond for m in range(len(edges))}}


def circuit(rows, columns, depth, seed):
    """A random-circuit amplitude <x|C|0> as a network: one tensor per gate
    (rank 2 for one-qubit gates, rank 4 for two-qubit gates), one per input
    and output state (rank 1); every wire segment a mode of extent 2."""
    rng = random.Random(seed)
    qubits = rows * columns
    inputs = []
    next_mode = [0]

    def new_mode():
        next_mode[0] += 1
        return next_mode[0] - 1

    wire = [new_mode() for _ in range(qubits)]
    for q in range(qubits):
        inputs.append([wire[q]])
    # Sycamore's four coupler patterns ABCD, as horizontal/vertical pairs
    # offset by the row or column parity.
    def pairs(pattern):
        result = []
        for r in range(rows):
            for c in range(columns):
                q = r * columns + c
                if pattern in (0, 1) and c + 1 < columns and (c + r + pattern) % 2 == 0:
                    result.append((q, q + 1))
                if pattern in (2, 3) and r + 1 < rows and (r + c + pattern) % 2 == 0:
                    result.append((q, q + columns))
        return result

    for cycle in range(depth):
        for q in range(qubits):
            if rng.random() < 0.5:
                continue  # not every qubit gets a one-qubit gate
            out = new_mode()
            inputs.append([wire[q], out])
            wire[q] = out
        for a, b in pairs((0, 2, 1, 3)[cycle % 4]):
            out_a, out_b = new_mode(), new_mode()
            inputs.append([wire[a], wire[b], out_a, out_b])
            wire[a], wire[b] = out_a, out_b
    for q in range(qubits):
        inputs.append([wire[q]])
    return {"inputs": inputs, "output": [], "extents": {m: 2 for m in range(next_mode[0])}}


NETWORKS = [
    ("random 3-regular n=50, bond 2", lambda: regular(50, 3, 2, 1)),
    ("random 3-regular n=100, bond 2", lambda: regular(100, 3, 2, 2)),
    ("random 3-regular n=200, bond 2", lambda: regular(200, 3, 2, 3)),
    ("random 4-regular n=60, bond 2", lambda: regular(60, 4, 2, 4)),
    ("random 4-regular n=100, bond 2", lambda: regular(100, 4, 2, 5)),
    ("random 3-regular n=100, bond 4", lambda: regular(100, 3, 4, 6)),
    ("lattice 8x8, bond 4", lambda: lattice(8, 8, 4)),
    ("lattice 12x12, bond 2", lambda: lattice(12, 12, 2)),
    ("circuit 4x5 qubits, depth 10", lambda: circuit(4, 5, 10, 7)),
    ("circuit 5x6 qubits, depth 12", lambda: circuit(5, 6, 12, 8)),
]


# einstream's second column: more trials and time, to see what the budget costs.
LONG_RUN = ["--path-trials", "1024", "--path-seconds", "10"]


def opt_einsum_cost(oe, network, path):
    symbols = {m: oe.get_symbol(k) for k, m in enumerate(sorted(network["extents"]))}
    terms = ["".join(symbols[m] for m in modes) for modes in network["inputs"]]
    equation = ",".join(terms) + "->"
    shapes = [tuple(network["extents"][m] for m in modes) for modes in network["inputs"]]
    _, info = oe.contract_path(equation, *shapes, shapes=True, optimize=[tuple(s) for s in path])
    return float(info.opt_cost), float(info.largest_intermediate)


def run_einstream(binary, network, extra):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump({"inputs": network["inputs"], "output": network["output"],
                   "extents": {str(m): e for m, e in network["extents"].items()}}, file)
        name = file.name
    try:
        start = time.perf_counter()
        done = subprocess.run([binary, "path", "--network", name, "--path", "hyper", "--json"] +
                              extra, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    finally:
        os.unlink(name)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    result = json.loads(done.stdout)
    return result["path"], result["seconds"], seconds


def run_cotengra(ctg, network, repeats):
    inputs = [tuple(modes) for modes in network["inputs"]]
    optimizer = ctg.HyperOptimizer(methods=["greedy", "kahypar"], max_repeats=repeats,
                                   reconf_opts={}, minimize="flops", parallel=False,
                                   progbar=False)
    start = time.perf_counter()
    tree = optimizer.search(inputs, (), network["extents"])
    return tree.get_path(), time.perf_counter() - start


def run_random_greedy(oe, network, repeats):
    symbols = {m: oe.get_symbol(k) for k, m in enumerate(sorted(network["extents"]))}
    equation = ",".join("".join(symbols[m] for m in modes) for modes in network["inputs"]) + "->"
    shapes = [tuple(network["extents"][m] for m in modes) for modes in network["inputs"]]
    start = time.perf_counter()
    path, _ = oe.contract_path(equation, *shapes, shapes=True,
                               optimize=oe.RandomGreedy(max_repeats=repeats))
    return path, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--einstream", default="build/einstream", help="the einstream CLI")
    parser.add_argument("--out", help="write the Markdown table here (else stdout only)")
    parser.add_argument("--repeats", type=int, default=128, help="cotengra/random-greedy trials")
    parser.add_argument("--only", help="run only networks whose name contains this")
    parser.add_argument("--peers-from", help="take the peers' rows from this earlier output "
                        "(its JSON lines) instead of running them again: they take minutes")
    args = parser.parse_args()
    earlier = {}
    if args.peers_from:
        with open(args.peers_from) as file:
            for line in file:
                if line.startswith("{"):
                    row = json.loads(line)
                    earlier[row["name"]] = row
    import cotengra as ctg
    import opt_einsum as oe

    rows = []
    for name, build in NETWORKS:
        if args.only and args.only not in name:
            continue
        network = build()
        row = {"name": name, "operands": len(network["inputs"])}
        for tool, extra in (("einstream", []), ("einstream-long", LONG_RUN)):
            try:
                path, search_seconds, _ = run_einstream(args.einstream, network, extra)
                row[tool] = opt_einsum_cost(oe, network, path) + (search_seconds,)
            except RuntimeError as error:
                row[tool + "_error"] = str(error)
        if name in earlier:
            row["cotengra"] = earlier[name]["cotengra"]
            row["random-greedy"] = earlier[name]["random-greedy"]
        else:
            path, seconds = run_cotengra(ctg, network, args.repeats)
            row["cotengra"] = opt_einsum_cost(oe, network, path) + (seconds,)
            path, seconds = run_random_greedy(oe, network, args.repeats)
            row["random-greedy"] = opt_einsum_cost(oe, network, path) + (seconds,)
        rows.append(row)
        print(json.dumps(row), flush=True)

    def cell(row, tool):
        if tool not in row:
            return "failed: " + row.get(tool + "_error", "")[:60], "", ""
        flops, largest, seconds = row[tool]
        return f"{math.log10(flops):.2f}", f"{math.log2(largest):.0f}", f"{seconds:.2f}"

    lines = [
        f"# Planning benchmark on {platform.machine()} ({os.cpu_count()} cores)",
        "",
        "Made by `bench/planning_peers.py`. Cost: log10 of the FLOPs as opt_einsum counts",
        "them (every path costed by opt_einsum's contract_path); width: log2 of the largest",
        "intermediate's elements; time: planning wall seconds (einstream: the path search as",
        "it reports it: defaults (128 trials, 1 s budget), and `--path-trials 1024",
        "--path-seconds 10`; cotengra: HyperOptimizer with greedy + kahypar,",
        f"{args.repeats} trials, subtree reconfiguration, one process; random-greedy: opt_einsum's",
        f"RandomGreedy, {args.repeats} trials).",
        "",
        "| network | operands | einstream hyper cost / width / s | einstream hyper, 1024 "
        "trials / 10 s | cotengra cost / width / s | random-greedy cost / width / s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    tools = ("einstream", "einstream-long", "cotengra", "random-greedy")
    for row in rows:
        cells = [" / ".join(cell(row, tool)) for tool in tools]
        lines.append(f"| {row['name']} | {row['operands']} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as file:
            file.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

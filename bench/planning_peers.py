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

With --capped, slicing under a cap on the largest intermediate instead
(2^20 and 2^24 elements, on the networks whose unsliced paths exceed it):
einstream's path with the slices chosen together with it
(bench/sliced_path.cpp, built as einstream_sliced_path), against
cotengra's SliceFinder (ContractionTree.slice) on einstream's own unsliced
path and on cotengra's HyperOptimizer tree; every sliced result is costed
by opt_einsum on the network with the sliced modes cut to their blocks,
times the block count:

    /tmp/peers/bin/python bench/planning_peers.py --capped \\
        --sliced-path build/bench/einstream_sliced_path --out-capped FILE.md

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


# Networks and caps (log2 elements) of the capped mode: those whose unsliced
# paths (width 24-32) exceed the caps.
CAPPED = [
    ("random 3-regular n=200, bond 2", (20, 24)),
    ("random 4-regular n=100, bond 2", (20, 24)),
    ("random 3-regular n=100, bond 4", (20, 24)),
    ("circuit 5x6 qubits, depth 12", (20,)),
]


def write_network(network):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump({"inputs": network["inputs"], "output": network["output"],
                   "extents": {str(m): e for m, e in network["extents"].items()}}, file)
        return file.name


def sliced_cost(oe, network, path, blocks):
    """opt_einsum's cost of `path` on the network with each sliced mode cut to
    its block, times the number of blocks (the blocks here divide their
    extents), and the largest intermediate of one block."""
    extents = dict(network["extents"])
    count = 1
    for mode, block in blocks.items():
        count *= -(-extents[mode] // block)
        extents[mode] = block
    flops, largest = opt_einsum_cost(oe, dict(network, extents=extents), path)
    return flops * count, largest, count


def run_sliced_path(binary, network, cap, extra=()):
    name = write_network(network)
    try:
        done = subprocess.run([binary, name, "--cap", str(cap)] + list(extra),
                              capture_output=True, text=True)
    finally:
        os.unlink(name)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    result = json.loads(done.stdout)
    result["sliced"] = {int(m): b for m, b in result["sliced"].items()}
    return result


def cotengra_slices(ctg, network, path, cap):
    """cotengra's SliceFinder on the tree of `path`: (path, blocks, seconds)."""
    inputs = [tuple(modes) for modes in network["inputs"]]
    tree = ctg.ContractionTree.from_path(inputs, (), network["extents"], path=path)
    start = time.perf_counter()
    sliced = tree.slice(target_size=cap)
    seconds = time.perf_counter() - start
    return sliced.get_path(), {m: 1 for m in sliced.sliced_inds}, seconds


def capped(args, ctg, oe):
    rows = []
    for name, build in NETWORKS:
        caps = dict(CAPPED).get(name)
        if caps is None or (args.only and args.only not in name):
            continue
        network = build()
        cotengra_tree = None
        for log_cap in caps:
            cap = 2 ** log_cap
            row = {"name": name, "operands": len(network["inputs"]), "log2_cap": log_cap}
            mine = run_sliced_path(args.sliced_path, network, cap)
            after = run_sliced_path(args.sliced_path, network, cap, ["--no-reconfigure"])
            unsliced_path = run_sliced_path(args.sliced_path, network, 2.0 ** 60)["path"]
            row["unsliced"], _ = opt_einsum_cost(oe, network, unsliced_path)
            row["einstream"] = sliced_cost(oe, network, mine["path"], mine["sliced"]) + (
                mine["path_seconds"] + mine["slice_seconds"],)
            row["einstream-after"] = sliced_cost(oe, network, after["path"], after["sliced"]) + (
                after["path_seconds"] + after["slice_seconds"],)
            # cotengra's SliceFinder on einstream's unsliced tree: the slicing
            # step alone, on the same tree.
            path, blocks, seconds = cotengra_slices(ctg, network, unsliced_path, cap)
            row["slicefinder-einstream-tree"] = sliced_cost(oe, network, path, blocks) + (seconds,)
            # cotengra's SliceFinder on cotengra's own HyperOptimizer tree.
            if cotengra_tree is None:
                cotengra_tree = run_cotengra(ctg, network, args.capped_repeats)
            path, blocks, seconds = cotengra_slices(ctg, network, cotengra_tree[0], cap)
            row["slicefinder-cotengra-tree"] = sliced_cost(oe, network, path, blocks) + (
                seconds + cotengra_tree[1],)
            rows.append(row)
            print(json.dumps(row), flush=True)
    tools = ("einstream", "einstream-after", "slicefinder-einstream-tree",
             "slicefinder-cotengra-tree")
    lines = [
        "## Sliced under a cap",
        "",
        "Made by `bench/planning_peers.py --capped`. Each cell: log10 of the FLOPs of every",
        "block together (opt_einsum's cost of the path on the network with the sliced modes",
        "cut to their blocks, times the block count) / log2 of the blocks / planning seconds.",
        "einstream: `hyper` (defaults) then slicing chosen with the path",
        "(planner/slice_finder, 0.5 s budget); einstream after: the same slices on the fixed",
        "path (`--no-reconfigure`); SliceFinder: cotengra's `ContractionTree.slice(target_size)`",
        "on einstream's unsliced tree, and on the tree of cotengra's HyperOptimizer (greedy +",
        f"kahypar, {args.capped_repeats} trials, reconfiguration; its search time included).",
        "Ratio: einstream's FLOPs over the better SliceFinder's.",
        "",
        "| network | cap | unsliced | einstream | einstream after the path | SliceFinder, "
        "einstream's tree | SliceFinder, cotengra's tree | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        cells = []
        for tool in tools:
            flops, largest, count, seconds = row[tool]
            assert largest <= 2 ** row["log2_cap"], (row["name"], tool, largest)
            cells.append(f"{math.log10(flops):.2f} / {math.log2(count):.0f} / {seconds:.2f}")
        best_peer = min(row["slicefinder-einstream-tree"][0], row["slicefinder-cotengra-tree"][0])
        ratio = row["einstream"][0] / best_peer
        lines.append(f"| {row['name']} | 2^{row['log2_cap']} | {math.log10(row['unsliced']):.2f} | "
                     + " | ".join(cells) + f" | {ratio:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out_capped:
        with open(args.out_capped, "w") as file:
            file.write(text)
    return 0


def read_peers(file):
    """The peers' rows of an earlier run: its JSON lines, or the first table
    of its Markdown output (the checked-in results file), whose cells
    `cost / width / s` give back the FLOPs and largest intermediate to the
    table's two decimals."""
    known = {name for name, _ in NETWORKS}
    earlier = {}
    in_first_table = True
    for line in file:
        if line.startswith("{"):
            row = json.loads(line)
            earlier[row["name"]] = row
        elif line.startswith("## "):
            in_first_table = False
        elif in_first_table and line.startswith("| "):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if cells[0] not in known or len(cells) < 6:
                continue
            row = {"name": cells[0]}
            for tool, cell in (("cotengra", cells[4]), ("random-greedy", cells[5])):
                cost, width, seconds = (float(value) for value in cell.split("/"))
                row[tool] = (10 ** cost, 2 ** width, seconds)
            earlier[cells[0]] = row
    return earlier


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--einstream", default="build/einstream", help="the einstream CLI")
    parser.add_argument("--out", help="write the Markdown table here (else stdout only)")
    parser.add_argument("--repeats", type=int, default=128, help="cotengra/random-greedy trials")
    parser.add_argument("--only", help="run only networks whose name contains this")
    parser.add_argument("--peers-from", help="take the peers' rows from this earlier output "
                        "(its JSON lines) instead of running them again: they take minutes")
    parser.add_argument("--capped", action="store_true",
                        help="slicing under caps of 2^20 and 2^24 elements instead")
    parser.add_argument("--sliced-path", default="build/bench/einstream_sliced_path",
                        help="bench/sliced_path.cpp's binary (--capped)")
    parser.add_argument("--capped-repeats", type=int, default=32,
                        help="cotengra's HyperOptimizer trials for the capped mode")
    parser.add_argument("--out-capped", help="write the capped mode's Markdown section here")
    args = parser.parse_args()
    earlier = {}
    if args.peers_from:
        with open(args.peers_from) as file:
            earlier = read_peers(file)
    import opt_einsum as oe
    # cotengra only where its rows are run here.
    names = [name for name, _ in NETWORKS if not args.only or args.only in name]
    ctg = None
    if args.capped or any(name not in earlier for name in names):
        import cotengra as ctg

    if args.capped:
        return capped(args, ctg, oe)

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

#!/usr/bin/env python3
"""Large tensor networks on the GPU, end to end through the CLI.

Random 3-regular graphs (integer modes in a --network FILE.json, so far more
modes than letters), planned by einstream (--path hyper, seed 0), executed on
the CUDA backend in f64 (sliced under a memory limit), and checked against
opt_einsum + torch (float64, on the GPU) contracting along einstream's own
path. Needs a GPU machine with numpy, torch and opt_einsum:

  python3 bench/large_networks.py ./build/einstream [WORK_DIR]

Prints one line per network: cost (log10 FLOPs), largest intermediate
(elements), planning and run times (the run's process, plan included), the
execution's own time and blocks, and the relative error.
"""
import json, os, random, subprocess, sys, time
import numpy, torch, opt_einsum

CLI = sys.argv[1]
WORK = sys.argv[2] if len(sys.argv) > 2 else "/tmp/einstream-networks"

def regular_graph(n, degree, seed):
    rng = random.Random(seed)
    while True:
        half_edges = [v for v in range(n) for _ in range(degree)]
        rng.shuffle(half_edges)
        edges, ok = set(), True
        for a, b in zip(half_edges[::2], half_edges[1::2]):
            if a == b or (min(a, b), max(a, b)) in edges:
                ok = False
                break
            edges.add((min(a, b), max(a, b)))
        if ok:
            return sorted(edges)

for n, bond, limit in [(100, 2, None), (200, 2, "1GiB"), (150, 3, "256MiB")]:
    edges = regular_graph(n, 3, n)
    modes = [[] for _ in range(n)]
    for label, (a, b) in enumerate(edges):
        modes[a].append(label)
        modes[b].append(label)
    rng = numpy.random.default_rng(n)
    tensors = [rng.standard_normal([bond] * len(m)) * 0.7 for m in modes]
    folder = f"{WORK}/n{n}b{bond}"
    os.makedirs(folder, exist_ok=True)
    files = []
    for i, t in enumerate(tensors):
        files.append(f"{folder}/t{i}.npy")
        numpy.save(files[-1], t)
    net = f"{folder}/net.json"
    json.dump({"inputs": modes, "output": [], "extents": {str(l): bond for l in range(len(edges))}},
              open(net, "w"))
    common = ["--network", net, "--path", "hyper", "--path-seed", "0"]
    if limit:
        common += ["--memory-limit", limit]
    start = time.perf_counter()
    p = subprocess.run([CLI, "path", *common, "--json"], capture_output=True, text=True)
    if p.returncode:
        print(f"n={n}: path failed: {p.stderr.strip()[:400]}")
        continue
    info = json.loads(p.stdout)
    plan_s = time.perf_counter() - start
    start = time.perf_counter()
    r = subprocess.run([CLI, "run", *common, *files, "-o", f"{folder}/out.npy", "--backend", "cuda",
                        "--time", "--report"], capture_output=True, text=True)
    run_s = time.perf_counter() - start
    if r.returncode:
        print(f"n={n} bond {bond} limit {limit}: run FAILED ({run_s:.1f} s): {r.stderr.strip()[:600]}")
        continue
    value = float(numpy.load(f"{folder}/out.npy"))
    eq = ",".join("".join(opt_einsum.get_symbol(x) for x in m) for m in modes) + "->"
    on_gpu = [torch.from_numpy(t).cuda() for t in tensors]
    path = [tuple(step) for step in info["path"]]
    ref = opt_einsum.contract(eq, *on_gpu, optimize=path, backend="torch").item()
    err = abs(value - ref) / abs(ref)
    lines = [l for l in (r.stdout + r.stderr).splitlines() if any(k in l.lower() for k in ("time", "block", "device", "slic"))]
    print(f"3-regular n={n} bond {bond} limit {limit}: log10 flops {numpy.log10(float(info['flops'])):.2f}, "
          f"largest {info['largest_intermediate']}, plan {plan_s:.2f} s, run (process) {run_s:.2f} s, "
          f"value {value:.6e}, reference {ref:.6e}, rel error {err:.1e}")
    for l in lines[:5]:
        print("   ", l.strip()[:160])
    sys.stdout.flush()

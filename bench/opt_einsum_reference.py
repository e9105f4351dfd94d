#!/usr/bin/env python3
"""Generates tests/data/opt_einsum_paths.json: opt_einsum's paths and costs
('optimal' where it is tractable, 'dp', 'greedy') for a fixed list of einsum
problems, so the C++ planner tests can compare with opt_einsum 1:1 without
Python. opt_einsum is a generator-time tool only, never a dependency:

    python3 -m venv /tmp/oe && /tmp/oe/bin/pip install opt_einsum numpy
    /tmp/oe/bin/python bench/opt_einsum_reference.py > tests/data/opt_einsum_paths.json
"""
import json
import random
import string
import sys

import opt_einsum as oe

LETTERS = string.ascii_letters  # 52 labels, as einstream's parser accepts


def lattice(rows, cols, bond, open_modes=False):
    """2D lattice: one operand per site, one mode per bond (plus one open
    physical mode per site if open_modes), contracted to a scalar."""
    labels = iter(LETTERS)
    horizontal = {(r, c): next(labels) for r in range(rows) for c in range(cols - 1)}
    vertical = {(r, c): next(labels) for r in range(rows - 1) for c in range(cols)}
    terms, shapes = [], []
    for r in range(rows):
        for c in range(cols):
            term = ""
            if c > 0:
                term += horizontal[(r, c - 1)]
            if c < cols - 1:
                term += horizontal[(r, c)]
            if r > 0:
                term += vertical[(r - 1, c)]
            if r < rows - 1:
                term += vertical[(r, c)]
            terms.append(term)
            shapes.append([bond] * len(term))
    return ",".join(terms) + "->", shapes


def random_regular(operands, degree, seed, low=2, high=16):
    """Random regular graph network (pairing model, retried until simple)."""
    rng = random.Random(seed)
    while True:
        stubs = [v for v in range(operands) for _ in range(degree)]
        rng.shuffle(stubs)
        edges = list(zip(stubs[0::2], stubs[1::2]))
        if all(a != b for a, b in edges) and len({tuple(sorted(e)) for e in edges}) == len(edges):
            break
    terms = [""] * operands
    extents = {}
    for label, (a, b) in zip(LETTERS, edges):
        terms[a] += label
        terms[b] += label
        extents[label] = rng.randint(low, high)
    shapes = [[extents[label] for label in term] for term in terms]
    return ",".join(terms) + "->", shapes


def random_sparse(operands, seed, modes=14, output_modes=2):
    """Random hypergraph-ish network with a few open output modes."""
    rng = random.Random(seed)
    labels = LETTERS[:modes]
    extents = {label: rng.randint(2, 12) for label in labels}
    terms = []
    for _ in range(operands):
        rank = rng.randint(1, 4)
        terms.append("".join(rng.sample(labels, rank)))
    used = sorted(set("".join(terms)))
    output = "".join(rng.sample(used, min(output_modes, len(used))))
    shapes = [[extents[label] for label in term] for term in terms]
    return ",".join(terms) + "->" + output, shapes


def problems():
    yield "matrix chain 3", "ij,jk,kl->il", [[10, 20], [20, 30], [30, 40]]
    yield "matrix chain 6", "ab,bc,cd,de,ef,fg->ag", [[30, 35], [35, 15], [15, 5], [5, 10], [10, 20], [20, 25]]
    yield "matrix-vector chain", "ij,jk,k->i", [[100, 100], [100, 100], [100]]
    yield "headline example", "jrl,ijr,ijrk,ijrl,ikmn->imn", [
        [1000, 3, 1024], [500, 1000, 3], [500, 1000, 3, 1024], [500, 1000, 3, 1024], [500, 1024, 9, 9]]
    yield "permuted pair", "abcd,dbef->aecf", [[32, 24, 16, 40], [40, 24, 8, 20]]
    yield "two modes contracted", "abc,bcd->ad", [[64, 32, 48], [32, 48, 80]]
    yield "batched product", "bij,bjk->bik", [[16, 32, 64], [16, 64, 32]]
    yield "hadamard and outer", "ij,ij,k->ijk", [[20, 30], [20, 30], [40]]
    yield "diagonal in a chain", "ii,ij,jk->k", [[20, 20], [20, 30], [30, 40]]
    yield "reduction and transpose", "ijk->ki", [[64, 32, 16]]
    yield "mps overlap 4", "ab,ac,bde,cdf,egh,fgi,hj,ij->", [
        [2, 8], [2, 8], [8, 2, 8], [8, 2, 8], [8, 2, 8], [8, 2, 8], [8, 2], [8, 2]]
    yield "mps expectation", "aib,ajc,ijkl,bkd,cle->de", [
        [16, 4, 16], [16, 4, 16], [4, 4, 4, 4], [16, 4, 16], [16, 4, 16]]
    yield "tree network", "ab,bcd,ce,df,fg,fh->aegh", [[4, 6], [6, 5, 7], [5, 3], [7, 9], [9, 2], [9, 8]]
    yield "star network", "xa,xb,xc,xd,xe->abcde", [[12, 3], [12, 4], [12, 5], [12, 2], [12, 3]]
    yield "ring of 8", "abI,bcJ,cdK,deL,efM,fgN,ghO,haP->IJKLMNOP", [[4, 4, 2]] * 8
    expression, shapes = lattice(3, 3, 16)
    yield "lattice 3x3 bond 16", expression, shapes
    expression, shapes = lattice(3, 4, 4)
    yield "lattice 3x4 bond 4", expression, shapes
    expression, shapes = lattice(4, 4, 3)
    yield "lattice 4x4 bond 3", expression, shapes
    expression, shapes = lattice(5, 5, 2)
    yield "lattice 5x5 bond 2", expression, shapes
    for operands, seed in [(6, 1), (8, 2), (10, 3), (12, 4), (16, 5), (20, 6), (24, 7), (30, 8)]:
        expression, shapes = random_regular(operands, 3, seed)
        yield f"random 3-regular n={operands} seed={seed}", expression, shapes
    for operands, seed in [(5, 11), (6, 12), (7, 13), (8, 14), (9, 15), (10, 16)]:
        expression, shapes = random_sparse(operands, seed)
        yield f"random sparse n={operands} seed={seed}", expression, shapes


def solve(expression, shapes, optimize):
    path, info = oe.contract_path(expression, *shapes, shapes=True, optimize=optimize)
    return {
        "path": [list(step) for step in path],
        "flops": int(info.opt_cost),
        "largest_intermediate": int(info.largest_intermediate),
    }


def main():
    cases = []
    for name, expression, shapes in problems():
        operands = len(shapes)
        case = {"name": name, "expression": expression, "shapes": shapes}
        if operands <= 9:
            case["optimal"] = solve(expression, shapes, "optimal")
        if operands <= 30:
            case["dp"] = solve(expression, shapes, "dp")
        case["greedy"] = solve(expression, shapes, "greedy")
        cases.append(case)
        print(f"{name}: " + ", ".join(f"{k} {case[k]['flops']:.3e}" for k in ("optimal", "dp", "greedy") if k in case),
              file=sys.stderr)
    json.dump({"generator": "bench/opt_einsum_reference.py", "opt_einsum": oe.__version__, "cases": cases},
              sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

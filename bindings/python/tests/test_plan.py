"""einstream.Plan and einstream.contract_path."""

import threading

import numpy
import pytest

import einstream
from conftest import assert_matches, random_array


def test_plan_from_shapes_runs_many_times(rng):
    plan = einstream.Plan("ij,jk->ik", (4, 5), (5, 6), dtype="float32", backend="host")
    assert plan.shape == (4, 6) and plan.dtype == numpy.float32 and plan.backend == "host"
    assert plan.path == [(0, 1)]
    for _ in range(3):
        a = random_array(rng, (4, 5), numpy.float32)
        b = random_array(rng, (5, 6), numpy.float32)
        assert_matches(plan(a, b), (a.astype(numpy.float64) @ b).astype(numpy.float32))


def test_plan_from_example_arrays_and_accumulate(rng):
    a, b = random_array(rng, (4, 5)), random_array(rng, (5, 6))
    plan = einstream.Plan("ij,jk->ik", a, b)
    out = numpy.ones((4, 6))
    assert plan(a, b, out=out, alpha=2.0, beta=1.0) is out
    assert_matches(out, 2 * (a @ b) + 1)
    with pytest.raises(ValueError, match="needs out"):
        plan(a, b, beta=1.0)


def test_plan_takes_new_strides(rng):
    a, b = random_array(rng, (4, 5)), random_array(rng, (5, 6))
    plan = einstream.Plan("ij,jk->ik", (4, 5), (5, 6))
    assert_matches(plan(a, b), a @ b)
    transposed = numpy.asfortranarray(a)
    assert_matches(plan(transposed, b[::-1][::-1]), a @ b)
    assert_matches(plan(a[::-1], b), a[::-1] @ b)


def test_plan_refuses_other_shapes_and_dtypes(rng):
    plan = einstream.Plan("ij,jk->ik", (4, 5), (5, 6))
    with pytest.raises(einstream.ShapeError, match=r"made for f64\[4, 5\]"):
        plan(numpy.ones((4, 4)), numpy.ones((4, 6)))
    with pytest.raises(einstream.ShapeError, match="f32"):
        plan(numpy.ones((4, 5), numpy.float32), numpy.ones((5, 6), numpy.float32))
    with pytest.raises(TypeError, match="takes 2 operands"):
        plan(numpy.ones((4, 5)))
    with pytest.raises(einstream.ShapeError, match="dtype=float32 was given"):
        einstream.Plan("ij->", numpy.ones((2, 2)), dtype="float32")


def test_plan_explain_and_info(rng):
    plan = einstream.Plan("ij,jk,kl->il", (10, 20), (20, 30), (30, 5), dtype=numpy.complex64)
    text = plan.explain()
    assert "ij,jk,kl->il" in text and "c64" in text
    assert str(plan.info) == text
    assert "speedup" in text and "program:" not in text
    program = plan.explain("program")
    assert program.startswith(text) and "program:" in program
    with pytest.raises(Exception, match="'summary' or 'program'"):
        plan.explain("full")
    assert plan.info.opt_cost > 0
    assert "einstream.Plan" in repr(plan)
    assert plan.workspace_bytes >= 0


def test_graph_replay_is_an_option_and_reported(rng):
    a, b = random_array(rng, (6, 5)), random_array(rng, (5, 4))
    for graph_replay in (True, False):
        plan = einstream.Plan("ij,jk->ik", a, b, backend="host", graph_replay=graph_replay)
        assert_matches(plan(a, b), a @ b)
        assert plan.last_report.graph_replayed is False  # the host backend launches nothing
    assert_matches(einstream.einsum("ij,jk->ik", a, b, graph_replay=False), a @ b)


def test_devices_are_checked_before_planning(rng):
    a, b = random_array(rng, (6, 5)), random_array(rng, (5, 4))
    with pytest.raises(ValueError, match="devices is empty"):
        einstream.Plan("ij,jk->ik", a, b, devices=[])
    with pytest.raises(ValueError, match="not a CUDA device index"):
        einstream.Plan("ij,jk->ik", a, b, devices=[0, "cpu"])
    with pytest.raises(ValueError, match="is not a CUDA device"):
        einstream.Plan("ij,jk->ik", a, b, devices=[0, "gpu1"])
    with pytest.raises(ValueError, match="starts with 0"):
        einstream.Plan("ij,jk->ik", a, b, device=1, devices=[0, 1])
    with pytest.raises(ValueError, match="runs on the host"):
        einstream.Plan("ij,jk->ik", a, b, devices=[0, 1], backend="host")
    with pytest.raises(ValueError, match="runs on the host"):
        einstream.einsum("ij,jk->ik", a, b, devices=[0, 1], device="cpu")
    if not einstream.devices():
        with pytest.raises(ValueError, match="no CUDA device is visible"):
            einstream.einsum("ij,jk->ik", a, b, devices="all")


def test_options_carry_a_device_list_and_reports_say_how_devices_combined(rng):
    from einstream import _einstream

    options = _einstream.Options()
    assert options.devices == []
    options.devices = [0, 0, 1]
    assert options.devices == [0, 0, 1]
    a, b = random_array(rng, (6, 5)), random_array(rng, (5, 4))
    plan = einstream.Plan("ij,jk->ik", a, b, backend="host")
    assert_matches(plan(a, b), a @ b)
    report = plan.last_report
    assert report.devices == [] and report.combine_seconds == 0 and report.combined_with == ""


def test_plan_from_several_threads(rng):
    a, b = random_array(rng, (30, 40)), random_array(rng, (40, 50))
    plan = einstream.Plan("ij,jk->ik", a, b)
    results = [None] * 4

    def work(slot):
        results[slot] = plan(a, b)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        assert_matches(result, a @ b)


def test_contract_path_is_opt_einsums_format():
    path, info = einstream.contract_path("ij,jk,kl->il", (4, 5), (5, 6), (6, 2))
    assert path == [(1, 2), (0, 1)]
    assert all(isinstance(step, tuple) for step in path)
    assert info.path == path and info.eq == "ij,jk,kl->il"
    # FLOPs as opt_einsum counts them: 2 * 5*6*2 + 2 * 4*5*2.
    assert info.opt_cost == 200
    assert info.largest_intermediate == 10
    assert "jk,kl->jl" in str(info)
    assert "PathInfo" in repr(info)


def test_contract_path_from_arrays_and_mixed(rng):
    a, b = random_array(rng, (4, 5)), random_array(rng, (5, 6))
    from_arrays, _ = einstream.contract_path("ij,jk->ik", a, b)
    mixed, info = einstream.contract_path("ij,jk->ik", a, (5, 6))
    assert from_arrays == mixed == [(0, 1)]
    assert "f64" in str(info)
    _, info32 = einstream.contract_path("ij,jk->ik", (4, 5), (5, 6), dtype="float32")
    assert "f32" in str(info32)


def test_contract_path_matches_opt_einsum_when_installed():
    opt_einsum = pytest.importorskip("opt_einsum")
    shapes = [(8, 16), (16, 4), (4, 32), (32, 8)]
    formula = "ab,bc,cd,de->ae"
    ours, info = einstream.contract_path(formula, *shapes, path="optimal")
    theirs, their_info = opt_einsum.contract_path(formula, *shapes, shapes=True,
                                                   optimize="optimal")
    assert info.opt_cost == pytest.approx(float(their_info.opt_cost))
    assert len(ours) == len(theirs)


def test_a_given_path_is_run_as_it_is(rng):
    a, b = random_array(rng, (30, 30)), random_array(rng, (30, 30))
    v = random_array(rng, (30,))
    searched, searched_info = einstream.contract_path("ij,jk,k->i", a, b, v)
    assert searched == [(1, 2), (0, 1)]
    given, info = einstream.contract_path("ij,jk,k->i", a, b, v, path=[(0, 1), (0, 1)])
    assert given == [(0, 1), (0, 1)] and info.opt_cost > searched_info.opt_cost
    assert "given (Options::given_path)" in str(info)
    for path in ([(0, 1), (0, 1)], [[1, 0], (1, 0)], [(0, 1, 2)], ["einsum_path", (0, 2), (0, 1)],
                 ((numpy.int64(0), numpy.int64(1)), (0, 1))):
        assert_matches(einstream.einsum("ij,jk,k->i", a, b, v, path=path, backend="host"),
                       a @ b @ v)
    plan = einstream.Plan("ij,jk,k->i", a, b, v, path=[(0, 2), (0, 1)], backend="host")
    assert plan.path == [(0, 2), (0, 1)]
    assert einstream.Plan("ij,jk,k->i", a, b, v, path=plan.path).path == plan.path
    # Sliced under a memory limit, along the same tree.
    sliced = einstream.Plan("ij,jk,k->i", a, b, v, path=[(0, 1), (0, 1)], backend="host",
                            memory_limit=4000)
    assert sliced.path == [(0, 1), (0, 1)] and "slicing       none" not in sliced.explain()
    assert_matches(sliced(a, b, v), a @ b @ v)


def test_an_object_with_get_path_gives_its_path(rng):
    class Tree:  # as a cotengra ContractionTree offers its path
        def get_path(self):
            return ((0, 2), (0, 1))

    a, b, c = (random_array(rng, shape) for shape in [(4, 5), (5, 6), (6, 3)])
    plan = einstream.Plan("ij,jk,kl->il", a, b, c, path=Tree(), backend="host")
    assert plan.path == [(0, 2), (0, 1)]
    assert_matches(plan(a, b, c), a @ b @ c)


def test_optimize_is_numpys_and_opt_einsums_name_of_path(rng):
    a, b, c = (random_array(rng, shape) for shape in [(4, 5), (5, 6), (6, 3)])
    expected = a @ b @ c
    assert_matches(einstream.einsum("ij,jk,kl->il", a, b, c, optimize=True), expected)
    assert einstream.contract_path("ij,jk,kl->il", a, b, c, optimize=False)[0] == [(0, 1), (0, 1)]
    numpy_path, _ = numpy.einsum_path("ij,jk,kl->il", a, b, c, optimize="optimal")
    assert_matches(einstream.einsum("ij,jk,kl->il", a, b, c, optimize=numpy_path), expected)
    assert einstream.Plan("ij,jk,kl->il", a, b, c, optimize="greedy").path == [(1, 2), (0, 1)]
    with pytest.raises(TypeError, match="both path and its alias optimize"):
        einstream.einsum("ij,jk,kl->il", a, b, c, path="dp", optimize="dp")
    opt_einsum = pytest.importorskip("opt_einsum")
    theirs, _ = opt_einsum.contract_path("ij,jk,kl->il", a, b, c, optimize="dp")
    assert_matches(einstream.einsum("ij,jk,kl->il", a, b, c, optimize=theirs), expected)


def test_bad_given_paths_are_refused_with_the_step_named(rng):
    a, b = random_array(rng, (4, 5)), random_array(rng, (5, 6))
    with pytest.raises(einstream.Error, match="given_path step 0 names operand 2"):
        einstream.einsum("ij,jk->ik", a, b, path=[(0, 2)])
    with pytest.raises(einstream.Error, match="leaves 2 operands uncontracted"):
        einstream.einsum("ij,jk->ik", a, b, path=[(0,)])
    with pytest.raises(TypeError, match="path step 1 is 'ab'"):
        einstream.einsum("ij,jk->ik", a, b, path=[(0, 1), "ab"])
    with pytest.raises(TypeError, match=r"path step 0 is \(0\.5, 1\)"):
        einstream.einsum("ij,jk->ik", a, b, path=[(0.5, 1)])
    with pytest.raises(TypeError, match="path must name an algorithm"):
        einstream.einsum("ij,jk->ik", a, b, path=3)
    with pytest.raises(ValueError, match="path step 0 names operand 1099511627776"):
        einstream.einsum("ij,jk->ik", a, b, path=[(0, 2**40)])
    with pytest.raises(ValueError, match="empty contraction path"):
        einstream.einsum("ij,jk->ik", a, b, path=[])
    with pytest.raises(ValueError, match="branch-2"):
        einstream.einsum("ij,jk->ik", a, b, path="branch-2")

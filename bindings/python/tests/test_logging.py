"""The library's log reaches Python's logging under the logger "einstream":
plans and executions at DEBUG, as the old tool logged them."""

import logging

import numpy
import pytest

import einstream
from conftest import assert_matches, random_array


def einstream_messages(caplog, level):
    return [r.getMessage() for r in caplog.records if r.name == "einstream" and r.levelno == level]


def test_plan_and_execution_are_logged_at_debug(caplog, rng):
    caplog.set_level(logging.DEBUG, logger="einstream")
    a = random_array(rng, (4, 4000))
    b = random_array(rng, (4000, 4))
    # A byte budget that slices j: the execution runs in several blocks.
    result = einstream.einsum("ij,jk->ik", a, b, backend="host",
                              memory_limit=4 * 4 * 8 + 4 * 1000 * 8 * 2 * 2)
    assert_matches(result, numpy.einsum("ij,jk->ik", a, b))
    debug = einstream_messages(caplog, logging.DEBUG)
    assert any(m.startswith("plan 'ij,jk->ik': path auto found in ") for m in debug), debug
    assert any(m.startswith("plan: backend host, memory limit ") and "(j in " in m
               for m in debug), debug
    assert any(m.startswith("execute on host: ") and m.endswith(" blocks") for m in debug), debug
    assert any(m.startswith("execute on host: done in ") for m in debug), debug
    assert any("computing, no host-device copies" in m for m in debug), debug


def test_a_plan_and_its_executions_log_each_call(caplog, rng):
    caplog.set_level(logging.DEBUG, logger="einstream")
    plan = einstream.Plan("ij,j->i", (3, 5), (5,), dtype="complex64", backend="host")
    for _ in range(2):
        a = random_array(rng, (3, 5), numpy.complex64)
        b = random_array(rng, (5,), numpy.complex64)
        assert_matches(plan(a, b), numpy.einsum("ij,j->i", a, b))
    done = [m for m in einstream_messages(caplog, logging.DEBUG)
            if m.startswith("execute on host: done in ")]
    assert len(done) == 2, done


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING, logging.ERROR])
def test_nothing_is_logged_above_debug(caplog, rng, level):
    caplog.set_level(level, logger="einstream")
    a = random_array(rng, (6, 2))
    result = einstream.einsum("ij->ji", a, backend="host")
    assert_matches(result, numpy.einsum("ij->ji", a))
    assert [r for r in caplog.records if r.name == "einstream"] == []

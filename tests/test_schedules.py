"""Schedules are pure functions of progress: exact values at known points."""

import math

import numpy as np
import pytest

from course_utils.schedules import (
    combine,
    constant,
    cosine,
    exponential,
    linear,
    one_cycle_lr,
    one_cycle_mom,
    sgdr_epochs,
    sgdr_lr,
)


def test_basic_schedules_at_known_points():
    assert constant(3.0, 7.0, 0.6) == 3.0
    assert [linear(2.0, 4.0, p) for p in (0, 0.25, 1)] == [2.0, 2.5, 4.0]
    assert cosine(1.0, 0.0, 0) == 1.0
    assert cosine(1.0, 0.0, 0.5) == pytest.approx(0.5)
    assert cosine(1.0, 0.0, 1) == pytest.approx(0.0, abs=1e-15)
    assert cosine(2.0, 0.0, 0.25) == pytest.approx(1 + math.cos(math.pi / 4))
    assert cosine(0.0, 1.0, 0.5) == pytest.approx(0.5)  # upwards too
    assert exponential(1e-7, 10.0, 0) == pytest.approx(1e-7)
    assert exponential(1e-7, 10.0, 0.5) == pytest.approx(10**-3)  # midway in log space
    assert exponential(1e-7, 10.0, 1) == pytest.approx(10.0)


def test_schedules_work_elementwise_on_per_group_arrays():
    start, end = np.array([1e-3, 1e-2]), np.array([1e-5, 1e-4])
    assert np.allclose(cosine(start, end, 0.5), (start + end) / 2)
    assert np.allclose(linear(start, end, 1.0), end)


def test_combine_hands_each_piece_its_own_progress():
    sched = combine([0.25, 0.75], [lambda p: ("a", p), lambda p: ("b", p)])
    assert sched(0.0) == ("a", 0.0)
    assert sched(0.125) == ("a", 0.5)
    assert sched(0.25) == ("b", 0.0)  # a boundary belongs to the next piece
    assert sched(0.625) == ("b", 0.5)
    assert sched(1.0) == ("b", 1.0)


@pytest.mark.parametrize(
    ("pcts", "n", "message"),
    [([0.5], 2, "one fraction per schedule"), ([0.5, 0.6], 2, "sum to 1"), ([], 0, "one fraction")],
)
def test_combine_rejects_bad_fractions(pcts, n, message):
    with pytest.raises(ValueError, match=message):
        combine(pcts, [constant] * n)


def test_one_cycle_lr_goes_up_then_down():
    sched = one_cycle_lr(1.0, pct_start=0.25, div=25.0, div_final=1e5)
    assert sched(0.0) == pytest.approx(1 / 25)
    assert sched(0.25) == pytest.approx(1.0)
    assert sched(0.125) == pytest.approx(cosine(1 / 25, 1.0, 0.5))
    assert sched(1.0) == pytest.approx(1e-5)
    trace = [sched(i / 100) for i in range(101)]
    peak = int(np.argmax(trace))
    assert peak == 25
    assert all(a <= b for a, b in zip(trace[:peak], trace[1 : peak + 1], strict=True))
    assert all(a >= b for a, b in zip(trace[peak:-1], trace[peak + 1 :], strict=True))


def test_one_cycle_momentum_is_the_inverse():
    sched = one_cycle_mom((0.95, 0.85, 0.95), pct_start=0.3)
    assert sched(0.0) == pytest.approx(0.95)
    assert sched(0.3) == pytest.approx(0.85)
    assert sched(1.0) == pytest.approx(0.95)
    lr = one_cycle_lr(1.0, pct_start=0.3)
    # where the learning rate is highest, momentum is lowest
    positions = np.linspace(0, 1, 41)
    assert np.argmax([lr(p) for p in positions]) == np.argmin([sched(p) for p in positions])


@pytest.mark.parametrize("pct", [0, 1, -0.1, 1.5])
def test_one_cycle_rejects_bad_pct_start(pct):
    with pytest.raises(ValueError, match="pct_start"):
        one_cycle_lr(1.0, pct_start=pct)
    with pytest.raises(ValueError, match="pct_start"):
        one_cycle_mom(pct_start=pct)


def test_sgdr_epochs_grow_by_cycle_mult():
    assert sgdr_epochs(3, 1, 2) == [1, 2, 4]
    assert sgdr_epochs(2, 3, 1) == [3, 3]
    for bad in ({"n_cycles": 0}, {"cycle_len": 0}, {"cycle_mult": 0}, {"cycle_len": 1.5}):
        args = {"n_cycles": 2, "cycle_len": 1, "cycle_mult": 1, **bad}
        with pytest.raises(ValueError, match=next(iter(bad))):
            sgdr_epochs(**args)


@pytest.mark.parametrize("per_epoch", [1, 3, 7, 10])
def test_sgdr_restarts_exactly_at_cycle_boundaries(per_epoch):
    # 3 cycles of 1, 2 and 4 epochs: restarts at epochs 0, 1 and 3 (of 7)
    sched = sgdr_lr(0.1, n_cycles=3, cycle_len=1, cycle_mult=2)
    total = 7 * per_epoch
    trace = np.array([sched(i / total) for i in range(total)])
    restarts = [i for i in range(1, total) if trace[i] >= trace[i - 1]]
    assert restarts == [1 * per_epoch, 3 * per_epoch]
    assert np.allclose(trace[[0, per_epoch, 3 * per_epoch]], 0.1)
    # midway through the 4-epoch cycle, the cosine is at half the rate
    assert sched(5 / 7) == pytest.approx(0.05)


def test_sgdr_anneals_to_lr_min():
    sched = sgdr_lr(1.0, n_cycles=2, cycle_len=2, lr_min=0.1)
    assert sched(0.5 - 1e-6) == pytest.approx(0.1, abs=1e-9)
    assert sched(0.5) == pytest.approx(1.0)
    assert sched(1.0) == pytest.approx(0.1)

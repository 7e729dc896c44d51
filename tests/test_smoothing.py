"""course_utils.smoothing: the bias-corrected exponentially weighted moving average that the
LR finder, plot_losses and the optimisers chapter share, against its closed form and pandas."""

import numpy as np
import pandas as pd
import pytest

from course_utils.smoothing import auto_beta, ema, ema_step


def closed_form(values, beta, bias_correction=True):
    """avg_t = (1 - beta) sum_{i <= t} beta^(t - i) x_i, divided by 1 - beta^t if corrected."""
    x = np.asarray(values, dtype=np.float64)
    out = []
    for t in range(1, len(x) + 1):
        weights = (1 - beta) * beta ** np.arange(t - 1, -1, -1)  # beta^(t-1) .. beta^0
        avg = float(weights @ x[:t])
        out.append(avg / (1 - beta**t) if bias_correction else avg)
    return np.array(out)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.98])
def test_ema_matches_its_closed_form_and_pandas(beta):
    x = np.random.default_rng(0).normal(size=60) + 2
    np.testing.assert_allclose(ema(x, beta), closed_form(x, beta), rtol=1e-12)
    np.testing.assert_allclose(ema(x, beta, bias_correction=False), closed_form(x, beta, False))
    # pandas' "adjusted" average divides by the sum of the weights: the bias correction
    reference = pd.Series(x).ewm(alpha=1 - beta, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(ema(x, beta), reference, rtol=1e-12)


def test_bias_correction_starts_at_the_first_value():
    smoothed = ema([3.0, 3.0, 3.0], 0.9)
    np.testing.assert_allclose(smoothed, [3.0, 3.0, 3.0])  # no bias towards the zero start
    plain = ema([3.0, 3.0, 3.0], 0.9, bias_correction=False)
    np.testing.assert_allclose(plain, [0.3, 0.57, 0.813])  # 3 (1 - 0.9^t)
    np.testing.assert_array_equal(ema([1.0, 5.0, 2.0], 0.0), [1.0, 5.0, 2.0])
    assert ema([], 0.9).shape == (0,)
    assert ema(np.arange(4, dtype=np.float32), 0.5).dtype == np.float64


def test_ema_is_ema_step_applied_in_turn():
    """The incremental form (the LR finder's callback) gives exactly the same numbers."""
    x = list(np.random.default_rng(1).random(50))
    average, steps = 0.0, []
    for t, value in enumerate(x, start=1):
        average, corrected = ema_step(average, value, 0.98, t)
        steps.append(corrected)
    assert ema(x, 0.98).tolist() == steps
    assert ema_step(0.0, 2.0, 0.5, 1) == (1.0, 2.0)


def test_ema_rejects_bad_input():
    with pytest.raises(ValueError, match="beta"):
        ema([1.0], 1.0)
    with pytest.raises(ValueError, match="beta"):
        ema([1.0], -0.1)
    with pytest.raises(ValueError, match="1-D"):
        ema(np.ones((2, 2)), 0.9)


def test_auto_beta_is_the_one_the_lr_finder_exports():
    from course_utils import lr_finder

    assert lr_finder.auto_beta is auto_beta
    assert 1 / (1 - auto_beta(100)) == pytest.approx(25)  # a window of a quarter of the run

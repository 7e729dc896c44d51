"""The exponentially weighted moving average with bias correction, for every smoothed curve.

Lesson 5 (the optimisers chapter) derives it for Adam's moments; the learning-rate
finder (:mod:`course_utils.lr_finder`, lessons 1-2) smooths the loss of its sweep with
it, and :func:`~course_utils.viz.plot_losses` the loss of a training run. Given values
``x_1, x_2, ...``::

    avg_t = beta * avg_{t-1} + (1 - beta) * x_t        avg_0 = 0
    smoothed_t = avg_t / (1 - beta^t)                  t = 1, 2, ...

Unrolled, ``avg_t = (1 - beta) * sum_{i <= t} beta^(t - i) * x_i``: every value counts,
with a weight that shrinks by ``beta`` per step, so the average spans about
``1 / (1 - beta)`` values (and lags about as many behind them). Starting from zero, the
weights add up to ``1 - beta^t`` only, which biases the early averages towards zero;
dividing by that sum (the **bias correction**) removes the bias, so ``smoothed_1 = x_1``.

:func:`ema_step` is one step, for code that sees one value at a time (the finder's
callback); :func:`ema` runs it over a whole sequence; :func:`auto_beta` picks ``beta``
for a sequence of a given length.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["auto_beta", "ema", "ema_step"]


def ema_step(
    average: float,
    value: float,
    beta: float,
    t: int,
) -> tuple[float, float]:
    """One step of the average at step ``t`` (1 for the first value):
    the new running average ``beta * average + (1 - beta) * value`` and
    its bias-corrected value ``average / (1 - beta**t)``."""
    average = beta * average + (1 - beta) * value
    return average, average / (1 - beta**t)


def ema(
    values: Iterable[float],
    beta: float,
    bias_correction: bool = True,
) -> np.ndarray:
    """The exponentially weighted moving average of ``values``, in
    float64: ``ema_step`` once per value, starting from an average of 0.
    Bias-corrected by default; ``bias_correction=False`` gives the plain
    running average. ``beta`` is in [0, 1), and 0 returns the values
    themselves."""
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(
            f"values must be a 1-D sequence, got shape {values.shape}",
        )
    out, average = np.empty(len(values)), 0.0
    for t, value in enumerate(values, start=1):
        average, corrected = ema_step(average, value, beta, t)
        out[t - 1] = corrected if bias_correction else average
    return out


def auto_beta(n_points: int, window_fraction: float = 0.25, max_beta: float = 0.98) -> float:
    """A smoothing factor for ``n_points`` values whose averaging window, about
    ``1 / (1 - beta)`` points, is at most ``window_fraction`` of them (and ``max_beta``
    at most): ``beta = min(max_beta, 1 - 1 / (window_fraction * n_points))``, 0 for
    runs too short to smooth. With the defaults: 30 points 0.867, 100 points 0.96,
    200 or more 0.98."""
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 1:
        raise ValueError(f"n_points must be a positive int, got {n_points!r}")
    if not 0 < window_fraction <= 1:
        raise ValueError(f"window_fraction must be in (0, 1], got {window_fraction}")
    return max(0.0, min(max_beta, 1 - 1 / (window_fraction * n_points)))

"""Rossmann's metric: the root mean squared *percentage* error.

Kaggle scored the Rossmann competition with RMSPE,
``sqrt(mean(((y - y_hat) / y)^2))``: an error of 100 sales counts as much as 10%
of a day's sales, whatever the size of the store. It is undefined where ``y = 0``;
Kaggle's scoring ignored the days with zero sales (shops closed).

The 2018 notebook trains on log sales and computes the metric on ``exp`` of the
predictions: :func:`exp_rmspe`. Both functions take torch tensors (the result is
then a 0-d tensor, so the course's :class:`~course_utils.learner.Learner` can use
them as metrics) or numpy arrays (the result is then a float, as for scikit-learn's
predictions). They are marked :func:`~course_utils.metrics.whole_set`: a root of a
mean is computed once on the whole validation set, not averaged over batches.
:func:`course_utils.metrics.exp_rmspe` is the same formula, for tensors only.
"""

from __future__ import annotations

import numpy as np
import torch

from course_utils.metrics import _check_regression as check_regression
from course_utils.metrics import whole_set

__all__ = ["exp_rmspe", "rmspe"]


def _columns(name: str, pred, target) -> tuple[torch.Tensor, torch.Tensor]:
    """pred and target as float64 tensors of the same shape, (N,) and (N, 1) alike."""
    # torch.tensor copies: pandas' arrays may be read-only, which torch warns about
    p = pred if isinstance(pred, torch.Tensor) else torch.tensor(np.asarray(pred, dtype=float))
    t = (
        target
        if isinstance(target, torch.Tensor)
        else torch.tensor(np.asarray(target, dtype=float))
    )
    p, t = check_regression(name, p, t.to(p.device))  # the rule every regression metric uses
    if p.numel() == 0:
        raise ValueError(f"{name} of no rows is undefined")
    return p.double(), t.double()


def _result(value: torch.Tensor, pred):
    # tensors in, a 0-d float32 tensor out (as the other metrics); arrays in, a float out
    return value.float() if isinstance(pred, torch.Tensor) else float(value)


@whole_set
def rmspe(pred, target):
    """Root mean squared percentage error: ``sqrt(mean(((target - pred) / target)^2))``.

    A ValueError if a target is 0: the percentage error of a zero is undefined.
    """
    p, t = _columns("rmspe", pred, target)
    zeros = int((t == 0).sum())
    if zeros:
        raise ValueError(
            f"rmspe: {zeros} of {t.numel()} targets are 0, where a percentage error is "
            "undefined; drop those rows first (Kaggle's Rossmann scoring ignores the "
            "days with zero sales)"
        )
    value = (((t - p) / t) ** 2).mean().sqrt()  # (N,) relative errors -> one number
    return _result(value, pred)


@whole_set
def exp_rmspe(log_pred, log_target):
    """RMSPE of ``exp(log_pred)`` against ``exp(log_target)``: for models of log targets."""
    p, t = _columns("exp_rmspe", log_pred, log_target)
    value = rmspe(p.exp(), t.exp())
    return _result(value, log_pred)

"""Metrics: how good the predictions are, in numbers a person reads.

A metric is a function ``(preds, targets) -> scalar tensor``. The learner
averages it over the validation batches weighted by batch size; a metric marked
with :func:`whole_set` is computed once on all the validation predictions
instead (RMSE-like metrics, where the mean of per-batch values is not the value).

Used by lesson 1-2 (``accuracy``, ``error_rate``, the confusion matrix),
lesson 3 (Planet: multi-label ``accuracy_thresh`` and F2, ``fbeta``), lesson 4
(Rossmann: ``exp_rmspe``) and lesson 5 (``rmse`` for collaborative filtering).

``preds`` are the model's raw outputs: logits for classification (the argmax
of logits and of probabilities agree; the multi-label metrics apply a sigmoid
unless ``sigmoid=False``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

__all__ = [
    "accuracy",
    "accuracy_thresh",
    "confusion_matrix",
    "error_rate",
    "exp_rmspe",
    "fbeta",
    "metric_name",
    "per_class_accuracy",
    "rmse",
    "whole_set",
]


def whole_set(metric: Callable) -> Callable:
    """Mark ``metric`` to be computed on the whole validation set, not per batch."""
    metric.whole_set = True
    return metric


def metric_name(metric: Callable) -> str:
    """The column name of a metric: its function name, also through ``functools.partial``."""
    while isinstance(metric, partial):
        metric = metric.func
    return getattr(metric, "__name__", type(metric).__name__)


def _check_classes(name: str, preds: torch.Tensor, targets: torch.Tensor) -> None:
    if preds.ndim != 2 or targets.ndim != 1 or preds.shape[0] != targets.shape[0]:
        raise ValueError(
            f"{name} expects preds (N, C) and targets (N,), "
            f"got preds {tuple(preds.shape)} and targets {tuple(targets.shape)}"
        )


def _check_multilabel(name: str, preds: torch.Tensor, targets: torch.Tensor) -> None:
    if preds.ndim != 2 or preds.shape != targets.shape:
        raise ValueError(
            f"{name} expects preds (N, C) and 0/1 targets (N, C) of the same shape, "
            f"got preds {tuple(preds.shape)} and targets {tuple(targets.shape)}"
        )


def _check_regression(name: str, preds: torch.Tensor, targets: torch.Tensor):
    # (N,) and (N, 1) are the same column of numbers; anything else must match exactly
    p = preds.squeeze(-1) if preds.ndim == 2 and preds.shape[-1] == 1 else preds
    t = targets.squeeze(-1) if targets.ndim == 2 and targets.shape[-1] == 1 else targets
    if p.shape != t.shape:
        raise ValueError(
            f"{name} expects preds and targets of the same shape, e.g. (N,) or (N, 1), "
            f"got preds {tuple(preds.shape)} and targets {tuple(targets.shape)}"
        )
    return p.float(), t.float()


def accuracy(preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose highest-scoring class is the target: preds (N, C), targets (N,)."""
    _check_classes("accuracy", preds, targets)
    return (preds.argmax(dim=1) == targets).float().mean()


def error_rate(preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``1 - accuracy``: the fraction of rows classified wrongly."""
    _check_classes("error_rate", preds, targets)
    return 1 - accuracy(preds, targets)


def _binarise(preds: torch.Tensor, thresh: float, sigmoid: bool) -> torch.Tensor:
    return (preds.sigmoid() if sigmoid else preds) > thresh


def accuracy_thresh(
    preds: torch.Tensor, targets: torch.Tensor, thresh: float = 0.5, sigmoid: bool = True
) -> torch.Tensor:
    """Multi-label accuracy: fraction of (row, label) cells where
    ``sigmoid(pred) > thresh`` agrees with the 0/1 target. preds, targets (N, C)."""
    _check_multilabel("accuracy_thresh", preds, targets)
    return (_binarise(preds, thresh, sigmoid) == targets.bool()).float().mean()


def fbeta(
    preds: torch.Tensor,
    targets: torch.Tensor,
    beta: float = 2.0,
    thresh: float = 0.2,
    sigmoid: bool = True,
    zero_division: float = 0.0,
) -> torch.Tensor:
    """Multi-label F-beta averaged over samples (Planet's F2 at threshold 0.2).

    Per row, with tp true positives, n_pred predicted and n_true actual labels:
    ``F = (1 + beta^2) tp / (beta^2 n_true + n_pred)``, which is
    ``(1 + beta^2) P R / (beta^2 P + R)``. A row with no true and no predicted
    labels scores ``zero_division``. Equals scikit-learn's
    ``fbeta_score(..., average="samples", zero_division=...)``.
    """
    _check_multilabel("fbeta", preds, targets)
    predicted = _binarise(preds, thresh, sigmoid).float()  # (N, C)
    actual = targets.float()  # (N, C)
    tp = (predicted * actual).sum(dim=1)  # (N,)
    b2 = beta**2
    denominator = b2 * actual.sum(dim=1) + predicted.sum(dim=1)  # (N,)
    per_row = torch.where(
        denominator > 0,
        (1 + b2) * tp / denominator.clamp(min=1e-12),
        torch.full_like(tp, zero_division),
    )
    return per_row.mean()


@whole_set
def rmse(preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Root mean squared error: ``sqrt(mean((pred - target)^2))``."""
    p, t = _check_regression("rmse", preds, targets)
    return ((p - t) ** 2).mean().sqrt()


@whole_set
def exp_rmspe(preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Rossmann's root mean squared percentage error, from log-sales predictions.

    With ``y = exp(target)`` and ``y_hat = exp(pred)``:
    ``sqrt(mean(((y - y_hat) / y)^2))``.
    """
    p, t = _check_regression("exp_rmspe", preds, targets)
    y, y_hat = t.double().exp(), p.double().exp()
    return (((y - y_hat) / y) ** 2).mean().sqrt().float()


def _predicted_classes(name: str, preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if preds.ndim == 2:
        _check_classes(name, preds, targets)
        return preds.argmax(dim=1)
    if preds.shape != targets.shape or preds.ndim != 1:
        raise ValueError(
            f"{name} expects preds (N, C) scores or (N,) class indices and targets (N,), "
            f"got preds {tuple(preds.shape)} and targets {tuple(targets.shape)}"
        )
    return preds.long()


def confusion_matrix(
    preds: torch.Tensor, targets: torch.Tensor, n_classes: int | None = None
) -> torch.Tensor:
    """Counts ``cm[actual, predicted]`` (scikit-learn's layout): rows are true classes.

    ``preds`` are (N, C) scores (the argmax is taken) or (N,) class indices.
    ``n_classes`` defaults to C, or to the largest class seen plus one.
    """
    predicted = _predicted_classes("confusion_matrix", preds, targets)
    actual = targets.long()
    if n_classes is None:
        seen = int(torch.cat([predicted, actual]).max()) + 1 if len(actual) else 0
        n_classes = preds.shape[1] if preds.ndim == 2 else seen
    flat = actual * n_classes + predicted  # (N,) index of the cell each row falls in
    counts = torch.bincount(flat.cpu(), minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def per_class_accuracy(
    preds: torch.Tensor, targets: torch.Tensor, n_classes: int | None = None
) -> torch.Tensor:
    """For each true class, the fraction of its rows predicted correctly (its recall).

    A (C,) float tensor; NaN for a class with no rows.
    """
    cm = confusion_matrix(preds, targets, n_classes).double()
    return cm.diagonal() / cm.sum(dim=1)

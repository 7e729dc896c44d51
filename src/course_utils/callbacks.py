"""Callbacks: small objects that hook into the training loop at named events.

The :class:`~course_utils.learner.Learner` runs one fixed loop (lesson 5,
*inside the training loop*); everything else (recording losses, printing a
table, scheduling the learning rate, the learning-rate finder of lesson 1) is a
callback. :class:`Callback` lists every event as a documented no-op method, so
the whole protocol reads in one class. A callback overrides the events it needs
and reads or changes the learner through ``self.learn``.

Order of events in ``fit``::

    before_fit
      for each epoch:  before_epoch
        before_train     for each batch: before_batch, after_pred, after_loss,
                                         after_backward, after_step, after_batch
        after_train
        before_validate  for each batch: before_batch, after_pred, after_loss, after_batch
        after_validate
      after_epoch
    after_fit

Raising :class:`CancelBatchException` skips the rest of a batch (no step),
:class:`CancelEpochException` the rest of an epoch (including its validation),
:class:`CancelFitException` the rest of training. Each is followed by
``after_cancel_batch`` / ``after_cancel_epoch`` / ``after_cancel_fit`` and then
by the matching ``after_batch`` / ``after_epoch`` / ``after_fit``. ``after_fit``
is guaranteed: it runs in a ``finally`` block, even when training fails with
another error, so a callback can always restore what it changed.

Callbacks run in increasing ``order`` (ties: the order they were added).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

import torch

from course_utils.metrics import metric_name
from course_utils.schedules import Schedule

if TYPE_CHECKING:
    from course_utils.learner import Learner

__all__ = [
    "EVENTS",
    "Callback",
    "CancelBatchException",
    "CancelEpochException",
    "CancelFitException",
    "GradientClipping",
    "ParamScheduler",
    "ProgressPrinter",
    "Recorder",
]


class CancelBatchException(Exception):
    """Raise in a callback to skip the rest of the current batch (no optimiser step)."""


class CancelEpochException(Exception):
    """Raise in a callback to skip the rest of the current epoch, validation included."""


class CancelFitException(Exception):
    """Raise in a callback to stop training; ``after_fit`` still runs."""


class Callback:
    """Base class: every event of the training loop, each a no-op to override.

    ``order`` sorts callbacks (lower runs first). ``learn`` is set by the
    learner when the callback is added.
    """

    order: int = 0
    learn: Learner

    def before_fit(self) -> None:
        """Training starts: the optimiser exists, ``learn.n_epochs`` is set."""

    def before_epoch(self) -> None:
        """An epoch starts: ``learn.epoch`` is its index (0-based)."""

    def before_train(self) -> None:
        """The training phase of the epoch starts; the model is in train mode."""

    def before_batch(self) -> None:
        """A batch is on the device as ``learn.xb`` / ``learn.yb``, before the forward pass."""

    def after_pred(self) -> None:
        """The forward pass is done: ``learn.pred`` holds the model's output."""

    def after_loss(self) -> None:
        """``learn.loss`` holds the batch's loss (a scalar tensor, not yet backpropagated)."""

    def after_backward(self) -> None:
        """Gradients are in ``p.grad``; the optimiser has not stepped (training only)."""

    def after_step(self) -> None:
        """The optimiser has updated the parameters (training only)."""

    def after_batch(self) -> None:
        """The batch is finished, or was cancelled (then ``learn.loss`` may be None)."""

    def after_train(self) -> None:
        """The training phase of the epoch finished (not called when it was cancelled)."""

    def before_validate(self) -> None:
        """The validation phase starts; the model is in eval mode, gradients are off."""

    def after_validate(self) -> None:
        """The validation phase finished (not called when it was cancelled)."""

    def after_epoch(self) -> None:
        """The epoch is finished, or was cancelled."""

    def after_fit(self) -> None:
        """Training is over: always called, even after a cancel or an error."""

    def after_cancel_batch(self) -> None:
        """A :class:`CancelBatchException` was raised in this batch."""

    def after_cancel_epoch(self) -> None:
        """A :class:`CancelEpochException` was raised in this epoch."""

    def after_cancel_fit(self) -> None:
        """A :class:`CancelFitException` was raised."""


EVENTS = tuple(name for name in vars(Callback) if name.startswith(("before_", "after_")))


def _batch_size(learn: Learner) -> int:
    batch = learn.yb
    if type(batch) is not torch.Tensor:
        batch = learn.xb
        while isinstance(batch, (tuple, list)):
            batch = batch[0]
    return len(batch)


class Recorder(Callback):
    """Records a fit for plotting; reset at the start of every fit.

    Per training batch: ``losses``, ``lrs`` (of the last layer group, the head),
    ``moms`` (momentum or Adam's beta1, if the optimiser has one). Per epoch:
    ``train_losses`` (mean over the epoch's batches, weighted by batch size),
    ``valid_losses``, ``metrics`` (name -> list) and ``times`` (seconds).

    Batch losses stay tensors until the end of each epoch, so recording costs no
    device synchronisation per batch. Metrics are averaged over the validation
    batches weighted by batch size; a metric marked ``whole_set`` (RMSE, for which
    the mean of per-batch values is not the RMSE) is computed once on all of the
    validation predictions.
    """

    order = 50

    def before_fit(self) -> None:
        self.losses: list[float] = []
        self.lrs: list[float] = []
        self.moms: list[float] = []
        self.train_losses: list[float] = []
        self.valid_losses: list[float] = []
        self.names = [metric_name(m) for m in self.learn.metrics]
        self.metrics: dict[str, list[float]] = {name: [] for name in self.names}
        self.times: list[float] = []
        self._train: list[torch.Tensor] = []  # this epoch's batch losses, scalar tensors
        group = self.learn.opt.param_groups[-1]
        self._mom_key = next((k for k in ("momentum", "betas") if k in group), None)

    def before_epoch(self) -> None:
        self._start = time.perf_counter()
        self._train, self._train_bs = [], []
        self._valid, self._valid_bs = [], []  # loss * batch size, scalar tensors
        self._metric_sums: list[list[torch.Tensor]] = [[] for _ in self.learn.metrics]
        self._preds, self._targets = [], []  # kept only for whole-set metrics

    def after_batch(self) -> None:
        learn = self.learn
        if learn.loss is None:
            return
        bs = _batch_size(learn)
        if learn.training:
            self._train.append(learn.loss.detach())
            self._train_bs.append(bs)
            group = learn.opt.param_groups[-1]
            self.lrs.append(group["lr"])
            if self._mom_key is not None:
                mom = group[self._mom_key]
                self.moms.append(mom if self._mom_key == "momentum" else mom[0])
            return
        self._valid.append(learn.loss.detach() * bs)
        self._valid_bs.append(bs)
        keep = False
        for sums, metric in zip(self._metric_sums, learn.metrics, strict=True):
            if getattr(metric, "whole_set", False):
                keep = True
            else:
                sums.append(metric(learn.pred, learn.yb).detach() * bs)
        if keep:
            self._preds.append(learn.pred.detach())
            self._targets.append(learn.yb)

    def after_epoch(self) -> None:
        batch_losses = self._flush()
        self.train_losses.append(_weighted_mean(batch_losses, self._train_bs))
        n_valid = sum(self._valid_bs)
        self.valid_losses.append(_sum(self._valid) / n_valid if n_valid else math.nan)
        for name, metric, sums in zip(
            self.names, self.learn.metrics, self._metric_sums, strict=True
        ):
            if not n_valid:
                value = math.nan
            elif getattr(metric, "whole_set", False):
                preds, targets = torch.cat(self._preds), torch.cat(self._targets)
                value = float(metric(preds, targets))
            else:
                value = _sum(sums) / n_valid
            self.metrics[name].append(value)
        self.times.append(time.perf_counter() - self._start)

    def after_fit(self) -> None:
        self._flush()  # a fit cancelled mid-epoch still records its batches

    def _flush(self) -> list[float]:
        values = torch.stack(self._train).float().tolist() if self._train else []
        self.losses.extend(values)
        self._train = []
        return values

    def last_row(self) -> dict[str, float]:
        """The last epoch as ``{"epoch", "train_loss", "valid_loss", <metrics>, "time"}``."""
        row = {
            "epoch": len(self.train_losses) - 1,
            "train_loss": self.train_losses[-1],
            "valid_loss": self.valid_losses[-1],
        }
        row.update({name: values[-1] for name, values in self.metrics.items()})
        row["time"] = self.times[-1]
        return row


def _sum(tensors: list[torch.Tensor]) -> float:
    return float(torch.stack(tensors).double().sum()) if tensors else math.nan


def _weighted_mean(values: list[float], weights: list[int]) -> float:
    total = sum(weights)
    return sum(v * w for v, w in zip(values, weights, strict=True)) / total if total else math.nan


class ProgressPrinter(Callback):
    """Prints one plain-text table row per epoch, with the header once per fit.

    ::

        epoch  train_loss  valid_loss  accuracy  time
        0      0.512345    0.401234    0.880000  00:02

    No ANSI codes, no carriage returns, no progress bars: the output reads the
    same in a terminal, a notebook and a static web page. Needs the learner's
    :class:`Recorder`, so it runs after it.
    """

    order = 60

    def __init__(self, file: TextIO | None = None):
        self.file = file  # None: sys.stdout at the time of printing

    def before_fit(self) -> None:
        self._header_done = False

    def after_epoch(self) -> None:
        row = self.learn.recorder.last_row()
        names = list(row)
        widths = [max(len(name), 10) for name in names]
        if not self._header_done:
            self._print(names, widths)
            self._header_done = True
        self._print([_format(name, value) for name, value in row.items()], widths)

    def _print(self, cells: list[str], widths: list[int]) -> None:
        line = "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()
        print(line, file=self.file or sys.stdout, flush=True)


def _format(name: str, value: float) -> str:
    if name == "epoch":
        return str(value)
    if name == "time":
        minutes, seconds = divmod(round(value), 60)
        return f"{minutes:02d}:{seconds:02d}"
    return f"{value:.6f}"


class ParamScheduler(Callback):
    """Sets optimiser hyper-parameters from schedules before every training batch.

    ``scheds`` maps a hyper-parameter to a :data:`~course_utils.schedules.Schedule`
    of the training progress ``learn.pct_train``. A schedule may return one value
    for all layer groups or a sequence with one value per group. The name ``"mom"``
    means SGD's ``momentum`` or Adam's ``betas[0]``, whichever the optimiser has
    (neither: it is left alone).
    """

    order = 10

    def __init__(self, scheds: Mapping[str, Schedule]):
        self.scheds = dict(scheds)

    def before_batch(self) -> None:
        if not self.learn.training:
            return
        groups = self.learn.opt.param_groups
        for name, sched in self.scheds.items():
            value = sched(self.learn.pct_train)
            values = list(value) if hasattr(value, "__len__") else [value] * len(groups)
            for group, v in zip(groups, values, strict=True):
                _set_hyper(group, name, float(v))


def _set_hyper(group: dict[str, Any], name: str, value: float) -> None:
    if name != "mom":
        group[name] = value
    elif "momentum" in group:
        group["momentum"] = value
    elif "betas" in group:
        group["betas"] = (value, *group["betas"][1:])


class GradientClipping(Callback):
    """Scales the gradients down, when needed, so that their global norm is at most ``max_norm``.

    The global norm is that of all the model's gradients taken as one long vector. An RNN's
    gradient can *explode*: a few steps where it is huge would throw the weights far away, and
    clipping keeps the direction of such a step but limits its length. It runs after the
    backward pass and before the optimiser's step (``after_backward``); gradients already
    within ``max_norm`` are left alone. Lesson 4 set ``learner.clip=0.3`` for the language
    model and ``m3.clip=25.`` for the classifier. With float16 loss scaling, the gradients are
    unscaled first, so that ``max_norm`` applies to the true gradients. ``norm`` is the
    (unclipped) norm of the last batch, a tensor.
    """

    order = 20

    def __init__(self, max_norm: float):
        if isinstance(max_norm, bool) or not (
            isinstance(max_norm, (int, float)) and math.isfinite(max_norm) and max_norm > 0
        ):
            raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
        self.max_norm = float(max_norm)
        self.norm: torch.Tensor | None = None

    def after_backward(self) -> None:
        learn = self.learn
        scaler = getattr(learn, "scaler", None)
        if scaler is not None:
            scaler.unscale_(learn.opt)  # float16: the true gradients (a no-op otherwise)
        self.norm = torch.nn.utils.clip_grad_norm_(learn.model.parameters(), self.max_norm)

"""The learning-rate finder (Leslie Smith, 2015), as shown in lessons 1 and 2.

Train for at most ``num_it`` mini-batches while the learning rate grows
exponentially from ``start_lr`` to ``end_lr``, and watch the loss: it barely
moves while the rate is too small, falls fastest around a good rate, and blows
up once the rate is too large. The finder is just a callback
(:class:`LRFinder`) that sets the rate before every batch, records the loss and
raises :class:`~course_utils.callbacks.CancelFitException` when it is done.
:func:`lr_find` puts the model and the optimiser back exactly as they were.

The loss of single batches is noisy, so the finder also keeps an exponentially
weighted moving average with bias correction (as Adam does for its moments; one
:func:`~course_utils.smoothing.ema_step` per batch)::

    avg_i = beta * avg_{i-1} + (1 - beta) * loss_i        avg_{-1} = 0
    smoothed_i = avg_i / (1 - beta^(i+1))

and stops early (``stop_div``) once the smoothed loss exceeds 4x its best value.
The average spans about ``1 / (1 - beta)`` batches and lags about as many behind
the raw loss. ``beta`` is fastai's 0.98 by default, and the suggestion (a tenth of
the rate at the smoothed minimum) is the course's rule for that smoothing: the
lag puts the smoothed minimum a little past the raw one, where the loss has
started to rise. A smaller ``beta`` tracks the raw loss more closely and gives a
smaller suggestion (``benchmarks/README.md`` has a measured example).
:func:`~course_utils.smoothing.auto_beta`
(importable from here too) is what :func:`~course_utils.viz.plot_losses` smooths a
training run with.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from course_utils.callbacks import Callback, CancelEpochException, CancelFitException
from course_utils.profile import current_profile
from course_utils.report import claim
from course_utils.schedules import exponential
from course_utils.smoothing import auto_beta, ema_step

if TYPE_CHECKING:
    from course_utils.learner import Learner

__all__ = ["LRFinder", "LRFinderResult", "NoClearMinimum", "auto_beta", "lr_find"]

DIVERGENCE_FACTOR = 4.0  # stop once the smoothed loss is this many times its best value
MIN_DROP = 0.02  # a minimum counts if the smoothed loss fell this fraction below its start


class NoClearMinimum(ValueError):
    """The sweep's loss never fell clearly: no learning rate to suggest."""


@dataclass
class LRFinderResult:
    """What the sweep saw, ready to plot (``lrs`` on a log axis against ``smoothed_losses``).

    ``suggestion`` is the course's rule of thumb: a rate one order of magnitude
    below the one where the smoothed loss was lowest (``lr_at_min_loss / 10``),
    where the loss is still clearly falling. ``lr_steepest`` is the rate where
    the smoothed loss fell fastest per decade of learning rate, before its
    minimum; it is noisier, shown for comparison.
    """

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # raw loss of each batch
    smoothed_losses: list[float] = field(default_factory=list)
    diverged: bool = False  # stopped early because the loss blew up

    @property
    def iterations(self) -> int:
        """How many mini-batches the sweep trained on."""
        return len(self.lrs)

    @property
    def lr_at_min_loss(self) -> float:
        """The learning rate at the lowest smoothed loss."""
        return self.lrs[int(np.argmin(self.smoothed_losses))]

    @property
    def found_minimum(self) -> bool:
        """Whether the smoothed loss fell to a minimum the rule can use: past the first
        batch, and at least ``MIN_DROP`` (2%) below where the sweep started. A short sweep
        of an unfrozen network often only rises, and its "minimum" is the starting rate."""
        i_min = int(np.argmin(self.smoothed_losses))
        return i_min > 0 and self.smoothed_losses[i_min] < (1 - MIN_DROP) * self.smoothed_losses[0]

    @property
    def suggestion(self) -> float:
        """``lr_at_min_loss / 10``: the rate to start training with. Raises
        :class:`NoClearMinimum` when the sweep found none (:attr:`found_minimum`), rather
        than suggest a tenth of the starting rate."""
        if not self.found_minimum:
            start, lowest = self.smoothed_losses[0], min(self.smoothed_losses)
            fell = (
                f"the smoothed loss never fell clearly (from {start:.4g} to at best "
                f"{lowest:.4g} over {self.iterations} batches)"
            )
            if current_profile().rehearsal:  # miniature data: a minimum means nothing there
                claim(False, f"the LR finder finds a clear minimum: {fell}")
                return self.lr_at_min_loss / 10
            raise NoClearMinimum(
                f"{fell}, so there is no rate to suggest: read the plot, sweep for more "
                "batches, or keep a rate found earlier"
            )
        return self.lr_at_min_loss / 10

    @property
    def lr_steepest(self) -> float:
        """The learning rate where d(smoothed loss)/d(log10 lr) is most negative."""
        stop = int(np.argmin(self.smoothed_losses)) + 1
        if stop < 2:
            return self.lrs[0]
        slopes = np.gradient(np.array(self.smoothed_losses[:stop]), np.log10(self.lrs[:stop]))
        return self.lrs[int(np.argmin(slopes))]


class LRFinder(Callback):
    """Sweeps the learning rate exponentially and records the loss of every batch.

    The same rate goes to every layer group. Validation is skipped.
    """

    order = 20  # after ParamScheduler (10): nothing else should set the rate

    def __init__(self, start_lr=1e-7, end_lr=10.0, num_it=100, stop_div=True, beta=0.98):
        self.start_lr, self.end_lr, self.num_it = start_lr, end_lr, num_it
        self.stop_div, self.beta = stop_div, beta

    def before_fit(self) -> None:
        self.result = LRFinderResult()
        self._avg, self._best = 0.0, math.inf

    def before_batch(self) -> None:
        if not self.learn.training:
            return
        pos = self.result.iterations / max(self.num_it - 1, 1)  # 0 .. 1: first to last batch
        self._lr = exponential(self.start_lr, self.end_lr, pos)
        for group in self.learn.opt.param_groups:
            group["lr"] = self._lr

    def after_batch(self) -> None:
        if not self.learn.training or self.learn.loss is None:
            return
        loss = self.learn.loss.item()  # one sync per batch: the finder needs the value now
        result, i = self.result, self.result.iterations
        self._avg, smoothed = ema_step(self._avg, loss, self.beta, t=i + 1)
        result.lrs.append(self._lr)
        result.losses.append(loss)
        result.smoothed_losses.append(smoothed)
        self._best = min(self._best, smoothed)
        if self.stop_div and (
            not math.isfinite(smoothed) or smoothed > DIVERGENCE_FACTOR * self._best
        ):
            result.diverged = True
            raise CancelFitException
        if result.iterations >= self.num_it:
            raise CancelFitException

    def before_validate(self) -> None:
        raise CancelEpochException  # the finder only trains


def lr_find(
    learn: Learner,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_it: int = 100,
    stop_div: bool = True,
    beta: float = 0.98,
) -> LRFinderResult:
    """Sweep the learning rate of ``learn`` and return what the loss did.

    Runs as many epochs as ``num_it`` batches need, stopping early on divergence
    when ``stop_div``. Afterwards the model's weights and buffers and the
    optimiser's state (momentum, learning rates) and the gradient scaler's are exactly
    as before; a
    learner that had no optimiser yet has none again. The learner's recorder and
    printer are left out of the sweep.
    """
    if not (0 < start_lr < end_lr) or not math.isfinite(end_lr):
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if isinstance(num_it, bool) or not isinstance(num_it, int) or num_it < 2:
        raise ValueError(f"num_it must be an int >= 2, got {num_it!r}")
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    n_batches = len(learn.training_loaders()[0])
    if n_batches == 0:
        raise ValueError(
            "lr_find: the training loader is empty (0 batches); check the dataset's size, "
            "the batch size and drop_last"
        )
    # copies on the CPU, so the sweep doesn't double the GPU memory the weights take
    model_state = {k: v.detach().to("cpu", copy=True) for k, v in learn.model.state_dict().items()}
    opt_state = copy.deepcopy(learn.opt.state_dict()) if learn.opt is not None else None
    had_opt = learn.opt is not None
    scaler_state = learn.scaler.state_dict() if learn.scaler is not None else None
    finder = LRFinder(start_lr, end_lr, num_it, stop_div, beta)
    quiet = [cb for cb in (learn.recorder, learn.printer) if cb in learn.cbs]
    for cb in quiet:
        learn.remove_cb(cb)
    try:
        learn.fit(math.ceil(num_it / n_batches), start_lr, cbs=[finder])
    finally:
        learn.model.load_state_dict(model_state)
        if had_opt:
            learn.opt.load_state_dict(opt_state)
        else:
            learn.opt = None
        if scaler_state is not None:  # float16 training: the loss scale it had learnt
            learn.scaler.load_state_dict(scaler_state)
        learn.add_cbs(quiet)
    return finder.result

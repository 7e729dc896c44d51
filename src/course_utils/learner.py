"""The Learner: a model, its data, a loss and an optimiser, and the training loop.

Lesson 1 trains with ``learn.fit``; lesson 2 adds the learning-rate finder,
SGDR (``fit(n_cycles, lr, cycle_len=1, cycle_mult=2)``), differential learning
rates (``lr=slice(1e-4, 1e-2)``, one rate per layer group), ``freeze`` /
``unfreeze`` and test-time augmentation; lesson 5 opens up the loop itself.
The loop is :meth:`Learner._one_batch` and the few methods around it;
everything optional happens in callbacks (:mod:`course_utils.callbacks`).

Device decisions (mixed precision, channels-last, pinned memory) are made once,
by :func:`~course_utils.device.plan_device`, a pure function of the device that
tests can call with ``"cuda"`` on a machine without one. The loop never branches on them: it always
runs under ``torch.autocast`` and steps through a ``torch.amp.GradScaler``, each
created with ``enabled=`` from the plan, and both do nothing when disabled (plain
float32, the CPU's default), as nanoGPT's training loop does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import lr_finder
from course_utils.callbacks import (
    EVENTS,
    Callback,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    ParamScheduler,
    ProgressPrinter,
    Recorder,
)
from course_utils.checks import positive_int
from course_utils.device import DevicePlan, plan_device, to_device
from course_utils.models.layers import BatchNorm2d as ScratchBatchNorm2d
from course_utils.profile import current_profile
from course_utils.schedules import one_cycle_lr, one_cycle_mom, sgdr_epochs, sgdr_lr

__all__ = ["Learner", "lrs_for_groups"]

SGD_MOMENTUM = partial(torch.optim.SGD, momentum=0.9)  # the 2018 course's optimiser
# torch's BatchNorm layers and the course's own (course_utils.models.layers): freeze_to treats
# them alike
BATCHNORM_TYPES = (nn.modules.batchnorm._BatchNorm, ScratchBatchNorm2d)
NO_GROUPS = "this model has no layer groups: pass layer_groups=... or a single float lr"


def lrs_for_groups(lr, n_groups: int, has_groups: bool = True) -> list[float]:
    """One learning rate per layer group, from a float, a slice or a sequence.

    ``slice(lo, hi)`` spreads geometrically from the first group (nearest the
    input) to the last (the head): ``slice(1e-4, 1e-2)`` over 3 groups gives
    1e-4, 1e-3, 1e-2. ``slice(None, hi)`` gives ``hi/10`` to every group but the
    head, which gets ``hi`` (fastai's rule). A sequence gives one rate per group.
    """
    if isinstance(lr, numbers.Real) and not isinstance(lr, bool):
        lrs = [float(lr)] * n_groups
    elif isinstance(lr, (str, bytes)) or not isinstance(lr, (slice, Sequence, np.ndarray)):
        raise TypeError(f"lr must be a float, a slice or a sequence of floats, got {lr!r}")
    elif not has_groups:
        raise ValueError(f"{NO_GROUPS}; got lr={lr!r}")
    elif isinstance(lr, slice) and lr.stop is None:
        raise ValueError(f"a slice of learning rates needs an end (the head's rate), got {lr!r}")
    elif isinstance(lr, slice):
        lo, hi = lr.start, lr.stop
        if lo is None:
            lrs = [hi / 10] * (n_groups - 1) + [hi]
        else:
            steps = max(n_groups - 1, 1)
            lrs = [lo * (hi / lo) ** (i / steps) for i in range(n_groups)]
            lrs[-1] = hi  # exactly hi, whatever the round-off (and the only rate for 1 group)
    else:
        if len(lr) != n_groups:
            raise ValueError(f"got {len(lr)} learning rates for {n_groups} layer groups")
        lrs = [float(x) for x in lr]
    if not all(math.isfinite(x) and x > 0 for x in lrs):
        raise ValueError(f"learning rates must be positive and finite, got {lrs}")
    return lrs


class Learner:
    """Trains ``model`` on ``dls`` (a :class:`~course_utils.data.DataLoaders`).

    ``loss_func`` defaults to cross-entropy, or to binary cross-entropy on
    logits when ``dls.is_multilabel``. ``opt_func(param_groups, lr=..., weight_decay=...)``
    makes the optimiser, one parameter group per layer group; the default is
    SGD with momentum 0.9, the optimiser of the 2018 course. Layer groups come
    from ``layer_groups=`` or the model's ``layer_groups()`` method. With
    ``train_bn`` (fastai's default), BatchNorm layers stay trainable in frozen
    groups: their few parameters adapt the pretrained body to the new data
    (see :meth:`freeze_to`).
    ``device`` is a device (default: the profile's) or a :class:`DevicePlan`;
    ``mixed_precision`` (default: on CUDA only) goes to :func:`plan_device`.
    """

    def __init__(
        self,
        dls,
        model: nn.Module,
        loss_func: Callable | None = None,
        opt_func: Callable = SGD_MOMENTUM,
        metrics: Sequence[Callable] = (),
        cbs: Iterable[Callback] = (),
        wd: float = 0.0,
        layer_groups: Sequence[nn.Module] | None = None,
        train_bn: bool = True,
        path: str | Path = ".",
        model_dir: str = "models",
        device: str | torch.device | DevicePlan | None = None,
        mixed_precision: bool | None = None,
        verbose: bool = True,
    ):
        if device is None:
            device = current_profile().device()
        self.plan = (
            device
            if isinstance(device, DevicePlan)
            else plan_device(device, model=model, mixed_precision=mixed_precision)
        )
        self.device = self.plan.device
        memory_format = torch.channels_last if self.plan.channels_last else torch.preserve_format
        self.dls, self.model = dls, model.to(self.device, memory_format=memory_format)
        if loss_func is None:
            multilabel = getattr(dls, "is_multilabel", False)
            loss_func = F.binary_cross_entropy_with_logits if multilabel else F.cross_entropy
        self.loss_func, self.opt_func, self.metrics = loss_func, opt_func, list(metrics)
        self.wd, self.train_bn, self.path, self.model_dir = wd, train_bn, Path(path), model_dir
        if layer_groups is None and hasattr(model, "layer_groups"):
            layer_groups = model.layer_groups()
        self.has_groups = layer_groups is not None
        self.layer_groups = list(layer_groups) if self.has_groups else [self.model]
        if self.plan.pin_memory:
            for dl in (dls.train_dl, dls.valid_dl, getattr(dls, "test_dl", None)):
                if isinstance(dl, torch.utils.data.DataLoader):
                    dl.pin_memory = True
        # float16 needs loss scaling; otherwise (enabled=False) the scaler passes everything through
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.plan.grad_scaler)
        self.opt, self.cbs, self.training, self.loss, self._frozen_bn = None, [], False, None, []
        self.recorder = Recorder()
        self.add_cbs([self.recorder, *cbs])
        self.printer = ProgressPrinter() if verbose else None
        if verbose:
            self.add_cb(self.printer)

    # ----- callbacks -------------------------------------------------------------
    def add_cb(self, cb: Callback) -> None:
        """Add a callback; it sees this learner as ``cb.learn``."""
        cb.learn = self
        self.cbs.append(cb)
        self._sort_cbs()

    def add_cbs(self, cbs: Iterable[Callback]) -> None:
        """Add several callbacks."""
        for cb in cbs:
            self.add_cb(cb)

    def remove_cb(self, cb: Callback) -> None:
        """Remove a callback (e.g. ``learn.remove_cb(learn.printer)`` silences training)."""
        self.cbs.remove(cb)
        self._sort_cbs()

    @contextmanager
    def added_cbs(self, cbs: Iterable[Callback]):
        """Callbacks present only inside the ``with`` block."""
        cbs = list(cbs)
        self.add_cbs(cbs)
        try:
            yield self
        finally:
            for cb in cbs:
                self.remove_cb(cb)

    def _sort_cbs(self) -> None:
        self.cbs.sort(key=lambda cb: cb.order)  # stable: ties keep the order they were added
        # only the methods a callback overrides are called, so an unused event costs nothing
        self._handlers = {
            event: [
                getattr(cb, event)
                for cb in self.cbs
                if getattr(type(cb), event) is not getattr(Callback, event)
            ]
            for event in EVENTS
        }

    def __call__(self, event: str) -> None:
        for handler in self._handlers[event]:
            handler()

    # ----- the optimiser, layer groups, freezing ------------------------------
    def _param_groups(self) -> list[list[nn.Parameter]]:
        seen, groups = set(), []
        for group in self.layer_groups:
            params = [p for p in group.parameters() if id(p) not in seen]
            seen.update(id(p) for p in params)
            groups.append(params)
        missing = [name for name, p in self.model.named_parameters() if id(p) not in seen]
        if missing:
            raise ValueError(
                f"{len(missing)} model parameters are in no layer group, e.g. {missing[:3]}; "
                "layer_groups must cover the whole model"
            )
        return groups

    def create_opt(self, lrs: Sequence[float] | None = None) -> None:
        """Make the optimiser: one parameter group per layer group."""
        lrs = lrs or [1e-3] * len(self.layer_groups)  # placeholder rates, e.g. before load()
        groups = [
            {"params": ps, "lr": lr} for ps, lr in zip(self._param_groups(), lrs, strict=True)
        ]
        self.opt = self.opt_func(groups, lr=lrs[-1], weight_decay=self.wd)

    def freeze_to(self, n: int) -> None:
        """Freeze layer groups ``< n`` (no gradients), train groups ``>= n``.

        BatchNorm layers in frozen groups: with ``train_bn`` (the default) they keep
        training, weights and running statistics; without, they are frozen entirely,
        their statistics too (they stay in eval mode while the rest trains).
        """
        if not self.has_groups:
            raise ValueError(
                "this model has no layer groups: pass layer_groups=... to freeze part of it"
            )
        if not 0 <= n <= len(self.layer_groups):
            raise ValueError(
                f"freeze_to(n) needs 0 <= n <= {len(self.layer_groups)} "
                f"(the number of layer groups), got {n}"
            )
        self._frozen_bn = []  # BatchNorm layers kept in eval mode: statistics frozen too
        for i, group in enumerate(self.layer_groups):
            for module in group.modules():
                bn = isinstance(module, BATCHNORM_TYPES)
                if bn and i < n and not self.train_bn:
                    self._frozen_bn.append(module)
                for p in module.parameters(recurse=False):
                    p.requires_grad_(i >= n or (bn and self.train_bn))

    def freeze(self) -> None:
        """Train only the last layer group (the head)."""
        self.freeze_to(len(self.layer_groups) - 1)

    def unfreeze(self) -> None:
        """Train every layer group."""
        self.freeze_to(0)

    # ----- fitting -------------------------------------------------------------
    def fit(
        self,
        epochs: int,
        lr,
        *,
        cycle_len: int | None = None,
        cycle_mult: int = 1,
        wd: float | None = None,
        cbs: Iterable[Callback] = (),
    ) -> None:
        """Train for ``epochs`` epochs at a constant ``lr``, or, with ``cycle_len``, SGDR:
        ``epochs`` cosine cycles of ``cycle_len * cycle_mult**i`` epochs, each restarting at
        ``lr`` (lesson 2). ``lr``: a float, a ``slice`` or one rate per layer group."""
        lrs = lrs_for_groups(lr, len(self.layer_groups), self.has_groups)
        if cycle_len is None:
            return self._fit(positive_int("epochs", epochs), lrs, wd, cbs)
        n_epochs = sum(sgdr_epochs(positive_int("n_cycles", epochs), cycle_len, cycle_mult))
        sched = ParamScheduler({"lr": sgdr_lr(np.array(lrs), epochs, cycle_len, cycle_mult)})
        self._fit(n_epochs, lrs, wd, [sched, *cbs])

    def fit_one_cycle(
        self,
        epochs: int,
        max_lr,
        *,
        pct_start: float = 0.25,
        div: float = 25.0,
        div_final: float = 1e5,
        moms: tuple[float, float, float] | None = (0.95, 0.85, 0.95),
        wd: float | None = None,
        cbs: Iterable[Callback] = (),
    ) -> None:
        """The one-cycle policy: lr cosine up to ``max_lr`` then down, momentum inverse."""
        lrs = np.array(lrs_for_groups(max_lr, len(self.layer_groups), self.has_groups))
        scheds = {"lr": one_cycle_lr(lrs, pct_start, div, div_final)}
        if moms is not None:
            scheds["mom"] = one_cycle_mom(moms, pct_start)
        self._fit(
            positive_int("epochs", epochs),
            [float(x) for x in lrs / div],
            wd,
            [ParamScheduler(scheds), *cbs],
        )

    def training_loaders(self):
        """The ``(training, validation)`` loaders that :meth:`fit` and the learning-rate
        finder run over: ``dls``'s, unless a subclass swaps in others (a
        :class:`~course_utils.vision.learner.ConvLearner` with ``precompute`` gives
        the frozen body's activations)."""
        return self.dls.train_dl, self.dls.valid_dl

    def _fit(
        self, n_epochs: int, lrs: list[float], wd: float | None, cbs: Iterable[Callback]
    ) -> None:
        self.n_iter = len(self.training_loaders()[0])
        if self.n_iter == 0:
            raise ValueError(
                "the training loader is empty (0 batches): check the dataset's size, "
                "the batch size and drop_last"
            )
        if self.opt is None:
            self.create_opt(lrs)
        wd = self.wd if wd is None else wd
        for group, lr in zip(self.opt.param_groups, lrs, strict=True):
            group["lr"], group["weight_decay"] = lr, wd
        self.n_epochs, self.train_iter, self.pct_train = n_epochs, 0, 0.0
        with self.added_cbs(cbs):
            try:
                self("before_fit")
                for self.epoch in range(n_epochs):
                    self._with_events(self._do_epoch, "epoch", CancelEpochException)
            except CancelFitException:
                self("after_cancel_fit")
            finally:
                self("after_fit")

    def _with_events(self, f: Callable[[], None], name: str, cancel: type[Exception]) -> None:
        try:
            self(f"before_{name}")
            f()
        except cancel:
            self(f"after_cancel_{name}")
        self(f"after_{name}")

    def _do_epoch(self) -> None:
        train_dl, valid_dl = self.training_loaders()
        self._run_phase(train_dl, training=True)
        with torch.no_grad():
            self._run_phase(valid_dl, training=False)

    def _run_phase(self, dl, training: bool) -> None:
        self.training, self.dl = training, dl
        self.model.train(training)
        for bn in self._frozen_bn:
            bn.eval()
        self("before_train" if training else "before_validate")
        for self.iter, batch in enumerate(dl):
            xb, yb = batch
            self.xb = to_device(xb, self.device, self.plan.channels_last)
            self.yb = to_device(yb, self.device)
            self.pred, self.loss = None, None
            if training:  # progress through the whole fit, 0 at the first batch, for schedules
                self.pct_train = self.train_iter / (self.n_epochs * self.n_iter)
                self.train_iter += 1
            # before_batch, _one_batch, after_batch (after_cancel_batch if a callback cancels)
            self._with_events(self._one_batch, "batch", CancelBatchException)
        self("after_train" if training else "after_validate")

    def _autocast(self) -> torch.autocast:
        """Mixed precision: run ops in ``plan.amp_dtype`` where it is safe; with no
        ``amp_dtype`` (plain float32) the context is disabled and changes nothing."""
        amp_dtype = self.plan.amp_dtype
        return torch.autocast(self.device.type, dtype=amp_dtype, enabled=amp_dtype is not None)

    def _forward(self, xb):
        return self.model(*xb) if isinstance(xb, (tuple, list)) else self.model(xb)

    def _one_batch(self) -> None:
        """One mini-batch, between the ``before_batch`` and ``after_batch`` events: predict,
        measure the loss and, when training, compute the gradients and step the optimiser.

        ``self._autocast()`` and ``self.scaler`` are there whatever the precision: in plain
        float32 they do nothing, and ``self.scaler.step(self.opt)`` is ``self.opt.step()``.
        """
        with self._autocast():
            self.pred = self._forward(self.xb)  # (B, C) for a classifier
        self("after_pred")
        with self._autocast():
            self.loss = self.loss_func(self.pred, self.yb)  # scalar
        self("after_loss")
        if not self.training:
            return  # validation: no gradients, no step
        self.opt.zero_grad()  # here, so a cancelled batch leaves no stale grads
        # float16: the loss is scaled up so that small gradients don't underflow to 0
        self.scaler.scale(self.loss).backward()
        self("after_backward")
        self.scaler.step(self.opt)  # self.opt.step(); float16: unscaled, skipped on inf/NaN
        self.scaler.update()  # float16: adjust the scale for the next batch
        self("after_step")

    def lr_find(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_it: int = 100,
        stop_div: bool = True,
        beta: float = 0.98,
    ):
        """Run :func:`course_utils.lr_finder.lr_find` on this learner; the model and
        optimiser are restored afterwards."""
        return lr_finder.lr_find(self, start_lr, end_lr, num_it, stop_div, beta)

    # ----- predictions -----------------------------------------------------------
    def _loader(self, dl):
        if dl is None or dl == "valid":
            return self.dls.valid_dl
        if dl == "test":
            if getattr(self.dls, "test_dl", None) is None:
                raise ValueError("get_preds(dl='test'): these DataLoaders have no test_dl")
            return self.dls.test_dl
        return dl

    def _activation(self, out: torch.Tensor) -> torch.Tensor:
        lf = self.loss_func
        if lf is F.cross_entropy or isinstance(lf, nn.CrossEntropyLoss):
            return out.softmax(dim=1)
        if lf is F.binary_cross_entropy_with_logits or isinstance(lf, nn.BCEWithLogitsLoss):
            return out.sigmoid()
        return out

    @torch.no_grad()
    def predict(self, x, raw: bool = False) -> torch.Tensor:
        """Predictions for one batch of inputs (a tensor, or a tuple of them), on the CPU:
        probabilities for a cross-entropy or BCE loss, raw outputs otherwise or if ``raw``."""
        self.model.eval()
        with self._autocast():
            out = self._forward(to_device(x, self.device, self.plan.channels_last))
        out = out.float()
        return (out if raw else self._activation(out)).cpu()

    @torch.no_grad()
    def get_preds(self, dl=None, raw: bool = False, transform: Callable | None = None):
        """``(preds, targets)`` over a loader: ``None``/``"valid"``, ``"test"`` or a DataLoader.

        A batch that is a tensor (or a 1-element list, as ``TensorDataset(x)`` gives) is
        inputs alone, and targets is then None; otherwise a batch is ``(inputs, targets)``.
        ``transform`` maps each input batch (on the device) to an augmented one.
        No callbacks run.
        """
        preds, targets = [], []
        for batch in self._loader(dl):
            if isinstance(batch, torch.Tensor) or len(batch) == 1:  # inputs alone
                batch = (batch if isinstance(batch, torch.Tensor) else batch[0], None)
            xb, yb = batch
            xb = to_device(xb, self.device, self.plan.channels_last)
            preds.append(self.predict(transform(xb) if transform else xb, raw))
            targets.append(yb)
        if not preds:
            raise ValueError("get_preds: the loader is empty (0 batches)")
        has_targets = all(isinstance(t, torch.Tensor) for t in targets)
        return torch.cat(preds), torch.cat(targets) if has_targets else None

    def TTA(self, n: int = 4, transform: Callable | None = None, dl=None, seed: int = 0):
        """Test-time augmentation: predictions averaged over the plain inputs and ``n``
        augmented views, ``(probs, targets)``. ``transform(xb) -> xb`` makes a view;
        the default flips each image (B, C, H, W) left-right with probability 1/2."""
        positive_int("n", n)
        if transform is None:
            transform = partial(random_hflip, generator=torch.Generator().manual_seed(seed))
        preds, targets = self.get_preds(dl)
        views = [preds]
        for _ in range(n):
            view, view_targets = self.get_preds(dl, transform=transform)
            if targets is not None and not torch.equal(targets, view_targets):
                raise ValueError("TTA needs a loader that is not shuffled (targets changed order)")
            views.append(view)
        return torch.stack(views).mean(dim=0), targets

    # ----- saving ----------------------------------------------------------------
    def _file(self, name: str) -> Path:
        return self.path / self.model_dir / f"{name}.pth"

    def save(self, name: str, with_opt: bool = True) -> Path:
        """Save the model's (and optimiser's) state dicts to ``path/models/name.pth``."""
        file = self._file(name)
        file.parent.mkdir(parents=True, exist_ok=True)
        state = {"model": self.model.state_dict()}
        if with_opt and self.opt is not None:
            state["opt"] = self.opt.state_dict()
        torch.save(state, file)
        return file

    def load(self, name: str, with_opt: bool = True, strict: bool = True) -> None:
        """Load what :meth:`save` wrote (a bare model state dict works too)."""
        file = self._file(name)
        if not file.is_file():
            saved = (
                sorted(p.stem for p in file.parent.glob("*.pth")) if file.parent.is_dir() else []
            )
            raise FileNotFoundError(f"no saved model {file}; saved models there: {saved or 'none'}")
        state = torch.load(file, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state.get("model", state), strict=strict)
        if with_opt and "opt" in state:
            if self.opt is None:
                self.create_opt()
            self.opt.load_state_dict(state["opt"])


def random_hflip(xb: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Flip each image of a (B, C, H, W) batch left-right with probability 1/2."""
    if not isinstance(xb, torch.Tensor) or xb.ndim != 4:
        found = tuple(xb.shape) if isinstance(xb, torch.Tensor) else type(xb).__name__
        raise ValueError(
            f"the default TTA transform flips image batches (B, C, H, W), got {found}; "
            "pass transform=... for other inputs"
        )
    flip = torch.rand(xb.shape[0], generator=generator) < 0.5  # (B,) on the CPU
    flip = flip.to(xb.device).view(-1, 1, 1, 1)
    return torch.where(flip, xb.flip(-1), xb)

"""Callback events, their order, the Cancel exceptions, the Recorder, the printer, the scheduler."""

import io
import math
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import make_learner, two_class_dls
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

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
from course_utils.data import DataLoaders
from course_utils.learner import Learner
from course_utils.metrics import accuracy, rmse

# The two-class problem of helpers.two_class_dls, learned by a linear layer built after seeding.
LINEAR = partial(nn.Linear, 5, 2)


class LogAll(Callback):
    """Overrides every event, and logs it (before the other callbacks see it)."""

    order = -10

    def __init__(self):
        self.events = []


for _event in EVENTS:
    setattr(LogAll, _event, lambda self, _e=_event: self.events.append(_e))


class Raise(Callback):
    """Raises ``exc`` at ``event`` the ``when``-th time it fires (0-based)."""

    def __init__(self, event, exc, when=0):
        self.event, self.exc, self.when, self.count = event, exc, when, 0

    def _maybe_raise(self):
        self.count += 1
        if self.count - 1 == self.when:
            raise self.exc


for _event in EVENTS:
    setattr(
        Raise, _event, lambda self, _e=_event: self._maybe_raise() if self.event == _e else None
    )


def test_callback_base_lists_every_event_as_a_documented_no_op():
    expected = {
        "before_fit", "before_epoch", "before_train", "before_batch", "after_pred",
        "after_loss", "after_backward", "after_step", "after_batch", "after_train",
        "before_validate", "after_validate", "after_epoch", "after_fit",
        "after_cancel_batch", "after_cancel_epoch", "after_cancel_fit",
    }  # fmt: skip
    assert set(EVENTS) == expected
    cb = Callback()
    for event in EVENTS:
        assert getattr(cb, event)() is None
        assert getattr(Callback, event).__doc__


def test_events_fire_in_the_documented_order():
    cb = LogAll()
    # 2 training batches, 1 validation batch
    learn = make_learner(two_class_dls(n_train=32, n_valid=16, bs=16), LINEAR, cbs=[cb])
    learn.fit(1, 0.1)
    train_batch = ["before_batch", "after_pred", "after_loss", "after_backward", "after_step",
                   "after_batch"]  # fmt: skip
    valid_batch = ["before_batch", "after_pred", "after_loss", "after_batch"]
    assert cb.events == [
        "before_fit", "before_epoch", "before_train", *train_batch, *train_batch, "after_train",
        "before_validate", *valid_batch, "after_validate", "after_epoch", "after_fit",
    ]  # fmt: skip


def test_callbacks_run_sorted_by_order_ties_in_insertion_order():
    calls = []

    class Named(Callback):
        def __init__(self, name, order):
            self.name, self.order = name, order

        def before_fit(self):
            calls.append(self.name)

    learn = make_learner(
        two_class_dls(),
        LINEAR,
        cbs=[Named("late", 99), Named("a", 5), Named("b", 5), Named("early", -1)],
    )
    learn.fit(1, 0.1)
    assert calls == ["early", "a", "b", "late"]
    assert [type(cb) for cb in learn.cbs][-1] is Named and isinstance(learn.cbs[-2], Recorder)


def test_cancel_batch_in_after_backward_skips_the_step_only():
    cancel = Raise("after_backward", CancelBatchException, when=0)
    log = LogAll()
    # one training batch per epoch
    learn = make_learner(two_class_dls(n_train=16, bs=16), LINEAR, cbs=[cancel, log])
    before = learn.model.weight.detach().clone()
    learn.fit(1, 0.5)
    assert torch.equal(learn.model.weight, before)  # the only batch was cancelled
    i = log.events.index("after_cancel_batch")
    assert log.events[i - 1] == "after_backward" and log.events[i + 1] == "after_batch"
    assert "after_step" not in log.events and "after_train" in log.events
    learn.fit(1, 0.5)  # the next fit steps, with no gradient left over from the cancelled batch
    assert not torch.equal(learn.model.weight, before)


def test_cancel_epoch_skips_the_rest_of_the_epoch_then_training_goes_on():
    cancel = Raise("before_validate", CancelEpochException, when=0)
    log = LogAll()
    learn = make_learner(two_class_dls(), LINEAR, cbs=[cancel, log])
    learn.fit(2, 0.1)
    assert log.events.count("before_epoch") == 2 and log.events.count("after_epoch") == 2
    assert log.events.count("after_cancel_epoch") == 1
    assert log.events.count("after_validate") == 1  # only the second epoch validated
    assert math.isnan(learn.recorder.valid_losses[0]) and not math.isnan(
        learn.recorder.valid_losses[1]
    )


def test_cancel_fit_stops_training_and_after_fit_still_runs():
    # 3 training batches per epoch: cancel at the 2nd batch of the 2nd epoch
    cancel = Raise("after_step", CancelFitException, when=4)
    log = LogAll()
    learn = make_learner(two_class_dls(), LINEAR, cbs=[cancel, log])
    learn.fit(5, 0.1)
    assert log.events.count("before_epoch") == 2
    assert log.events[-2:] == ["after_cancel_fit", "after_fit"]
    assert log.events.count("after_epoch") == 1  # the cancelled epoch didn't finish
    assert len(learn.recorder.losses) == 4  # but its first batch is recorded


def test_after_fit_runs_even_when_training_fails():
    boom = Raise("after_loss", RuntimeError("boom"), when=1)
    log = LogAll()
    learn = make_learner(two_class_dls(), LINEAR, cbs=[boom, log])
    with pytest.raises(RuntimeError, match="boom"):
        learn.fit(1, 0.1)
    assert log.events[-1] == "after_fit" and "after_cancel_fit" not in log.events


def test_fit_callbacks_are_removed_afterwards():
    extra = LogAll()
    learn = make_learner(two_class_dls(), LINEAR)
    learn.fit(1, 0.1, cbs=[extra])
    assert extra.events and extra not in learn.cbs
    n = len(extra.events)
    learn.fit(1, 0.1)
    assert len(extra.events) == n


def test_recorder_records_batches_and_epochs():
    # 50 training rows in batches of 16: 16, 16, 16, 2 -- an uneven last batch
    learn = make_learner(two_class_dls(n_train=50, n_valid=30, bs=16), LINEAR, metrics=[accuracy])
    learn.fit(2, 0.1)
    rec = learn.recorder
    assert len(rec.losses) == len(rec.lrs) == len(rec.moms) == 8
    assert rec.lrs == [0.1] * 8 and rec.moms == [0.9] * 8
    sizes = [16, 16, 16, 2]
    expected_train = np.average(rec.losses[4:], weights=sizes)
    assert rec.train_losses[1] == pytest.approx(expected_train)
    # the validation loss and metric are those of the whole validation set
    x, y = learn.dls.valid_dl.dataset.tensors
    with torch.no_grad():
        out = learn.model(x)
    assert rec.valid_losses[-1] == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-5)
    assert rec.metrics["accuracy"][-1] == pytest.approx(accuracy(out, y).item())
    assert len(rec.valid_losses) == len(rec.times) == 2 and all(t >= 0 for t in rec.times)
    assert rec.last_row()["epoch"] == 1
    learn.fit(1, 0.1)
    assert len(rec.train_losses) == 1  # reset at every fit


def test_recorder_computes_whole_set_metrics_on_all_predictions():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(70, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(70, generator=g)
    dls = DataLoaders(
        DataLoader(TensorDataset(x[:40], y[:40, None]), batch_size=8),
        DataLoader(TensorDataset(x[40:], y[40:, None]), batch_size=7),  # 30 rows: 7,7,7,7,2
    )
    learn = Learner(dls, nn.Linear(3, 1), loss_func=F.mse_loss, metrics=[rmse], verbose=False,
                    device="cpu")  # fmt: skip
    learn.fit(1, 0.01)
    with torch.no_grad():
        out = learn.model(x[40:])
    expected = torch.sqrt(((out - y[40:, None]) ** 2).mean()).item()
    assert learn.recorder.metrics["rmse"][0] == pytest.approx(expected, rel=1e-5)
    assert learn.recorder.valid_losses[0] == pytest.approx(expected**2, rel=1e-5)


def test_metric_given_as_partial_gets_its_function_name():
    learn = make_learner(two_class_dls(), LINEAR, metrics=[partial(accuracy)])
    learn.fit(1, 0.1)
    assert list(learn.recorder.metrics) == ["accuracy"]


def test_printer_writes_one_plain_row_per_epoch():
    out = io.StringIO()
    learn = make_learner(two_class_dls(), LINEAR, metrics=[accuracy])
    learn.remove_cb(learn.recorder)
    learn.add_cbs([learn.recorder, ProgressPrinter(file=out)])
    learn.fit(3, 0.1)
    text = out.getvalue()
    assert "\x1b" not in text and "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[0].split() == ["epoch", "train_loss", "valid_loss", "accuracy", "time"]
    for i, line in enumerate(lines[1:]):
        cells = line.split()
        assert cells[0] == str(i) and len(cells) == 5
        assert float(cells[1]) == pytest.approx(learn.recorder.train_losses[i], abs=1e-6)
        assert cells[4] == "00:00"
        # columns line up under their header
        for name in ("train_loss", "valid_loss", "accuracy", "time"):
            start = lines[0].index(name)
            assert line[start - 1] == " " and line[start] != " "


def test_verbose_prints_to_stdout_and_can_be_turned_off(capsys):
    make_learner(two_class_dls(), LINEAR, verbose=True).fit(2, 0.1)
    printed = capsys.readouterr().out
    assert len(printed.splitlines()) == 3 and printed.startswith("epoch")
    make_learner(two_class_dls(), LINEAR, verbose=False).fit(2, 0.1)
    learn = make_learner(two_class_dls(), LINEAR, verbose=True)
    learn.remove_cb(learn.printer)
    learn.fit(1, 0.1)
    assert capsys.readouterr().out == ""


def test_param_scheduler_sets_per_group_values_and_momentum_or_betas():
    seen = []

    class Spy(Callback):
        order = 20

        def before_batch(self):
            if self.learn.training:
                group = self.learn.opt.param_groups[0]
                seen.append((self.learn.pct_train, group["lr"], group["betas"][0]))

    sched = ParamScheduler({"lr": lambda pos: 1.0 + pos, "mom": lambda pos: 0.5 * pos})
    learn = make_learner(two_class_dls(n_train=32, bs=16), LINEAR, cbs=[sched, Spy()])
    learn.opt_func = torch.optim.Adam
    learn.fit(2, 0.1)
    assert [s[0] for s in seen] == [0.0, 0.25, 0.5, 0.75]
    assert [s[1] for s in seen] == [1.0, 1.25, 1.5, 1.75]
    assert [s[2] for s in seen] == [0.0, 0.125, 0.25, 0.375]
    assert learn.opt.param_groups[0]["betas"][1] == 0.999


def test_param_scheduler_per_group_sequence_and_optimisers_without_momentum():
    groups = [{"lr": 0.0}, {"lr": 0.0}]

    class Fake:
        training, pct_train = True, 0.5

        class opt:  # noqa: N801 -- stands in for an optimiser
            param_groups = groups

    sched = ParamScheduler({"lr": lambda pos: np.array([pos, 2 * pos]), "mom": lambda pos: 0.9})
    sched.learn = Fake()
    sched.before_batch()
    assert groups == [{"lr": 0.5}, {"lr": 1.0}]  # no momentum key: "mom" left alone
    Fake.training = False
    groups[0]["lr"] = 7.0
    sched.before_batch()
    assert groups[0]["lr"] == 7.0  # validation batches are not scheduled

"""The learning-rate finder: the sweep, the smoothing, stopping, restoring, the suggestion."""

import math

import numpy as np
import pytest
import torch
from helpers import digits_dls, digits_mlp, load_benchmark, make_learner
from torch.utils.data import DataLoader, TensorDataset

from course_utils.callbacks import Callback
from course_utils.data import DataLoaders
from course_utils.learner import Learner
from course_utils.lr_finder import LRFinderResult, NoClearMinimum, lr_find
from course_utils.metrics import accuracy
from course_utils.viz import plot_lr_find


def state_copy(learn):
    return {k: v.clone() for k, v in learn.model.state_dict().items()}


def test_sweep_is_exponential_and_the_smoothing_is_bias_corrected():
    learn = make_learner(digits_dls(), digits_mlp)
    result = learn.lr_find(start_lr=1e-5, end_lr=1e-1, num_it=30, stop_div=False, beta=0.9)
    assert result.iterations == 30 and not result.diverged  # 23 batches an epoch: 2 epochs
    expected = [1e-5 * (1e-1 / 1e-5) ** (i / 29) for i in range(30)]
    assert result.lrs == pytest.approx(expected)
    avg, smoothed = 0.0, []
    for i, loss in enumerate(result.losses):
        avg = 0.9 * avg + 0.1 * loss
        smoothed.append(avg / (1 - 0.9 ** (i + 1)))
    assert result.smoothed_losses == pytest.approx(smoothed)
    assert result.smoothed_losses[0] == pytest.approx(result.losses[0])  # no bias towards 0


def test_lr_find_restores_the_model_and_the_optimiser_exactly():
    learn = make_learner(digits_dls(), digits_mlp)
    learn.fit(1, 0.1)  # momentum buffers and BatchNorm statistics exist
    weights, opt_state = state_copy(learn), learn.opt.state_dict()
    buffers = {k: v["momentum_buffer"].clone() for k, v in opt_state["state"].items()}
    lrs = [g["lr"] for g in learn.opt.param_groups]
    losses = list(learn.recorder.losses)
    learn.lr_find(num_it=40)
    for k, v in learn.model.state_dict().items():
        assert torch.equal(v, weights[k]), k  # BatchNorm running stats included
    after = learn.opt.state_dict()
    for k, v in after["state"].items():
        assert torch.equal(v["momentum_buffer"], buffers[k])
    assert [g["lr"] for g in learn.opt.param_groups] == lrs
    assert learn.recorder.losses == losses  # the sweep left the recorder alone
    assert learn.recorder in learn.cbs


def test_lr_find_on_a_fresh_learner_leaves_no_optimiser(capsys):
    learn = make_learner(digits_dls(), digits_mlp, verbose=True)
    weights = state_copy(learn)
    learn.lr_find(num_it=20)
    assert learn.opt is None
    assert all(torch.equal(v, weights[k]) for k, v in learn.model.state_dict().items())
    assert capsys.readouterr().out == ""  # the printer was left out of the sweep
    assert learn.printer in learn.cbs


def test_suggestion_is_sensible_on_the_digits():
    learn = make_learner(digits_dls(), digits_mlp, metrics=[accuracy])
    result = learn.lr_find()
    assert 1e-3 < result.suggestion < 1.0
    assert result.suggestion == pytest.approx(result.lr_at_min_loss / 10)
    assert 1e-4 < result.lr_steepest <= result.lr_at_min_loss
    # and it trains well
    learn.fit(3, result.suggestion)
    assert learn.recorder.metrics["accuracy"][-1] > 0.9


def test_stops_when_the_loss_diverges():
    learn = make_learner(digits_dls(), digits_mlp)
    result = learn.lr_find(start_lr=1e-2, end_lr=1e4, num_it=100)
    assert result.diverged
    smoothed = np.array(result.smoothed_losses)
    assert smoothed[-1] > 4 * smoothed[:-1].min() or not math.isfinite(smoothed[-1])
    assert all(s <= 4 * smoothed[: i + 1].min() for i, s in enumerate(smoothed[:-1]))


def test_lr_find_restores_even_when_training_fails():
    class Boom(Callback):
        def after_step(self):
            if self.learn.train_iter == 5:
                raise RuntimeError("boom")

    learn = make_learner(digits_dls(), digits_mlp, cbs=[Boom()])
    weights = state_copy(learn)
    with pytest.raises(RuntimeError, match="boom"):
        learn.lr_find()
    assert all(torch.equal(v, weights[k]) for k, v in learn.model.state_dict().items())
    assert learn.opt is None and learn.recorder in learn.cbs


def test_bad_input_is_a_clear_error():
    empty = DataLoaders(
        DataLoader(TensorDataset(torch.zeros(0, 64), torch.zeros(0, dtype=torch.long))),
        DataLoader(TensorDataset(torch.zeros(4, 64), torch.zeros(4, dtype=torch.long))),
    )
    learn = Learner(empty, digits_mlp(), verbose=False, device="cpu")
    with pytest.raises(ValueError, match="lr_find: the training loader is empty"):
        learn.lr_find()
    learn = make_learner(digits_dls(), digits_mlp)
    with pytest.raises(ValueError, match="0 < start_lr < end_lr"):
        lr_find(learn, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="num_it must be an int >= 2"):
        lr_find(learn, num_it=1)
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\)"):
        lr_find(learn, beta=1.0)


def test_result_edge_cases():
    result = LRFinderResult(lrs=[1e-3, 1e-2, 1e-1], losses=[1, 2, 3], smoothed_losses=[1, 2, 3])
    assert result.lr_steepest == 1e-3 and result.lr_at_min_loss == 1e-3  # minimum at the start
    falling = LRFinderResult(lrs=[1e-3, 1e-2, 1e-1, 1], smoothed_losses=[3.0, 2.9, 1.0, 0.9])
    assert falling.lr_steepest == 1e-2 or falling.lr_steepest == 1e-1
    assert falling.suggestion == pytest.approx(0.1)


def test_lr_find_benchmark_runs_at_a_tiny_size(capsys):
    bench = load_benchmark("bench_lr_find")
    result = bench.main(["--quick", "--rows", "400", "--num-it", "10"])
    assert 0 < result["iterations"] <= 10 and result["lr_find_epochs"] > 0
    assert "epochs of training" in capsys.readouterr().out


def test_auto_beta_keeps_the_average_window_short_for_short_runs():
    from course_utils.lr_finder import auto_beta

    assert auto_beta(200) == pytest.approx(0.98) and auto_beta(10_000) == pytest.approx(0.98)
    assert auto_beta(100) == pytest.approx(0.96)
    assert auto_beta(30) == pytest.approx(1 - 4 / 30)
    assert auto_beta(3) == 0.0  # too short to smooth
    assert auto_beta(100, window_fraction=0.1) == pytest.approx(0.9)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_points"):
            auto_beta(bad)
    with pytest.raises(ValueError, match="window_fraction"):
        auto_beta(10, window_fraction=0)


def test_no_suggestion_when_the_loss_never_fell():
    rising = LRFinderResult(
        lrs=[1e-7, 1e-6, 1e-5, 1e-4],
        losses=[1.0, 1.2, 2.0, 5.0],
        smoothed_losses=[1.0, 1.1, 1.5, 3.0],
    )
    flat = LRFinderResult(lrs=[1e-7, 1e-6, 1e-5, 1e-4], smoothed_losses=[1.0, 0.995, 0.99, 1.2])
    for result in (rising, flat):
        assert not result.found_minimum
        with pytest.raises(NoClearMinimum, match="never fell clearly"):
            _ = result.suggestion
    dipped = LRFinderResult(lrs=[1e-7, 1e-6, 1e-5, 1e-4], smoothed_losses=[1.0, 0.97, 0.9, 2.0])
    assert dipped.found_minimum and dipped.suggestion == pytest.approx(1e-6)
    figure = plot_lr_find(rising)  # drawn without a suggestion line, the minimum named as such
    names = [trace.name for trace in figure.data]
    assert not any(name.startswith("suggestion") for name in names)
    assert "lowest smoothed loss: it never fell clearly" in names

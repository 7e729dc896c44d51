"""The Learner on small seeded CPU problems: training, schedules, layer groups, predictions,
saving, device decisions and bad input."""

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import blob_dls, grouped_mlp, load_benchmark, make_learner
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.data import DataLoaders
from course_utils.device import plan_device, to_device
from course_utils.learner import Learner, lrs_for_groups, random_hflip
from course_utils.metrics import accuracy
from course_utils.schedules import one_cycle_lr, sgdr_lr


def test_fit_reduces_the_loss_and_learns_the_problem():
    learn = make_learner(metrics=[accuracy])
    before, _ = learn.get_preds(raw=True)
    x, y = learn.dls.valid_dl.dataset.tensors
    loss_before = F.cross_entropy(before, y).item()
    learn.fit(4, 0.1)
    rec = learn.recorder
    assert rec.valid_losses[-1] < loss_before / 2
    assert rec.train_losses[-1] < rec.train_losses[0]
    assert rec.metrics["accuracy"][-1] > 0.95


def test_sgdr_lr_trace_restarts_at_the_right_iterations():
    learn = make_learner()  # 180 training rows / 32: 6 batches per epoch
    learn.fit(3, 0.2, cycle_len=1, cycle_mult=2)
    lrs = np.array(learn.recorder.lrs)
    assert len(lrs) == 7 * 6  # 1 + 2 + 4 epochs
    restarts = [i for i in range(1, len(lrs)) if lrs[i] > lrs[i - 1]]
    assert restarts == [6, 18]
    assert np.allclose(lrs[[0, 6, 18]], 0.2)
    expected = [sgdr_lr(0.2, 3, 1, 2)(i / 42) for i in range(42)]
    assert np.allclose(lrs, expected)
    assert len(learn.recorder.train_losses) == 7


def test_one_cycle_trace_of_lr_and_momentum():
    learn = make_learner()
    learn.fit_one_cycle(4, 0.5, pct_start=0.25)  # 24 iterations
    lrs, moms = np.array(learn.recorder.lrs), np.array(learn.recorder.moms)
    assert lrs[0] == pytest.approx(0.5 / 25) and lrs[6] == pytest.approx(0.5)
    assert np.argmax(lrs) == 6 and np.argmin(moms) == 6
    assert moms[0] == pytest.approx(0.95) and moms[6] == pytest.approx(0.85)
    assert np.allclose(lrs, [one_cycle_lr(0.5)(i / 24) for i in range(24)])
    assert lrs[-1] < 0.5 / 100


def test_differential_learning_rates_reach_the_optimiser():
    learn = make_learner()
    learn.fit(1, slice(1e-4, 1e-2))
    assert [g["lr"] for g in learn.opt.param_groups] == pytest.approx([1e-4, 1e-3, 1e-2])
    learn.fit(1, [0.1, 0.2, 0.3])
    assert [g["lr"] for g in learn.opt.param_groups] == [0.1, 0.2, 0.3]
    learn.fit_one_cycle(1, slice(1e-3, 1e-1), moms=None)
    rec = learn.recorder
    assert rec.lrs[0] == pytest.approx(1e-1 / 25)
    assert rec.moms == [0.9] * len(rec.lrs)  # moms=None leaves momentum alone
    # every group follows the same cycle, scaled: the ratios stay those of the slice
    ratios = [g["lr"] / learn.opt.param_groups[-1]["lr"] for g in learn.opt.param_groups]
    assert ratios == pytest.approx([1e-2, 1e-1, 1])


def test_optimiser_has_one_param_group_per_layer_group():
    learn = make_learner()
    learn.fit(1, 0.1)
    model = learn.model
    expected = [set(map(id, g.parameters())) for g in model.layer_groups()]
    assert [set(map(id, g["params"])) for g in learn.opt.param_groups] == expected


@pytest.mark.parametrize(
    ("lr", "n", "expected"),
    [
        (0.1, 3, [0.1, 0.1, 0.1]),
        (slice(1e-4, 1e-2), 3, [1e-4, 1e-3, 1e-2]),
        (slice(1e-4, 1e-2), 1, [1e-2]),
        (slice(None, 1e-2), 3, [1e-3, 1e-3, 1e-2]),
        ((0.1, 0.2), 2, [0.1, 0.2]),
        (np.array([0.1, 0.2]), 2, [0.1, 0.2]),
    ],
)
def test_lrs_for_groups(lr, n, expected):
    assert lrs_for_groups(lr, n) == pytest.approx(expected)


def test_lrs_for_groups_bad_input():
    with pytest.raises(ValueError, match="this model has no layer groups: pass layer_groups="):
        lrs_for_groups(slice(1e-4, 1e-2), 1, has_groups=False)
    with pytest.raises(ValueError, match="no layer groups"):
        lrs_for_groups([0.1], 1, has_groups=False)
    with pytest.raises(ValueError, match="got 2 learning rates for 3 layer groups"):
        lrs_for_groups([0.1, 0.2], 3)
    with pytest.raises(ValueError, match="positive and finite"):
        lrs_for_groups(-0.1, 2)
    with pytest.raises(ValueError, match="positive and finite"):
        lrs_for_groups(math.nan, 2)
    with pytest.raises(TypeError, match="lr must be a float"):
        lrs_for_groups("0.1", 2)
    with pytest.raises(TypeError, match="lr must be a float"):
        lrs_for_groups(True, 2)
    with pytest.raises(ValueError, match="needs an end"):
        lrs_for_groups(slice(1e-3, None), 2)


def test_slice_lr_on_a_model_without_layer_groups_is_a_clear_error():
    learn = make_learner(model=nn.Linear(6, 3))
    with pytest.raises(ValueError, match="this model has no layer groups"):
        learn.fit(1, slice(1e-3, 1e-2))
    with pytest.raises(ValueError, match="nothing to freeze|freeze part of it"):
        learn.freeze()
    learn.fit(1, 0.1)  # a single float is fine
    assert len(learn.opt.param_groups) == 1


def test_explicit_layer_groups_override_the_models():
    model = grouped_mlp()
    learn = make_learner(
        model=model, layer_groups=[nn.Sequential(model.body, model.mid), model.head]
    )
    learn.fit(1, slice(1e-3, 1e-2))
    assert [g["lr"] for g in learn.opt.param_groups] == pytest.approx([1e-3, 1e-2])


def test_layer_groups_must_cover_every_parameter():
    model = grouped_mlp()
    learn = make_learner(model=model, layer_groups=[model.body, model.head])
    with pytest.raises(ValueError, match=r"2 model parameters are in no layer group.*mid\.0"):
        learn.fit(1, 0.1)


def requires_grad(module):
    return {p.requires_grad for p in module.parameters()}


def test_freeze_unfreeze_and_batchnorm():
    learn = make_learner()
    model = learn.model
    learn.freeze()
    assert requires_grad(model.mid) == {False} and requires_grad(model.head) == {True}
    assert requires_grad(model.body[0]) == {False}
    assert requires_grad(model.body[1]) == {True}  # train_bn: BatchNorm stays trainable
    frozen = model.mid[0].weight.detach().clone()
    learn.fit(1, 0.1)
    assert torch.equal(model.mid[0].weight, frozen)
    learn.freeze_to(1)
    assert requires_grad(model.body[0]) == {False} and requires_grad(model.mid) == {True}
    learn.unfreeze()
    assert requires_grad(model) == {True}
    learn.fit(1, 0.1)
    assert not torch.equal(model.mid[0].weight, frozen)
    strict = make_learner(train_bn=False)
    strict.freeze()
    assert requires_grad(strict.model.body) == {False}
    bn = strict.model.body[1]
    stats = bn.running_mean.clone()
    strict.fit(1, 0.1)
    assert torch.equal(bn.running_mean, stats)  # frozen statistics too
    strict.unfreeze()
    strict.fit(1, 0.1)
    assert not torch.equal(bn.running_mean, stats)
    with pytest.raises(ValueError, match=r"0 <= n <= 3 .*got 4"):
        strict.freeze_to(4)


def test_opt_func_and_weight_decay_pass_through():
    learn = make_learner(opt_func=torch.optim.Adam, wd=0.01)
    learn.fit(1, 1e-3)
    assert isinstance(learn.opt, torch.optim.Adam)
    assert [g["weight_decay"] for g in learn.opt.param_groups] == [0.01] * 3
    learn.fit(1, 1e-3, wd=0.1)
    assert [g["weight_decay"] for g in learn.opt.param_groups] == [0.1] * 3
    assert isinstance(make_learner().opt_func(learn.model.parameters(), lr=1), torch.optim.SGD)


@pytest.mark.parametrize("epochs", [0, -1, 1.5, True, "2"])
def test_bad_epochs_are_clear_errors(epochs):
    learn = make_learner()
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        learn.fit(epochs, 0.1)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        learn.fit_one_cycle(epochs, 0.1)


def test_bad_sgdr_arguments_are_clear_errors():
    learn = make_learner()
    with pytest.raises(ValueError, match="n_cycles must be a positive int, got 0"):
        learn.fit(0, 0.1, cycle_len=1)
    with pytest.raises(ValueError, match="cycle_mult must be a positive int, got 0"):
        learn.fit(2, 0.1, cycle_len=1, cycle_mult=0)


def test_empty_training_loader_is_a_clear_error():
    dls = blob_dls()
    dls.train_dl = DataLoader(TensorDataset(torch.zeros(3, 6), torch.zeros(3)), batch_size=4,
                              drop_last=True)  # fmt: skip
    learn = make_learner(dls=dls)
    with pytest.raises(ValueError, match="training loader is empty"):
        learn.fit(1, 0.1)


def test_default_loss_follows_the_data():
    assert make_learner().loss_func is F.cross_entropy
    dls = blob_dls()
    dls.is_multilabel = True
    assert make_learner(dls=dls).loss_func is F.binary_cross_entropy_with_logits


def test_get_preds_predict_and_activation():
    learn = make_learner(dls=blob_dls(test=True))
    learn.fit(1, 0.1)
    probs, targets = learn.get_preds()
    assert probs.shape == (60, 3) and targets.shape == (60,)
    assert torch.allclose(probs.sum(dim=1), torch.ones(60))
    raw, _ = learn.get_preds("valid", raw=True)
    assert torch.allclose(raw.softmax(dim=1), probs)
    test_probs, test_targets = learn.get_preds("test")  # a test set without labels
    assert torch.allclose(test_probs, probs) and test_targets is None
    x = learn.dls.valid_dl.dataset.tensors[0]
    assert torch.allclose(learn.predict(x[:5]), probs[:5], atol=1e-6)
    tensors_only = DataLoader(x, batch_size=16)  # batches that are bare tensors
    assert torch.allclose(learn.get_preds(tensors_only)[0], probs, atol=1e-6)
    with pytest.raises(ValueError, match="no test_dl"):
        make_learner().get_preds("test")
    with pytest.raises(ValueError, match="loader is empty"):
        learn.get_preds(DataLoader(TensorDataset(x[:0]), batch_size=4))


def test_activation_is_sigmoid_for_bce_and_none_for_regression():
    x = torch.randn(8, 6)
    bce = make_learner(loss_func=nn.BCEWithLogitsLoss())
    assert torch.allclose(bce.predict(x), bce.predict(x, raw=True).sigmoid())
    mse = make_learner(loss_func=F.mse_loss)
    assert torch.equal(mse.predict(x), mse.predict(x, raw=True))
    ce = make_learner(loss_func=nn.CrossEntropyLoss())
    assert torch.allclose(ce.predict(x).sum(dim=1), torch.ones(8))


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, 2)

    def forward(self, x):  # x: (B, 1, H, W)
        return self.head(self.conv(x).mean(dim=(2, 3)))  # (B, 2)


def image_dls():
    g = torch.Generator().manual_seed(5)
    x = torch.rand(24, 1, 5, 5, generator=g)  # (B, C, H, W)
    y = (x[:, 0, :, 0].mean(1) > 0.5).long()  # depends on the left column: flips matter
    return DataLoaders(DataLoader(TensorDataset(x, y), batch_size=8),
                       DataLoader(TensorDataset(x, y), batch_size=8))  # fmt: skip


def test_tta_averages_the_plain_and_augmented_views():
    learn = make_learner(model=TinyCNN(), dls=image_dls())
    learn.fit(1, 0.1)
    probs, targets = learn.get_preds()
    tta, tta_targets = learn.TTA(n=3)
    assert tta.shape == probs.shape and torch.equal(tta_targets, targets)
    assert not torch.allclose(tta, probs)  # flips changed something
    assert torch.allclose(learn.TTA(n=3)[0], tta)  # seeded: the same views every time
    x = learn.dls.valid_dl.dataset.tensors[0]
    flipped, _ = learn.TTA(n=2, transform=lambda xb: xb.flip(-1))
    expected = (probs + 2 * learn.predict(x.flip(-1))) / 3
    assert torch.allclose(flipped, expected, atol=1e-6)


def test_random_hflip_flips_whole_images():
    x = torch.arange(2 * 8 * 1 * 2 * 3, dtype=torch.float32).reshape(16, 1, 2, 3)
    out = random_hflip(x, torch.Generator().manual_seed(0))
    flipped = [torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x, strict=True)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 0 < sum(flipped) < 16
    with pytest.raises(ValueError, match=r"\(B, C, H, W\), got \(4, 6\); pass transform="):
        random_hflip(torch.zeros(4, 6))


def test_tta_bad_input():
    learn = make_learner()
    with pytest.raises(ValueError, match="flips image batches"):
        learn.TTA()
    with pytest.raises(ValueError, match="n must be a positive int"):
        learn.TTA(n=0)
    shuffled = make_learner(dls=blob_dls())
    shuffled.dls.valid_dl = DataLoader(shuffled.dls.valid_dl.dataset, batch_size=8, shuffle=True)
    with pytest.raises(ValueError, match="not shuffled"):
        shuffled.TTA(n=1, transform=lambda xb: xb)


class Tabular(nn.Module):
    """Takes (cats, conts), as the tabular models of lesson 4 do."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(4, 3)
        self.lin = nn.Linear(3 + 2, 1)

    def forward(self, cats, conts):  # cats (B,) long, conts (B, 2)
        return self.lin(torch.cat([self.emb(cats), conts], dim=1)).squeeze(1)  # (B,)


def test_tuple_inputs_reach_the_model_as_arguments():
    g = torch.Generator().manual_seed(6)
    cats, conts = torch.randint(0, 4, (64,), generator=g), torch.randn(64, 2, generator=g)
    y = cats.float() + conts[:, 0]

    class Rows(torch.utils.data.Dataset):
        def __len__(self):
            return 64

        def __getitem__(self, i):
            return (cats[i], conts[i]), y[i]

    dls = DataLoaders(DataLoader(Rows(), batch_size=16), DataLoader(Rows(), batch_size=16))
    learn = make_learner(model=Tabular(), dls=dls, loss_func=F.mse_loss)
    learn.fit(5, 0.05)
    assert learn.recorder.valid_losses[-1] < learn.recorder.valid_losses[0]
    preds, targets = learn.get_preds()
    assert preds.shape == targets.shape == (64,)
    assert learn.predict((cats[:3], conts[:3])).shape == (3,)


def test_to_device_handles_nested_batches_and_channels_last():
    cpu = torch.device("cpu")
    images, labels = torch.rand(2, 3, 4, 5), torch.tensor([0, 1])
    out = to_device({"x": [images, (labels,)], "n": 3}, cpu, channels_last=True)
    assert out["n"] == 3 and torch.equal(out["x"][1][0], labels)
    assert out["x"][0].is_contiguous(memory_format=torch.channels_last)
    assert to_device(images, cpu).is_contiguous()
    assert to_device(torch.zeros(2, 3, 4, 5, dtype=torch.long), cpu, True).is_contiguous()


def test_device_plan_cpu_defaults_to_plain_float32():
    plan = plan_device("cpu", model=TinyCNN())
    assert plan.amp_dtype is None and not plan.grad_scaler
    assert not plan.channels_last and not plan.pin_memory
    assert plan_device("cpu", mixed_precision=True).amp_dtype == torch.bfloat16


@pytest.mark.parametrize(("bf16", "dtype", "scaler"), [(True, torch.bfloat16, False),
                                                         (False, torch.float16, True)])  # fmt: skip
def test_device_plan_on_cuda(bf16, dtype, scaler):
    # plan_device is pure given bf16_supported: no GPU is needed to test the CUDA decisions
    plan = plan_device("cuda", model=TinyCNN(), bf16_supported=bf16)
    assert plan.device == torch.device("cuda")
    assert plan.amp_dtype == dtype and plan.grad_scaler is scaler
    assert plan.channels_last and plan.pin_memory
    mlp = plan_device("cuda", model=grouped_mlp(), bf16_supported=bf16)
    assert not mlp.channels_last  # no convolution: nothing to gain
    off = plan_device("cuda:0", model=TinyCNN(), mixed_precision=False, bf16_supported=bf16)
    assert off.amp_dtype is None and not off.channels_last and off.pin_memory
    forced = plan_device("cuda", model=grouped_mlp(), channels_last=True, bf16_supported=bf16)
    assert forced.channels_last


def test_mixed_precision_paths_train_on_cpu():
    # bfloat16 autocast, and float16 with a gradient scaler, exercised on the CPU
    bf16 = make_learner(mixed_precision=True)
    bf16.fit(2, 0.1)
    assert bf16.recorder.valid_losses[-1] < bf16.recorder.valid_losses[0] + 1
    fp16_plan = dataclasses.replace(plan_device("cpu"), amp_dtype=torch.float16, grad_scaler=True)
    fp16 = make_learner(device=fp16_plan)
    fp16.fit(2, 0.1)
    assert fp16.scaler is not None and fp16.scaler.get_scale() > 0
    assert all(math.isfinite(v) for v in fp16.recorder.losses)
    assert fp16.get_preds()[0].dtype == torch.float32


def test_pinned_memory_is_switched_on_when_the_plan_says_so():
    plan = dataclasses.replace(plan_device("cpu"), pin_memory=True)
    dls = blob_dls(test=True)
    # the loaders are only marked here (pinning itself needs CUDA); nothing is iterated
    Learner(dls, grouped_mlp(), device=plan, verbose=False)
    assert dls.train_dl.pin_memory and dls.valid_dl.pin_memory and dls.test_dl.pin_memory


def test_default_device_comes_from_the_profile(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    learn = Learner(blob_dls(), grouped_mlp(), verbose=False)
    assert learn.device == torch.device("cpu")


def test_save_load_round_trip_with_optimiser(tmp_path):
    learn = make_learner(path=tmp_path, opt_func=torch.optim.Adam)
    learn.fit(2, 1e-2)
    file = learn.save("stage1")
    assert file == tmp_path / "models" / "stage1.pth"
    other = make_learner(path=tmp_path, opt_func=torch.optim.Adam)
    other.load("stage1")
    for (k, a), b in zip(learn.model.state_dict().items(), other.model.state_dict().values(),
                         strict=True):  # fmt: skip
        assert torch.equal(a, b), k
    assert other.opt.state_dict()["param_groups"][0]["lr"] == pytest.approx(1e-2)
    a_state, b_state = learn.opt.state_dict()["state"], other.opt.state_dict()["state"]
    assert torch.equal(a_state[0]["exp_avg"], b_state[0]["exp_avg"])
    # both continue identically
    learn.fit(1, 1e-2)
    other.fit(1, 1e-2)
    assert torch.allclose(learn.model.head.weight, other.model.head.weight)


def test_save_without_optimiser_and_load_errors(tmp_path):
    learn = make_learner(path=tmp_path)
    learn.save("weights", with_opt=False)
    assert set(torch.load(tmp_path / "models" / "weights.pth", weights_only=True)) == {"model"}
    fresh = make_learner(path=tmp_path)
    fresh.load("weights")
    assert fresh.opt is None
    torch.save(learn.model.state_dict(), tmp_path / "models" / "bare.pth")  # a bare state dict
    fresh.load("bare")
    with pytest.raises(FileNotFoundError, match=r"missing\.pth.*\['bare', 'weights'\]"):
        fresh.load("missing")
    with pytest.raises(FileNotFoundError, match="none"):
        make_learner(path=tmp_path / "elsewhere").load("weights")


def test_learner_fit_benchmark_runs_at_a_tiny_size(capsys):
    bench = load_benchmark("bench_learner_fit")
    result = bench.main(["--quick", "--rows", "256", "--repeats", "1", "--epochs", "1"])
    out = capsys.readouterr().out
    assert "ratio" in out and result["ratio_median"] > 0


@pytest.mark.parametrize("train_bn", [True, False])
def test_freeze_treats_the_scratch_batchnorm_like_torchs(train_bn):
    from course_utils.models import BatchNorm2d, resnet18

    model = resnet18(num_classes=3)
    dls = DataLoaders(
        DataLoader(TensorDataset(torch.randn(8, 3, 32, 32), torch.arange(8) % 3), batch_size=4),
        DataLoader(TensorDataset(torch.randn(4, 3, 32, 32), torch.arange(4) % 3), batch_size=4),
    )
    learn = Learner(dls, model, device="cpu", verbose=False, train_bn=train_bn)
    learn.freeze()
    early_bn = model.bn1
    assert isinstance(early_bn, BatchNorm2d)
    assert early_bn.weight.requires_grad is train_bn and not model.conv1.weight.requires_grad
    assert (early_bn in learn._frozen_bn) is not train_bn
    running_mean = early_bn.running_mean.clone()
    learn.fit(1, 1e-2)
    assert torch.equal(early_bn.running_mean, running_mean) is not train_bn

"""The hand-written optimisers against torch.optim: every test runs the same seeded problem
with ours and with torch's and compares the weights, so a wrong update rule fails."""

import copy
import io
from functools import partial

import pytest
import torch
from helpers import blob_dls, grouped_mlp, make_learner, regression_data, regression_mlp
from torch import nn

from course_utils.optim import SGD, Adam, AdamW

STEPS = 100
ATOL = 1e-9  # float64 throughout, except the Learner test (float32, 1e-6)


def loss_of(model, x, y):
    return ((model(x) - y) ** 2).mean()


def train(model, opt, steps=STEPS, schedule=None, start=0):
    """``steps`` full-batch steps, the loss recomputed each time; ``schedule(opt, i)`` may
    change hyper-parameters before step ``i``, as the Learner's ParamScheduler does."""
    x, y = regression_data()
    for i in range(start, start + steps):
        if schedule is not None:
            schedule(opt, i)
        opt.zero_grad()
        loss_of(model, x, y).backward()
        opt.step()
    return model


def run(opt_factory, steps=STEPS, schedule=None, groups=None):
    """Train a fresh model with ``opt_factory(params)``; ``groups(model)`` makes param groups."""
    model = regression_mlp()
    params = groups(model) if groups is not None else model.parameters()
    return train(model, opt_factory(params), steps, schedule)


def assert_same_weights(a, b, atol=ATOL):
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, atol=atol, rtol=0, msg=lambda m, n=name: f"{n}: {m}")


def assert_parity(ours, theirs, **kwargs):
    assert_same_weights(run(ours, **kwargs), run(theirs, **kwargs))


# ----- parity with torch.optim -------------------------------------------------------------------
SGD_CASES = {
    "plain": {"lr": 0.1},
    "momentum": {"lr": 0.05, "momentum": 0.9},
    "dampening": {"lr": 0.05, "momentum": 0.9, "dampening": 0.3},
    "nesterov": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "weight_decay": {"lr": 0.1, "weight_decay": 0.05},
    "momentum_weight_decay": {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.05},
    "nesterov_weight_decay": {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
}


@pytest.mark.parametrize("kwargs", SGD_CASES.values(), ids=SGD_CASES.keys())
def test_sgd_matches_torch(kwargs):
    assert_parity(partial(SGD, **kwargs), partial(torch.optim.SGD, **kwargs))


ADAM_CASES = {
    "default": {},
    "betas_eps": {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6},
    "weight_decay": {"lr": 1e-2, "weight_decay": 0.1},
}


@pytest.mark.parametrize("kwargs", ADAM_CASES.values(), ids=ADAM_CASES.keys())
def test_adam_matches_torch(kwargs):
    assert_parity(partial(Adam, **kwargs), partial(torch.optim.Adam, **kwargs))


ADAMW_CASES = {
    "default": {},  # both default to weight_decay=0.01
    "betas_weight_decay": {"lr": 1e-2, "betas": (0.85, 0.95), "weight_decay": 0.3},
}


@pytest.mark.parametrize("kwargs", ADAMW_CASES.values(), ids=ADAMW_CASES.keys())
def test_adamw_matches_torch(kwargs):
    assert_parity(partial(AdamW, **kwargs), partial(torch.optim.AdamW, **kwargs))


def test_adam_decoupled_wd_is_adamw_and_differs_from_l2():
    kwargs = {"lr": 1e-2, "weight_decay": 0.5}
    decoupled = run(partial(Adam, decoupled_wd=True, **kwargs))
    assert_same_weights(decoupled, run(partial(torch.optim.AdamW, **kwargs)))
    l2 = run(partial(torch.optim.Adam, **kwargs))
    assert not torch.allclose(decoupled[0].weight, l2[0].weight, atol=1e-3)


# ----- parameter groups and scheduled hyper-parameters -------------------------------------------
def two_groups(model, **per_group):
    """Layer 0 with the optimiser's defaults, layer 2 with ``per_group`` overrides."""
    return [{"params": model[0].parameters()}, {"params": model[2].parameters(), **per_group}]


def test_sgd_param_groups_match_torch():
    groups = partial(two_groups, lr=0.01, momentum=0.5, weight_decay=0.1)
    kwargs = {"lr": 0.1, "momentum": 0.9}
    assert_parity(partial(SGD, **kwargs), partial(torch.optim.SGD, **kwargs), groups=groups)


@pytest.mark.parametrize(("ours", "theirs"), [(Adam, torch.optim.Adam), (AdamW, torch.optim.AdamW)])
def test_adam_param_groups_match_torch(ours, theirs):
    groups = partial(two_groups, lr=3e-3, betas=(0.7, 0.9), weight_decay=0.2)
    assert_parity(partial(ours, lr=1e-2), partial(theirs, lr=1e-2), groups=groups)


def one_cycleish(opt, i):
    """lr up then down and momentum the other way, per group, as fit_one_cycle does."""
    pos = i / STEPS
    lr = 0.1 * (pos * 4 if pos < 0.25 else (1 - pos) * 4 / 3) + 1e-3
    mom = 0.95 - 0.1 * (pos * 4 if pos < 0.25 else (1 - pos) * 4 / 3)
    for k, group in enumerate(opt.param_groups):
        group["lr"] = lr / (k + 1)
        group["weight_decay"] = 0.01 * (i % 3)
        if "momentum" in group:
            group["momentum"] = mom
        else:  # Adam: the Learner replaces beta1 only
            group["betas"] = (mom, *group["betas"][1:])


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (SGD, torch.optim.SGD),
        (
            partial(SGD, nesterov=True, momentum=0.9),
            partial(torch.optim.SGD, nesterov=True, momentum=0.9),
        ),
        (Adam, torch.optim.Adam),
        (AdamW, torch.optim.AdamW),
    ],
    ids=["sgd", "nesterov", "adam", "adamw"],
)
def test_scheduled_hyper_parameters_match_torch(ours, theirs):
    assert_parity(ours, theirs, schedule=one_cycleish, groups=two_groups)


def test_momentum_switched_on_mid_run_matches_torch():
    def schedule(opt, i):  # plain SGD for 30 steps, then momentum: the buffer starts late
        for group in opt.param_groups:
            group["momentum"] = 0.0 if i < 30 else 0.9

    assert_parity(partial(SGD, lr=0.05), partial(torch.optim.SGD, lr=0.05), schedule=schedule)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (
            partial(SGD, lr=0.1, momentum=0.9, weight_decay=0.1),
            partial(torch.optim.SGD, lr=0.1, momentum=0.9, weight_decay=0.1),
        ),
        (partial(Adam, weight_decay=0.1), partial(torch.optim.Adam, weight_decay=0.1)),
    ],
    ids=["sgd", "adam"],
)
def test_params_without_grad_are_skipped(ours, theirs):
    def freeze_first(model):
        model[0].requires_grad_(False)  # .grad stays None: no update, no weight decay, no state
        return model.parameters()

    model = run(ours, groups=freeze_first)
    assert_same_weights(model, run(theirs, groups=freeze_first))
    torch.testing.assert_close(model[0].weight, regression_mlp()[0].weight, atol=0, rtol=0)


# ----- torch.optim compatibility -----------------------------------------------------------------
FACTORIES = [
    (partial(SGD, lr=0.05, momentum=0.9), partial(torch.optim.SGD, lr=0.05, momentum=0.9)),
    (partial(Adam, lr=1e-2), partial(torch.optim.Adam, lr=1e-2)),
    (partial(AdamW, lr=1e-2), partial(torch.optim.AdamW, lr=1e-2)),
]
IDS = ["sgd", "adam", "adamw"]


@pytest.mark.parametrize(("ours", "theirs"), FACTORIES, ids=IDS)
def test_state_dict_round_trip_resumes_like_an_uninterrupted_torch_run(ours, theirs):
    model = regression_mlp()
    opt = ours(two_groups(model, lr=1e-3))
    train(model, opt, steps=10)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf)

    resumed = regression_mlp(seed=123)  # different weights, overwritten by the checkpoint
    resumed.load_state_dict(saved["model"])
    fresh = ours(two_groups(resumed, lr=0.5), lr=0.7)  # hyper-parameters come from the state
    fresh.load_state_dict(saved["opt"])
    assert [g["lr"] for g in fresh.param_groups] == [g["lr"] for g in opt.param_groups]
    train(resumed, fresh, steps=STEPS - 10, start=10)

    reference = regression_mlp()
    train(reference, theirs(two_groups(reference, lr=1e-3)), steps=STEPS)
    assert_same_weights(resumed, reference)


@pytest.mark.parametrize(("ours", "theirs"), FACTORIES, ids=IDS)
def test_state_names_like_torch(ours, theirs):
    a, b = regression_mlp(), regression_mlp()
    opt_a, opt_b = ours(a.parameters()), theirs(b.parameters())
    train(a, opt_a, steps=2)
    train(b, opt_b, steps=2)
    sd_a, sd_b = opt_a.state_dict(), opt_b.state_dict()
    assert sd_a["state"].keys() == sd_b["state"].keys()
    for key, state in sd_b["state"].items():
        assert set(sd_a["state"][key]) == set(state)
        for name, value in state.items():
            if torch.is_tensor(value) and value.dim() > 0:
                torch.testing.assert_close(sd_a["state"][key][name], value, atol=ATOL, rtol=0)
            else:  # Adam's step: an int here, a 0-dim tensor in torch
                assert float(sd_a["state"][key][name]) == float(value)


@pytest.mark.parametrize(("ours", "theirs"), FACTORIES, ids=IDS)
def test_closure_is_evaluated_with_grad_and_its_loss_returned(ours, theirs):
    x, y = regression_data()

    def fit(model, opt):
        losses = []
        for _ in range(20):

            def closure():
                opt.zero_grad()
                loss = loss_of(model, x, y)
                loss.backward()  # fails if step() ran the closure under no_grad
                return loss

            losses.append(opt.step(closure))
        return losses

    a, b = regression_mlp(), regression_mlp()
    losses_a, losses_b = fit(a, ours(a.parameters())), fit(b, theirs(b.parameters()))
    assert_same_weights(a, b)
    torch.testing.assert_close(torch.stack(losses_a), torch.stack(losses_b), atol=ATOL, rtol=0)
    assert ours(regression_mlp().parameters()).step() is None


@pytest.mark.parametrize(("ours", "theirs"), FACTORIES, ids=IDS)
def test_works_with_torch_lr_scheduler(ours, theirs):
    def fit(factory):
        model = regression_mlp()
        opt = factory(model.parameters())
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
        x, y = regression_data()
        for _ in range(50):
            opt.zero_grad()
            loss_of(model, x, y).backward()
            opt.step()
            sched.step()
        return model

    assert isinstance(ours([torch.zeros(1, requires_grad=True)]), torch.optim.Optimizer)
    assert_same_weights(fit(ours), fit(theirs))


# ----- bad input ---------------------------------------------------------------------------------
def one_param():
    return [nn.Parameter(torch.zeros(2))]


@pytest.mark.parametrize(
    ("factory", "kwargs", "match"),
    [
        (SGD, {"lr": -0.1}, r"lr must be >= 0.0, got -0.1"),
        (SGD, {"lr": float("nan")}, r"lr must be >= 0.0, got nan"),
        (SGD, {"momentum": -0.5}, r"momentum must be in \[0.0, 1.0\), got -0.5"),
        (SGD, {"momentum": 1.0}, r"momentum must be in \[0.0, 1.0\), got 1.0"),
        (SGD, {"dampening": 1.5}, r"dampening must be in \[0.0, 1.0\], got 1.5"),
        (SGD, {"weight_decay": -1e-4}, r"weight_decay must be >= 0.0, got -0.0001"),
        (SGD, {"nesterov": True}, r"nesterov=True needs momentum > 0 .* got momentum=0.0"),
        (
            SGD,
            {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
            r"nesterov=True needs .*dampening == 0, got momentum=0.9, dampening=0.1",
        ),
        (Adam, {"lr": -1e-3}, r"lr must be >= 0.0, got -0.001"),
        (Adam, {"betas": (1.0, 0.999)}, r"betas\[0\] must be in \[0.0, 1.0\), got 1.0"),
        (Adam, {"betas": (-0.1, 0.999)}, r"betas\[0\] must be in \[0.0, 1.0\), got -0.1"),
        (Adam, {"betas": (0.9, 1.5)}, r"betas\[1\] must be in \[0.0, 1.0\), got 1.5"),
        (Adam, {"betas": (0.9,)}, r"betas must be a pair \(beta1, beta2\), got \(0.9,\)"),
        (Adam, {"eps": -1e-8}, r"eps must be >= 0.0, got -1e-08"),
        (Adam, {"weight_decay": -0.1}, r"weight_decay must be >= 0.0, got -0.1"),
        (AdamW, {"weight_decay": -0.1}, r"weight_decay must be >= 0.0, got -0.1"),
    ],
)
def test_bad_hyper_parameters_are_rejected(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(one_param(), **kwargs)


@pytest.mark.parametrize(
    ("factory", "group", "match"),
    [
        (SGD, {"momentum": 1.5}, r"momentum must be in \[0.0, 1.0\), got 1.5"),
        (SGD, {"lr": -1.0}, r"lr must be >= 0.0, got -1.0"),
        (Adam, {"betas": (0.9, 1.0)}, r"betas\[1\] must be in \[0.0, 1.0\), got 1.0"),
    ],
)
def test_bad_per_group_values_are_rejected(factory, group, match):
    with pytest.raises(ValueError, match=match):
        factory([{"params": one_param()}, {"params": one_param(), **group}], lr=0.1)


@pytest.mark.parametrize(
    ("factory", "key", "value", "match"),
    [
        (partial(SGD, momentum=0.9), "momentum", 1.2, r"momentum must be in \[0.0, 1.0\)"),
        (SGD, "lr", -0.5, r"lr must be >= 0.0, got -0.5"),
        (Adam, "betas", (1.0, 0.999), r"betas\[0\] must be in \[0.0, 1.0\), got 1.0"),
    ],
)
def test_bad_values_written_by_a_scheduler_are_caught_at_step(factory, key, value, match):
    params = one_param()
    opt = factory(params, lr=0.1)
    params[0].grad = torch.ones(2)
    opt.param_groups[0][key] = value
    with pytest.raises(ValueError, match=match):
        opt.step()
    torch.testing.assert_close(params[0], torch.zeros(2), atol=0, rtol=0)


@pytest.mark.parametrize("factory", [SGD, Adam, AdamW], ids=["SGD", "Adam", "AdamW"])
def test_sparse_gradients_are_rejected(factory):
    emb = nn.Embedding(10, 3, sparse=True)
    opt = factory(emb.parameters(), lr=0.1)
    emb(torch.tensor([1, 2])).sum().backward()
    assert emb.weight.grad.is_sparse
    with pytest.raises(RuntimeError, match=rf"{factory.__name__} does not support sparse grad"):
        opt.step()


# ----- end to end: the Learner -------------------------------------------------------------------
def fit_learner(opt_func):
    """helpers.blob_dls (6 training batches) and an MLP in two layer groups, the body with
    BatchNorm and no bias before it (its gradient would be rounding noise, which Adam amplifies
    to full-size steps)."""
    model = partial(grouped_mlp, mid=False, body_bias=False)
    learn = make_learner(blob_dls(), model, opt_func=opt_func)
    start = copy.deepcopy(learn.model)
    learn.fit_one_cycle(3, slice(3e-3, 3e-2), wd=1e-2)  # schedules lr and momentum / beta1
    return learn, start


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (SGD, torch.optim.SGD),
        (
            partial(SGD, momentum=0.9, nesterov=True),
            partial(torch.optim.SGD, momentum=0.9, nesterov=True),
        ),
        (Adam, torch.optim.Adam),
        (AdamW, torch.optim.AdamW),
    ],
    ids=["sgd", "nesterov", "adam", "adamw"],
)
def test_learner_trains_with_ours_like_with_torch(ours, theirs):
    learn, start = fit_learner(ours)
    reference, _ = fit_learner(theirs)
    assert isinstance(learn.opt, ours.func if isinstance(ours, partial) else ours)
    moms = learn.recorder.moms  # the scheduler found momentum / betas[0] under torch's names
    assert len(moms) == 18 and max(moms) - min(moms) > 0.05
    assert learn.recorder.train_losses[-1] < learn.recorder.train_losses[0]
    assert_same_weights(learn.model, reference.model, atol=1e-6)
    assert not torch.equal(learn.model.head.weight, start.head.weight)

"""The from-scratch models against PyTorch's and torchvision's own (course_utils.models)."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from course_utils.models.layers import BatchNorm2d, Conv2dUnfold, conv2d_unfold
from course_utils.models.resnet import BasicBlock, ResNet, resnet18, resnet34
from course_utils.models.simple import MLP, SimpleCNN

TOL = {"rtol": 1e-6, "atol": 1e-6}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def assert_close(actual, expected, **tol):
    torch.testing.assert_close(actual, expected, **(tol or TOL))


def covers_each_parameter_once(model: nn.Module, groups: list[nn.Module]) -> None:
    grouped = [id(p) for g in groups for p in g.parameters()]
    assert len(grouped) == len(set(grouped)), "a parameter is in two layer groups"
    assert set(grouped) == {id(p) for p in model.parameters()}


# ----- BatchNorm2d ---------------------------------------------------------------------------


def _pair_bn(**kwargs) -> tuple[BatchNorm2d, nn.BatchNorm2d]:
    ours, ref = BatchNorm2d(4, **kwargs), nn.BatchNorm2d(4, **kwargs)
    if ref.affine:  # non-trivial scale and shift, the same in both
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            ref.bias.uniform_(-0.5, 0.5)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


def _check_bn_steps(ours, ref, steps=4):
    for step in range(steps):
        x = torch.randn(8, 4, 5, 6) * (step + 1) + step  # statistics that change batch to batch
        assert_close(ours(x), ref(x))
        if ref.track_running_stats:
            assert_close(ours.running_mean, ref.running_mean)
            assert_close(ours.running_var, ref.running_var)
            assert ours.num_batches_tracked.item() == ref.num_batches_tracked.item() == step + 1


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_training_and_eval_match_torch(momentum):
    ours, ref = _pair_bn(momentum=momentum)
    _check_bn_steps(ours, ref)
    ours.eval(), ref.eval()
    x = torch.randn(3, 4, 5, 5) * 2 + 1
    assert_close(ours(x), ref(x))
    # eval mode really uses the running statistics: not those of this batch
    assert not torch.allclose(ours(x), ref.train()(x), atol=1e-3)


def test_batchnorm_cumulative_average_with_momentum_none():
    ours, ref = _pair_bn(momentum=None)
    batches = [torch.randn(6, 4, 3, 3) + i for i in range(3)]
    for x in batches:
        ours(x), ref(x)
    # the running mean is the plain mean of the batch means
    expected = torch.stack([x.mean(dim=(0, 2, 3)) for x in batches]).mean(0)
    assert_close(ref.running_mean, expected)
    assert_close(ours.running_mean, ref.running_mean)
    assert_close(ours.running_var, ref.running_var)


def test_batchnorm_gradients_match_torch():
    ours, ref = _pair_bn()
    x = torch.randn(8, 4, 5, 6) * 3 + 2
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    upstream = torch.randn(8, 4, 5, 6)
    (ours(x1) * upstream).sum().backward()
    (ref(x2) * upstream).sum().backward()
    assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-5)
    assert_close(ours.weight.grad, ref.weight.grad, rtol=1e-5, atol=1e-5)
    assert_close(ours.bias.grad, ref.bias.grad, rtol=1e-5, atol=1e-5)


def test_batchnorm_without_affine_or_running_stats():
    ours, ref = _pair_bn(affine=False)
    assert ours.weight is None and ours.bias is None and not list(ours.parameters())
    _check_bn_steps(ours, ref)
    ours.eval(), ref.eval()
    x = torch.randn(2, 4, 3, 3)
    assert_close(ours(x), ref(x))

    ours, ref = _pair_bn(track_running_stats=False)
    assert ours.running_mean is None and set(ours.state_dict()) == {"weight", "bias"}
    _check_bn_steps(ours, ref)
    ours.eval(), ref.eval()  # no running statistics: batch statistics in eval mode too
    x = torch.randn(2, 4, 3, 3) + 5
    assert_close(ours(x), ref(x))


def test_batchnorm_state_dict_loads_both_ways():
    ours, ref = BatchNorm2d(4), nn.BatchNorm2d(4)
    assert set(ours.state_dict()) == set(ref.state_dict())
    ref(torch.randn(4, 4, 2, 2) + 3)  # ref's running statistics move
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert_close(ours.running_mean, ref.running_mean)
    ours(torch.randn(4, 4, 2, 2) - 3)  # now ours move
    back = nn.BatchNorm2d(4)
    back.load_state_dict(ours.state_dict(), strict=True)
    for name, value in ours.state_dict().items():
        assert_close(back.state_dict()[name], value)
        assert back.state_dict()[name].dtype == value.dtype
    assert ours.num_batches_tracked.item() == 2
    ours.reset_parameters()
    assert ours.num_batches_tracked.item() == 0 and (ours.running_var == 1).all()
    assert "4, eps=1e-05, momentum=0.1" in repr(ours)


def test_batchnorm_errors():
    bn = BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"expects a 4-D input \(B, C, H, W\), got a 2-D"):
        bn(torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"expected 3 channels \(num_features\), found 4"):
        bn(torch.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(torch.randn(1, 3, 1, 1))
    bn.eval()
    assert bn(torch.randn(1, 3, 1, 1)).shape == (1, 3, 1, 1)  # fine with running statistics
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm2d(3, track_running_stats=False).eval()(torch.randn(1, 3, 1, 1))
    with pytest.raises(TypeError, match="num_features must be an int"):
        BatchNorm2d(2.0)
    with pytest.raises(ValueError, match="num_features must be positive"):
        BatchNorm2d(0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\] or None"):
        BatchNorm2d(3, momentum=1.5)


# ----- convolution as unfold + matmul ------------------------------------------------------

CONV_GRID = list(
    itertools.product(
        [(3, 3), (1, 1), (2, 3)],  # kernel
        [1, 2, (1, 2)],  # stride
        [0, 1, (2, 0)],  # padding
        [1, (2, 1)],  # dilation
        [True, False],  # bias
    )
)


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation", "bias"), CONV_GRID)
def test_conv2d_unfold_matches_conv2d(kernel, stride, padding, dilation, bias):
    x = torch.randn(2, 3, 9, 7)  # non-square input
    w = torch.randn(5, 3, *kernel)
    b = torch.randn(5) if bias else None
    expected = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    actual = conv2d_unfold(x, w, b, stride=stride, padding=padding, dilation=dilation)
    assert actual.shape == expected.shape
    assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_unfold_gradients_match_conv2d():
    x = torch.randn(2, 3, 8, 6)
    w, b = torch.randn(4, 3, 3, 2), torch.randn(4)
    args = {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2)}
    leaves1 = [t.clone().requires_grad_() for t in (x, w, b)]
    leaves2 = [t.clone().requires_grad_() for t in (x, w, b)]
    out1, out2 = conv2d_unfold(*leaves1, **args), F.conv2d(*leaves2, **args)
    upstream = torch.randn_like(out2)
    (out1 * upstream).sum().backward()
    (out2 * upstream).sum().backward()
    for a, e in zip(leaves1, leaves2, strict=True):
        assert_close(a.grad, e.grad, rtol=1e-5, atol=1e-5)


def test_conv2d_unfold_module_loads_conv2d_state_dict():
    ref = nn.Conv2d(3, 6, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2))
    ours = Conv2dUnfold(3, 6, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2))
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in ref.state_dict().items()
    }
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 3, 10, 11)
    assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)
    # the same default initialisation: uniform within +-1/sqrt(fan_in)
    bound = 1 / (3 * 3 * 5) ** 0.5
    fresh = Conv2dUnfold(3, 6, (3, 5))
    assert fresh.weight.abs().max() <= bound and fresh.bias.abs().max() <= bound
    no_bias, ref_no_bias = Conv2dUnfold(3, 2, 1, bias=False), nn.Conv2d(3, 2, 1, bias=False)
    assert no_bias.bias is None
    no_bias.load_state_dict(ref_no_bias.state_dict(), strict=True)
    assert_close(no_bias(x), ref_no_bias(x), rtol=1e-5, atol=1e-5)
    assert "kernel_size=(3, 5), stride=(2, 1)" in repr(ours)


def test_conv2d_unfold_errors():
    x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
    with pytest.raises(ValueError, match=r"4-D weight \(C_out, C_in, kH, kW\), got shape \(4, 3\)"):
        conv2d_unfold(x, torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"4-D input \(B, C, H, W\), got a 3-D"):
        conv2d_unfold(x[0], w)
    with pytest.raises(ValueError, match=r"expected 3 channels \(the weight's C_in.*found 5"):
        conv2d_unfold(torch.randn(2, 5, 8, 8), w)
    with pytest.raises(ValueError, match=r"bias of shape \(4,\).*got \(3,\)"):
        conv2d_unfold(x, w, torch.randn(3))
    with pytest.raises(ValueError, match=r"\(3, 3\) kernel with dilation \(5, 5\) does not fit"):
        conv2d_unfold(x, w, dilation=5)
    with pytest.raises(TypeError, match="stride must be an int or a pair of ints"):
        conv2d_unfold(x, w, stride=(1, 2, 3))
    with pytest.raises(TypeError, match="padding must be an int or a pair of ints"):
        conv2d_unfold(x, w, padding="same")
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv2d_unfold(x, w, stride=0)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        conv2d_unfold(x, w, padding=-1)
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        Conv2dUnfold(0, 4, 3)
    with pytest.raises(ValueError, match=r"expected 3 channels \(the weight's C_in"):
        Conv2dUnfold(3, 4, 3)(torch.randn(2, 4, 8, 8))


# ----- ResNet ------------------------------------------------------------------------------


def _torchvision_with_random_stats(factory, **kwargs) -> nn.Module:
    """A torchvision ResNet (random weights, never downloaded) with non-trivial BN state."""
    ref = factory(weights=None, **kwargs)
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.num_batches_tracked.fill_(7)
    return ref


RESNETS = {
    "resnet18": (resnet18, torchvision.models.resnet18),
    "resnet34": (resnet34, torchvision.models.resnet34),
}


@pytest.mark.parametrize(
    ("arch", "dtype"),
    [("resnet18", torch.float32), ("resnet34", torch.float32), ("resnet18", torch.float64)],
    ids=["resnet18-float32", "resnet34-float32", "resnet18-float64"],
)
def test_resnet_matches_torchvision(arch, dtype):
    ours_factory, ref_factory = RESNETS[arch]
    ref = _torchvision_with_random_stats(ref_factory)
    ours = ours_factory()
    assert list(ours.state_dict()) == list(ref.state_dict())  # same names, same order
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in ref.state_dict().items()
    }
    ours.load_state_dict(ref.state_dict(), strict=True)
    ours, ref = ours.to(dtype), ref.to(dtype)
    size = 64 if dtype == torch.float32 else 32  # float64 convolutions are slow on the CPU
    x = torch.randn(2, 3, size, size, dtype=dtype)
    # float64: the same function up to round-off. float32: round-off grows through the
    # layers, and the logits of a random ResNet are large (|y| ~ 10-100): relative to them.
    rtol = 1e-5 if dtype == torch.float32 else 1e-10
    ours.eval(), ref.eval()
    with torch.no_grad():
        expected = ref(x)
        assert_close(ours(x), expected, rtol=rtol, atol=rtol * expected.abs().max().item())
    ours.train(), ref.train()
    expected = ref(x)
    assert_close(ours(x), expected, rtol=rtol, atol=rtol * expected.abs().max().item())
    # training mode moved the running statistics in both models the same way
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values(), strict=True):
        assert_close(a, b, rtol=rtol, atol=rtol, msg=name)


def test_resnet_state_dict_loads_back_into_torchvision():
    ours = resnet18(num_classes=10)
    with torch.no_grad():
        for m in ours.modules():
            if isinstance(m, BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
    ref = torchvision.models.resnet18(weights=None, num_classes=10)
    ref.load_state_dict(ours.state_dict(), strict=True)
    ours.eval(), ref.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_resnet_builds_on_the_course_batchnorm_and_accepts_torch_one():
    ours = resnet18()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in ours.modules())
    assert sum(isinstance(m, BatchNorm2d) for m in ours.modules()) == 20  # 17 + 3 shortcuts
    assert isinstance(ours.layer2[0].downsample, nn.Sequential)
    assert isinstance(ours.layer2[0].downsample[0], nn.Conv2d)
    assert ours.layer1[0].downsample is None
    torch_bn = resnet34(norm_layer=nn.BatchNorm2d)
    assert not any(isinstance(m, BatchNorm2d) for m in torch_bn.modules())
    torch_bn.load_state_dict(torchvision.models.resnet34(weights=None).state_dict(), strict=True)
    zero = ResNet(BasicBlock, [1, 1, 1, 1], zero_init_residual=True)
    assert all((b[0].bn2.weight == 0).all() for b in (zero.layer1, zero.layer4))


@pytest.mark.parametrize("factory", [resnet18, resnet34])
def test_resnet_layer_groups_cover_every_parameter_once(factory):
    model = factory()
    groups = model.layer_groups()
    assert len(groups) == 3 and groups[-1] is model.fc
    covers_each_parameter_once(model, groups)
    first = {id(p) for p in groups[0].parameters()}
    assert id(model.conv1.weight) in first and id(model.layer2[1].bn2.bias) in first
    assert id(model.layer3[0].conv1.weight) not in first
    # layer_groups() does not register anything new in the model
    assert list(model.state_dict()) == list(factory().state_dict())


def test_resnet34_head_size_and_input_errors():
    model = resnet34(num_classes=10).eval()
    assert model.fc.out_features == 10
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 10)
    with pytest.raises(ValueError, match=r"ResNet expects images of shape \(B, 3, H, W\), got"):
        model(torch.randn(2, 1, 64, 64))
    with pytest.raises(ValueError, match=r"got shape \(3, 64, 64\)"):
        model(torch.randn(3, 64, 64))
    with pytest.raises(ValueError, match="layers must be 4 positive ints"):
        ResNet(BasicBlock, [2, 2, 2])
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        resnet18(num_classes=0)


# ----- MLP and SimpleCNN -------------------------------------------------------------------


def _loss_after_adam(model, x, y, steps=30):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_mlp_shapes_training_and_groups():
    model = MLP(784, [64, 32], 10, dropout=0.1)
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)
    assert model(torch.randn(5, 784)).shape == (5, 10)
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 2
    assert [m.out_features for m in model.modules() if isinstance(m, nn.Linear)] == [64, 32, 10]
    covers_each_parameter_once(model, model.layer_groups())
    assert len(model.layer_groups()) == 2

    linear = MLP(12, [], 3)
    assert linear.layer_groups() == [linear.head]
    covers_each_parameter_once(linear, linear.layer_groups())

    x, y = torch.randn(64, 20), torch.randint(0, 4, (64,))
    losses = _loss_after_adam(MLP(20, [32], 4), x, y)
    assert losses[-1] < 0.5 * losses[0]


def test_mlp_errors():
    model = MLP(784, [100], 10)
    message = (
        r"MLP expects inputs with 784 features per example \(after flattening\), "
        r"got shape \(32, 3, 28, 28\) = 2352 features"
    )
    with pytest.raises(ValueError, match=message):
        model(torch.randn(32, 3, 28, 28))
    with pytest.raises(ValueError, match=r"got a 1-D tensor of shape \(784,\) \(no batch"):
        model(torch.randn(784))
    with pytest.raises(ValueError, match="n_in must be a positive int, got 0"):
        MLP(0, [10], 2)
    with pytest.raises(ValueError, match=r"hidden\[1\] must be a positive int, got -3"):
        MLP(4, [10, -3], 2)
    with pytest.raises(TypeError, match="hidden must be a sequence of positive ints"):
        MLP(4, 10, 2)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        MLP(4, [10], 2, dropout=1.0)


def test_simple_cnn_shapes_training_and_groups():
    model = SimpleCNN(3, [8, 16, 32], 10)
    assert model(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    assert model(torch.randn(4, 3, 17, 23)).shape == (4, 10)  # any size: adaptive pooling
    assert sum(isinstance(m, BatchNorm2d) for m in model.modules()) == 3
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.stride for c in convs] == [(2, 2)] * 3 and [c.kernel_size for c in convs] == [
        (3, 3)
    ] * 3
    covers_each_parameter_once(model, model.layer_groups())
    torch_bn = SimpleCNN(1, [4], 2, norm_layer=nn.BatchNorm2d)
    assert any(isinstance(m, nn.BatchNorm2d) for m in torch_bn.modules())

    x, y = torch.randn(32, 1, 16, 16), torch.randint(0, 3, (32,))
    x[y == 1, :, :8] += 2.0  # a learnable signal: class 1 is bright at the top
    x[y == 2, :, 8:] += 2.0  # class 2 at the bottom
    losses = _loss_after_adam(SimpleCNN(1, [8, 16], 3), x, y)
    assert losses[-1] < 0.5 * losses[0]


def test_simple_cnn_errors():
    model = SimpleCNN(3, [8], 10)
    with pytest.raises(ValueError, match=r"SimpleCNN expects images of shape \(B, 3, H, W\), got"):
        model(torch.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"got shape \(3, 8, 8\)"):
        model(torch.randn(3, 8, 8))
    with pytest.raises(ValueError, match="channels needs at least one entry"):
        SimpleCNN(3, [], 10)
    with pytest.raises(ValueError, match="n_out must be a positive int"):
        SimpleCNN(3, [8], 0)

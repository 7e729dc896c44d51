"""Pretrained backbones: weights served over loopback, verified, loaded safely; the head,
layer groups and freezing; random weights, when asked for, said out loud (the quick profile's
pretrained bodies are tested in test_quick_pretrained.py)."""

from __future__ import annotations

import hashlib
import io
import pickle

import pytest
import torch
import torchvision
from helpers import load_benchmark
from test_download import LoopbackServer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.models import Weights

from course_utils.data import DataLoaders
from course_utils.datasets.download import DownloadInterruptedError, InsecureURLError
from course_utils.models.pretrained import (
    ARCHITECTURES,
    AdaptiveConcatPool2d,
    ConvNet,
    WeightsFileError,
    create_body,
    create_cnn,
    create_head,
    default_weights,
    download_weights,
    load_weights_file,
    scaled_resnet,
)
from course_utils.profile import current_profile
from course_utils.provenance import data_sources
from course_utils.vision import conv_learner


@pytest.fixture
def server():
    s = LoopbackServer()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def private_torch_home(torch_home):
    """Every test here gets conftest's private torch cache and clean provenance record."""
    return torch_home


def reference_resnet18(seed: int = 1) -> nn.Module:
    """A torchvision resnet18 with seeded random weights: the 'pretrained' file we serve."""
    torch.manual_seed(seed)
    return torchvision.models.resnet18(weights=None)


def serve_weights(server: LoopbackServer, state: dict, name: str = "resnet18") -> tuple[str, str]:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    body = buffer.getvalue()
    prefix = hashlib.sha256(body).hexdigest()[:8]
    fname = f"{name}-{prefix}.pth"
    return server.add(f"/models/{fname}", body), fname


def test_pretrained_body_loads_the_served_weights(server, torch_home):
    reference = reference_resnet18()
    url, fname = serve_weights(server, reference.state_dict())
    weights = Weights(url=url, transforms=None, meta={})
    model = create_cnn("resnet18", 5, pretrained=True, weights=weights, verbose=False)

    assert (torch_home / fname).is_file()  # in the torch cache
    body_state = model.body.state_dict()
    for key, value in reference.state_dict().items():
        if key.startswith(("fc.", "avgpool.")):
            continue
        # body is Sequential(conv1, bn1, relu, maxpool, layer1..4): index the names by position
        index = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
        top, rest = key.split(".", 1)
        torch.testing.assert_close(body_state[f"{index.index(top)}.{rest}"], value)

    # the body computes exactly what torchvision's network computes before its pooling
    reference.eval(), model.eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    features = nn.Sequential(*list(reference.children())[:-2])(x)
    torch.testing.assert_close(model.body(x), features)
    assert model(x).shape == (2, 5)

    # downloaded once: a second model reads the cache
    create_cnn("resnet18", 5, pretrained=True, weights=weights, verbose=False)
    assert server.requests == [f"/models/{fname}"]
    [source] = data_sources()
    assert source.origin == url and source.stand_in_for is None


def test_wrong_hash_prefix_leaves_no_file(server, torch_home):
    url, fname = serve_weights(server, reference_resnet18().state_dict())
    bad = url.replace(fname, "resnet18-00000000.pth")
    server.files["/models/resnet18-00000000.pth"] = server.files[f"/models/{fname}"]
    with pytest.raises(WeightsFileError, match="does not start with the 00000000 its name"):
        download_weights(bad)
    assert not torch_home.exists() or list(torch_home.iterdir()) == []


def test_truncated_download_leaves_no_file(server, torch_home):
    url, fname = serve_weights(server, reference_resnet18().state_dict())
    server.truncated.add(f"/models/{fname}")
    with pytest.raises(DownloadInterruptedError, match="cut off.*run again to retry") as info:
        download_weights(url)  # the cut is reported as such, before any hash is compared
    assert url in str(info.value)
    assert not torch_home.exists() or list(torch_home.iterdir()) == []


def test_refuses_unverifiable_and_insecure_urls(server):
    with pytest.raises(ValueError, match="no SHA-256 prefix"):
        download_weights(server.add("/models/resnet18.pth", b"x"))
    with pytest.raises(InsecureURLError, match="https"):
        download_weights("http://example.com/models/resnet18-b627a593.pth")
    assert server.requests == []


class Payload:
    """Not a tensor: unpickling it would run code a weights file must not run."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_weights_only_refuses_pickled_code(tmp_path, capsys):
    path = tmp_path / "evil-12345678.pth"
    with open(path, "wb") as f:
        pickle.dump({"weight": Payload()}, f, protocol=2)  # torch.save's protocol
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_weights_file(path)
    assert "must never run" not in capsys.readouterr().out


def test_weights_file_must_hold_a_state_dict(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(ValueError, match="holds a list, expected a state dict"):
        load_weights_file(path)


@pytest.mark.parametrize(
    ("profile", "name"),
    [("quick", "resnet18 at half width"), ("full", "resnet18")],
)
def test_random_weights_asked_for_are_no_stand_in(monkeypatch, capsys, profile, name):
    monkeypatch.setenv("COURSE_PROFILE", profile)
    model = create_cnn("resnet18", 5, pretrained=False)  # nothing downloaded, in either profile
    assert f"{name}: random initial weights, as asked" in capsys.readouterr().out
    [source] = data_sources()
    assert source.name == f"{name}, random initial weights" and source.stand_in_for is None
    # the body has the profile's width: the head is sized from its 512 or 256 channels
    assert model.head[2].num_features == 2 * round(512 * current_profile().body_width)


@pytest.mark.parametrize("arch", ["resnet18", "resnet34", "resnet50", "resnext50_32x4d"])
def test_full_width_is_torchvision_and_half_width_halves_every_layer(arch):
    full = torchvision.models.get_model(arch, weights=None)
    same = scaled_resnet(arch, 1.0)
    assert [(k, v.shape) for k, v in same.state_dict().items()] == [
        (k, v.shape) for k, v in full.state_dict().items()
    ]
    half = scaled_resnet(arch, 0.5)
    full_convs = [m for m in full.modules() if isinstance(m, nn.Conv2d)]
    half_convs = [m for m in half.modules() if isinstance(m, nn.Conv2d)]
    assert len(half_convs) == len(full_convs)  # as many layers, each half as wide
    for f, h in zip(full_convs, half_convs, strict=True):
        assert (h.out_channels * 2, h.kernel_size, h.stride, h.groups) == (
            f.out_channels,
            f.kernel_size,
            f.stride,
            f.groups,
        )
        assert h.in_channels * (1 if f.in_channels == 3 else 2) == f.in_channels
    assert half(torch.randn(2, 3, 32, 32)).shape == (2, 1000)
    n_full, n_half = (sum(p.numel() for p in m.parameters()) for m in (full, half))
    assert n_half < n_full / 3  # weights grow with in x out channels: about a quarter


def test_narrow_bodies_refuse_published_weights_and_bad_widths():
    with pytest.raises(ValueError, match="full width only"):
        create_body("resnet18", pretrained=True, width=0.5)
    for width in (0, 1.5, -0.5):
        with pytest.raises(ValueError, match=r"width must be in \(0, 1\]"):
            scaled_resnet("resnet18", width)


def test_full_profile_asks_for_torchvision_default_weights(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "full")
    asked = []

    def fake_download(url):  # stop before the network: record what would be fetched
        asked.append(url)
        raise ConnectionError("offline")

    monkeypatch.setattr("course_utils.models.pretrained.download_weights", fake_download)
    with pytest.raises(ConnectionError):
        create_cnn("resnext50_32x4d", 3)
    assert asked == [torchvision.models.ResNeXt50_32X4D_Weights.DEFAULT.url]


def test_concat_pool_is_max_then_average():
    x = torch.randn(3, 4, 5, 6)
    out = AdaptiveConcatPool2d()(x)
    assert out.shape == (3, 8, 1, 1)
    torch.testing.assert_close(out[:, :4, 0, 0], x.amax(dim=(2, 3)))
    torch.testing.assert_close(out[:, 4:, 0, 0], x.mean(dim=(2, 3)))


def test_head_shapes_and_bad_arguments():
    head = create_head(16, 3, hidden=8)
    assert head(torch.randn(4, 16, 2, 2)).shape == (4, 3)
    assert [type(m).__name__ for m in head][-1] == "Linear"
    with pytest.raises(ValueError, match="n_out must be a positive int"):
        create_head(16, 0)
    with pytest.raises(ValueError, match="dropout must be two probabilities"):
        create_head(16, 3, dropout=(0.5, 1.0))


@pytest.mark.parametrize("arch", ["resnet34", "resnext50_32x4d"])
def test_layer_groups_cover_the_model_once(arch):
    model = create_cnn(arch, 7, pretrained=False, verbose=False)
    ids = [id(p) for group in model.layer_groups() for p in group.parameters()]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    early, late, head = model.layer_groups()
    assert isinstance(early[4], nn.Sequential) and early[4] is model.body[4]  # layer1
    assert head is model.head
    # the head is sized from the body: 512 channels for resnet34, 2048 for resnext50, at the
    # profile's width
    expected = (512 if arch == "resnet34" else 2048) * current_profile().body_width
    assert model.head[2].num_features == 2 * round(expected)


def test_bad_input_names_what_was_expected():
    model = create_cnn("resnet18", 2, pretrained=False, verbose=False)
    with pytest.raises(ValueError, match=r"3-channel images \(B, 3, H, W\).*\(2, 1, 28, 28\)"):
        model(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"shape \(3, 28, 28\)"):
        model(torch.zeros(3, 28, 28))
    with pytest.raises(ValueError, match="unknown architecture 'vgg16'"):
        create_cnn("vgg16", 2, pretrained=False)
    with pytest.raises(ValueError, match="split must be inside"):
        ConvNet(create_body("resnet18", False), create_head(512, 2), split=8)
    assert default_weights("resnet34") == torchvision.models.ResNet34_Weights.IMAGENET1K_V1
    assert set(ARCHITECTURES) <= set(torchvision.models.list_models())


def image_dls(n=16, classes=("a", "b")) -> DataLoaders:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, 32, 32, generator=g)
    y = torch.arange(n) % len(classes)
    x[y == 1] += 1.0  # a class that is brighter: learnable
    ds = TensorDataset(x, y)
    return DataLoaders(
        DataLoader(ds, batch_size=8, shuffle=False), DataLoader(ds, batch_size=16), classes=classes
    )


def test_conv_learner_trains_the_head_only_when_frozen():
    dls = image_dls()
    learn = conv_learner(dls, "resnet18", pretrained=False, device="cpu", verbose=False, hidden=16)
    assert learn.model.head[-1].out_features == 2 and learn.model.head[4].out_features == 16
    before = {n: p.detach().clone() for n, p in learn.model.named_parameters()}
    learn.fit(1, 1e-2)
    changed = {n for n, p in learn.model.named_parameters() if not torch.equal(p, before[n])}
    batchnorm = {
        f"{module_name}.{param_name}"
        for module_name, module in learn.model.named_modules()
        if isinstance(module, nn.BatchNorm2d)
        for param_name, _ in module.named_parameters()
    }
    body_changed = {n for n in changed if n.startswith("body.")}
    assert body_changed and body_changed <= batchnorm  # frozen body: only BatchNorm trained
    assert any(n.startswith("head.") for n in changed)

    learn.unfreeze()
    learn.fit(1, slice(1e-4, 1e-2))
    lrs = [group["lr"] for group in learn.opt.param_groups]
    assert lrs == pytest.approx([1e-4, 1e-3, 1e-2])
    assert not torch.equal(learn.model.body[0].weight, before["body.0.weight"])


def test_conv_learner_needs_classes():
    dls = image_dls()
    dls.classes = None
    with pytest.raises(ValueError, match="needs dls.classes"):
        conv_learner(dls, "resnet18", pretrained=False)


def test_body_width_benchmark_runs_and_times_both_widths(capsys):
    bench = load_benchmark("bench_body_width")
    ratios = bench.main(["--quick"])
    assert set(ratios) == set(bench.ARCHS) and all(r > 0 for r in ratios.values())
    out = capsys.readouterr().out
    assert "resnet34               1" in out and "resnet34             0.5" in out

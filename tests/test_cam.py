"""course_utils.cam: the forward hook is removed; the CAM identity (a map's mean is its
logit); upsampling, normalising and peaks; the quick stand-in body's shapes; the figure's
structure and size; and compose_scenes' ``classes=`` filter."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from course_utils.cam import (
    cam_head,
    class_activation_maps,
    hook_output,
    map_peaks,
    normalize_maps,
    peaks_in_boxes,
    precompute_features,
    scene_body,
    upsample_maps,
)
from course_utils.detection import compose_scenes
from course_utils.viz import check_figure_size, plot_cam


@pytest.fixture
def head_and_features():
    torch.manual_seed(0)
    head = cam_head(16, 3)
    with torch.no_grad():  # a non-trivial bias, so a wrong identity cannot pass by luck
        head[0].bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    return head, torch.randn(4, 16, 5, 6)  # (B, C, h, w)


def test_hook_captures_output_and_is_removed(head_and_features):
    head, features = head_and_features
    with hook_output(head[0]) as hooked:
        head(features)
        assert len(head[0]._forward_hooks) == 1
    assert hooked.output.shape == (4, 3, 5, 6) and hooked.calls == 1
    assert not head[0]._forward_hooks
    head(features)  # after the block: nothing is captured any more
    assert hooked.calls == 1


def test_hook_is_removed_after_an_error(head_and_features):
    head, _ = head_and_features
    with pytest.raises(RuntimeError), hook_output(head[0]):
        head(torch.randn(2, 7, 3, 3))  # wrong number of channels
    assert not head[0]._forward_hooks


def test_map_mean_equals_logit(head_and_features):
    head, features = head_and_features
    logits = head(features)  # (B, K)
    for k in range(3):
        maps = class_activation_maps(features, head[0], torch.full((4,), k))  # (B, h, w)
        assert maps.shape == (4, 5, 6)
        assert torch.allclose(maps.mean(dim=(1, 2)), logits[:, k], atol=1e-5)
    predicted = class_activation_maps(features, head[0])  # default: the predicted class
    assert torch.allclose(predicted.mean(dim=(1, 2)), logits.max(dim=1).values, atol=1e-5)


def test_head_rejects_bad_sizes():
    with pytest.raises(ValueError):
        cam_head(0, 2)
    with pytest.raises(ValueError):
        class_activation_maps(torch.randn(2, 16), nn.Conv2d(16, 2, 3, padding=1))


def test_upsample_and_normalize_bounds():
    torch.manual_seed(1)
    maps = torch.randn(3, 4, 4) * 5
    up = upsample_maps(maps, (32, 24))
    assert up.shape == (3, 32, 24)
    assert up.max() <= maps.max() + 1e-5 and up.min() >= maps.min() - 1e-5  # interpolation
    norm = normalize_maps(up)
    assert norm.shape == up.shape and norm.min() >= 0 and norm.max() <= 1
    assert torch.allclose(norm.amax(dim=(1, 2)), torch.ones(3))
    assert torch.allclose(norm.amin(dim=(1, 2)), torch.zeros(3))
    assert torch.equal(normalize_maps(torch.full((1, 3, 3), -2.0)), torch.zeros(1, 3, 3))


def test_peaks_and_boxes():
    maps = torch.zeros(2, 4, 4)
    maps[0, 1, 2] = 1.0  # row 1, column 2
    maps[1, 3, 0] = 1.0
    peaks = map_peaks(maps, 64)  # cells of 16 px: centres at 8, 24, 40, 56
    assert peaks.tolist() == [[40.0, 24.0], [8.0, 56.0]]
    boxes = torch.tensor([[30.0, 20.0, 50.0, 30.0], [20.0, 40.0, 40.0, 60.0]])
    assert peaks_in_boxes(peaks, boxes).tolist() == [True, False]


def test_precompute_features_and_scene_body():
    torch.manual_seed(0)
    body = scene_body()
    x, y = torch.randn(10, 1, 64, 64), torch.arange(10) % 5
    batches = [(x[:6], y[:6]), (x[6:], y[6:])]
    features, targets = precompute_features(body, batches)
    assert features.shape == (10, 128, 8, 8) and torch.equal(targets, y)
    assert not body.training


def test_compose_scenes_classes_filter():
    kept = compose_scenes(40, 48, max_objects=2, seed=0, classes=(5, 7))
    labels = kept.labels[kept.labels >= 0]
    assert set(labels.tolist()) <= {5, 7} and len(labels) >= 40
    default = compose_scenes(5, 48, seed=0)
    again = compose_scenes(5, 48, seed=0, classes=None)
    assert torch.equal(default.images, again.images)  # the default is unchanged
    train = compose_scenes(30, 48, max_objects=1, seed=0, split="train", classes=[5])
    valid = compose_scenes(30, 48, max_objects=1, seed=0, split="valid", classes=[5])
    assert not set(train.digits[:, 0].tolist()) & set(valid.digits[:, 0].tolist())
    with pytest.raises(ValueError):
        compose_scenes(2, 48, classes=(11,))


def test_plot_cam_structure_and_size():
    torch.manual_seed(0)
    images = torch.rand(5, 1, 64, 64)
    heat = normalize_maps(upsample_maps(torch.randn(5, 8, 8), 64))
    boxes = torch.tensor([[10.0, 10.0, 30.0, 30.0]] * 5)
    peaks = map_peaks(torch.randn(5, 8, 8), 64)
    titles = [f"predicted {i}" for i in range(5)]
    fig = plot_cam(images, heat, titles, boxes=boxes, peaks=peaks, title="t")
    assert [t.type for t in fig.data] == ["image", "image", "scatter", "scatter", "scatter"]
    assert len(fig.frames) == 5 and len(fig.layout.sliders[0].steps) == 5
    assert [list(s.args[0]) for s in fig.layout.sliders[0].steps] == [[f.name] for f in fig.frames]
    assert all(list(f.traces) == [0, 1, 2, 3] for f in fig.frames)
    assert "predicted 3" in fig.frames[3].layout.title.text
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.args[0]["opacity"] for b in buttons] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert all(list(b.args[1]) == [1] for b in buttons) and fig.data[1].opacity == 0.5
    assert check_figure_size(fig) == len(fig.to_json()) < 1_000_000
    json.loads(fig.to_json())
    photos = plot_cam(torch.rand(2, 3, 224, 224), torch.rand(2, 224, 224), ["a", "b"])
    assert [t.type for t in photos.data] == ["image", "image", "scatter"]
    with pytest.raises(ValueError):
        plot_cam(images, heat * 2, titles)  # not normalised

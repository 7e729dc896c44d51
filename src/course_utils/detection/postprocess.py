"""From predictions to detections: decoding, scores, and non-maximum suppression.

The network finds each object many times, with neighbouring anchors. :func:`nms` keeps
the best box and drops the boxes that overlap it too much, greedily; :func:`detect`
decodes a batch of predictions, turns scores into probabilities, and runs NMS within
each class, giving one :class:`Detections` per image.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from course_utils.detection.boxes import _check_boxes, _iou, decode

__all__ = ["Detections", "detect", "nms"]


def nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    iou_threshold: float,
    max_kept: int | None = None,
) -> torch.Tensor:
    """Greedy non-maximum suppression: indices of the boxes kept,
    highest score first.

    Take the best-scoring box, drop every remaining box that overlaps it
    by more than ``iou_threshold`` IoU, repeat with what is left (as
    ``torchvision.ops.nms``); stop early once ``max_kept`` boxes are
    kept (the same as cutting the full answer)."""
    _check_boxes(boxes)
    if scores.shape != (len(boxes),):
        n, shape = len(boxes), tuple(scores.shape)
        raise ValueError(
            f"need one score per box: {n} boxes, scores {shape}",
        )
    order = scores.argsort(descending=True)
    keep = []
    while len(order) > 0 and (max_kept is None or len(keep) < max_kept):
        best, rest = order[0], order[1:]
        keep.append(best)
        # (len(rest),)
        overlap = _iou(boxes[best][None], boxes[rest])[0]
        order = rest[overlap <= iou_threshold]
    if not keep:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    return torch.stack(keep)


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

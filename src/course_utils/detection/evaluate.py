"""Scoring a detector: average precision and mean average precision (PASCAL VOC).

For each class, rank all its detections by score; a detection is a true positive if it
overlaps a not-yet-claimed box of its class by the IoU threshold, else a false positive.
AP is the area under that precision-recall curve (VOC's all-point interpolation); mAP the
mean over the classes.
"""

from __future__ import annotations

import numpy as np
import torch

from course_utils.detection.boxes import _check_boxes, _iou

__all__ = ["average_precision", "mean_average_precision"]


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

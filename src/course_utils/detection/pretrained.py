"""A real detector: torchvision's SSDlite, trained on COCO, on a photo, and its speed.

:func:`pretrained_detector` builds SSDlite (a MobileNetV3 body, 320 px) and loads its
published weights through :mod:`course_utils.models.pretrained` (downloaded once,
checked, loaded with ``weights_only=True``); :func:`run_pretrained` runs it on a photo
and measures images per second.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torchvision.models.detection import (
    SSDLite320_MobileNet_V3_Large_Weights,
    ssdlite320_mobilenet_v3_large,
)

from course_utils.detection.postprocess import Detections
from course_utils.detection.timing import _sync
from course_utils.models.pretrained import download_weights, load_weights_file
from course_utils.provenance import DataSource, record_data_source

__all__ = ["pretrained_detector", "run_pretrained"]


def pretrained_detector(weights=None):
    """torchvision's SSDlite (MobileNetV3 body, 320 px) trained on COCO: ``(model in eval
    mode, category names)``. ``weights`` default to torchvision's DEFAULT; the file is
    downloaded once, its SHA-256 prefix checked, and loaded with ``weights_only=True``
    (:mod:`course_utils.models.pretrained`). Needs the network the first time."""
    weights = weights if weights is not None else SSDLite320_MobileNet_V3_Large_Weights.DEFAULT
    categories = list(weights.meta["categories"])
    # the same network as weights=..., built empty: nothing downloaded behind our back
    model = ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=len(categories)
    )
    model.load_state_dict(load_weights_file(download_weights(weights.url)), strict=True)
    record_data_source(
        DataSource(
            f"ssdlite320_mobilenet_v3_large, COCO weights ({weights})",
            weights.url,
            description="an SSDlite detector pretrained on COCO's photos",
            kind="weights",
        )
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

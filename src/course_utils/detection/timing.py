"""How fast: a detector run over a set of images, timed honestly.

"Real-time" is a speed. :func:`run_detector` times the forward passes and the
post-processing (:func:`~course_utils.detection.detect`) together, after an untimed
warm-up batch, and waits for the GPU to finish its queued work before reading the clock.
"""

from __future__ import annotations

import time

import torch

from course_utils.detection.postprocess import Detections, detect

__all__ = ["run_detector"]


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

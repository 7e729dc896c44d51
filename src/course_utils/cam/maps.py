"""The CAM head and the class activation maps it makes possible (lesson 7).

The usual head pools the body's features (B, C, h, w) to one vector per image and then
applies a linear layer: by the time the class scores exist, *where* each feature was
has been averaged away. Lesson 7's head swaps the order: first a convolution from the C
feature channels to one channel per class, computed at every position, then the average
over positions (:func:`cam_head`). For class k, position (i, j)::

    map_k[i, j] = b_k + sum_c sum_(3x3 window) W_k * features    # the convolution
    logit_k     = mean over (i, j) of map_k[i, j]                 # the pooling

So the class score is exactly the mean of the class's map: each position's value is that
position's share of the score, and the map *is* the explanation, with nothing
approximated. :func:`class_activation_maps` returns that map; :func:`upsample_maps` and
:func:`normalize_maps` turn it into a heat map on the image, as the 2018 notebook did
(clip at 0, scale to [0, 1], resize to the image, overlay at half opacity).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "cam_head",
    "class_activation_maps",
    "map_peaks",
    "normalize_maps",
    "peaks_in_boxes",
    "precompute_features",
    "upsample_maps",
]


def cam_head(n_features: int, n_classes: int) -> nn.Sequential:
    """Lesson 7's head: (B, n_features, h, w) -> conv 3x3 -> (B,
    n_classes, h, w) -> mean over positions -> (B, n_classes) logits.

    The 2018 notebook ended with ``nn.LogSoftmax`` and a negative
    log-likelihood loss; here the head returns logits for
    ``F.cross_entropy``, which is log-softmax followed by that loss: the
    same maths, in one numerically careful step."""
    for name, value in (
        ("n_features", n_features),
        ("n_classes", n_classes),
    ):
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if not is_int or value < 1:
            raise ValueError(
                f"{name} must be a positive int, got {value!r}",
            )
    return nn.Sequential(
        # (B, K, h, w): the maps
        nn.Conv2d(n_features, n_classes, kernel_size=3, padding=1),
        nn.AdaptiveAvgPool2d(1),  # (B, K, 1, 1): each map's mean
        nn.Flatten(),  # (B, K)
    )


@torch.no_grad()
def precompute_features(
    body: nn.Module, batches: Iterable, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the frozen ``body`` once over ``batches`` of ``(images, targets)``, in eval mode
    (BatchNorm uses its stored statistics); return ``(features, targets)`` on the CPU,
    features (N, C, h, w). The 2018 library's ``precompute=True`` did the same: a head
    trained on these never pays for the body again."""
    body.eval().to(device)
    features, targets = [], []
    for xb, yb in batches:
        features.append(body(xb.to(device)).float().cpu())  # (B, C, h, w)
        targets.append(torch.as_tensor(yb))
    return torch.cat(features), torch.cat(targets)


def class_activation_maps(
    features: torch.Tensor, head_conv: nn.Conv2d, classes: torch.Tensor | None = None
) -> torch.Tensor:
    """One map per image: (B, C, h, w) body features -> (B, h, w), the channel of
    ``head_conv``'s output for class ``classes[b]`` of image b (default: the class the
    head predicts, the largest mean). Not clipped or scaled: the mean of image b's map is
    its logit for that class (see the module docstring)."""
    if features.ndim != 4:
        raise ValueError(f"features must be (B, C, h, w), got shape {tuple(features.shape)}")
    maps = head_conv(features)  # (B, K, h, w)
    if classes is None:
        classes = maps.mean(dim=(2, 3)).argmax(dim=1)  # (B,) the predicted classes
    classes = torch.as_tensor(classes, device=maps.device).long()
    if classes.shape != (len(maps),):
        raise ValueError(f"classes must hold one class per image ({len(maps)}), got {classes}")
    return maps[torch.arange(len(maps), device=maps.device), classes]  # (B, h, w)


def upsample_maps(maps: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """(B, h, w) maps resized to the image's (H, W) by bilinear interpolation: each map
    cell stands for a patch of (H/h) x (W/w) pixels, and its value lands on its centre."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    up = F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)
    return up[:, 0]  # (B, H, W)


def normalize_maps(maps: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """For display, as 2018 did: negative values clipped to 0 (they argue *against* the
    class), then each map shifted and scaled to [0, 1] (its lowest value 0, its highest
    1; a constant map becomes all zeros). (B, H, W) -> (B, H, W)."""
    maps = maps.clamp(min=0)
    low = maps.amin(dim=(1, 2), keepdim=True)  # (B, 1, 1)
    high = maps.amax(dim=(1, 2), keepdim=True)
    return (maps - low) / (high - low).clamp(min=eps)


def map_peaks(maps: torch.Tensor, image_size: int | tuple[int, int]) -> torch.Tensor:
    """Where each (B, h, w) map is highest, as (B, 2) image coordinates (x, y) in pixels:
    the centre of the highest cell. Bilinear upsampling never exceeds its grid values,
    so this is where the upsampled map peaks too."""
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
    h, w = maps.shape[-2:]
    flat = maps.flatten(1).argmax(dim=1)  # (B,) index of the highest cell
    rows, cols = flat // w, flat % w
    x = (cols.float() + 0.5) * width / w  # a cell covers width / w pixels
    y = (rows.float() + 0.5) * height / h
    return torch.stack([x, y], dim=1)  # (B, 2)


def peaks_in_boxes(peaks: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(B,) booleans: does point ``peaks[b]`` (x, y) lie inside box ``boxes[b]``, corners
    (x0, y0, x1, y1) in pixels (edges included)?"""
    x, y = peaks.unbind(dim=1)
    x0, y0, x1, y1 = boxes.unbind(dim=1)
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)

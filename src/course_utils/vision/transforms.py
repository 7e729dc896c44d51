"""Data augmentation and normalisation for images, with ``torchvision.transforms.v2``.

Lesson 2 augments the training images: every epoch the model sees each photo
slightly zoomed, cropped, rotated, flipped and lit differently, so it cannot
memorise pixels. Which changes make sense depends on the photos:

:data:`transforms_side_on`
    photos taken from the side (cats, dogs): left-right flips, but never upside down.
:data:`transforms_top_down`
    photos taken from above (satellite images, Planet): any flip, any multiple of 90°.
:data:`transforms_none`
    no augmentation.

Each is a tuple of transforms to pass as ``aug_tfms`` to :func:`tfms_from_stats`,
which builds the whole pipeline for an image size (zoom with ``max_zoom``).
Pretrained torchvision models expect inputs normalised with the ImageNet
statistics (:data:`IMAGENET_STATS`); :func:`denormalize` undoes it for display.

Order matters for speed: the decoded image is cropped, then resized, while
still uint8 (a fast path in torchvision, and only the pixels kept are resized);
only the small crop is converted to float32 for the other augmentations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

__all__ = [
    "IMAGENET_STATS",
    "RandomDihedral",
    "RandomLighting",
    "RandomZoomCrop",
    "denormalize",
    "normalize",
    "tfms_from_stats",
    "transforms_basic",
    "transforms_none",
    "transforms_side_on",
    "transforms_top_down",
]

Stats = tuple[Sequence[float], Sequence[float]]  # (per-channel mean, per-channel std)
IMAGENET_STATS: Stats = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


class RandomZoomCrop:
    """Zoom in by a random factor in ``[1, max_zoom]`` and take a random ``size x size`` crop.

    The same as resizing the shorter side to ``size * zoom`` and cropping at random
    (fastai's ``RandomScale`` + ``RandomCrop``), done as one crop-then-resize: only the
    pixels kept are resized. Works on uint8 or float ``(C, H, W)`` tensors and PIL images.
    """

    def __init__(self, size: int, max_zoom: float = 1.0):
        self.size, self.max_zoom = size, max_zoom

    def __call__(self, image):
        h, w = TF.get_size(image)
        zoom = 1 + torch.rand(()).item() * (self.max_zoom - 1)  # torch's RNG: seeded per worker
        side = max(1, min(h, w, round(min(h, w) / zoom)))  # the crop's side, in input pixels
        top = torch.randint(h - side + 1, ()).item()
        left = torch.randint(w - side + 1, ()).item()
        return TF.resized_crop(image, top, left, side, side, [self.size, self.size], antialias=True)

    def __repr__(self) -> str:
        return f"RandomZoomCrop(size={self.size}, max_zoom={self.max_zoom})"


class RandomDihedral:
    """One of the 8 symmetries of a square, at random: a left-right flip or not, then a
    rotation by 0, 90, 180 or 270 degrees (together these include the vertical flip).
    Works on ``(..., H, W)`` tensors; for square crops the shape is unchanged."""

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        flip, k = torch.randint(2, ()).item(), torch.randint(4, ()).item()  # torch's RNG:
        if flip:  # seeded per DataLoader worker
            image = image.flip(-1)
        return torch.rot90(image, k, dims=(-2, -1)) if k else image

    def __repr__(self) -> str:
        return "RandomDihedral()"


class RandomLighting:
    """fastai's lighting change on a float image in [0, 1]: brightness shifted by up to
    ``b`` and contrast scaled by up to ``1 + c`` (or ``1 / (1 + c)``), around the
    image's mean. One fused operation, a third of ``ColorJitter``'s cost here."""

    def __init__(self, b: float = 0.05, c: float = 0.05):
        self.b, self.c = b, c

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if not (isinstance(image, torch.Tensor) and image.is_floating_point()):
            raise TypeError(
                "RandomLighting works on float images in [0, 1]: put it after "
                "v2.ToDtype(torch.float32, scale=True) (tfms_from_stats does)"
            )
        b, c = ((torch.rand(2) * 2 - 1) * torch.tensor([self.b, self.c])).tolist()
        c = -1 / (c - 1) if c < 0 else c + 1  # contrast factor in [1/(1+c), 1+c]
        mean = image.mean()  # over all channels, as fastai did
        return (image * c + (mean * (1 - c) + b)).clamp_(0, 1)  # (x - mean) * c + mean + b

    def __repr__(self) -> str:
        return f"RandomLighting(b={self.b}, c={self.c})"


# The 2018 course's lists (fastai 0.7): a small rotation (three times in four) and a
# lighting change for any photo, plus the flips that make sense for how it was taken.
transforms_basic = (v2.RandomApply([v2.RandomRotation(10)], p=0.75), RandomLighting(0.05, 0.05))
transforms_side_on = (*transforms_basic, v2.RandomHorizontalFlip())
transforms_top_down = (*transforms_basic, RandomDihedral())
transforms_none: tuple = ()


def normalize(stats: Stats = IMAGENET_STATS) -> v2.Normalize:
    """The transform ``(x - mean) / std`` per channel of a float ``(C, H, W)`` image."""
    mean, std = stats
    return v2.Normalize(mean=list(mean), std=list(std))


def denormalize(x: torch.Tensor, stats: Stats = IMAGENET_STATS) -> torch.Tensor:
    """Undo :func:`normalize` for display: ``(C, H, W)`` or ``(B, C, H, W)`` in [0, 1].

    To show it with matplotlib: ``plt.imshow(denormalize(x).permute(1, 2, 0))``.
    """
    mean = torch.as_tensor(stats[0], dtype=x.dtype, device=x.device).view(-1, 1, 1)  # (C, 1, 1)
    std = torch.as_tensor(stats[1], dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return (x * std + mean).clamp(0, 1)


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int (the side of the squares), got {size!r}")
    return size


def tfms_from_stats(
    stats: Stats,
    size: int,
    aug_tfms: Sequence[Callable] = transforms_none,
    max_zoom: float | None = None,
) -> tuple[v2.Compose, v2.Compose]:
    """``(train_tfms, valid_tfms)`` turning a decoded image into a normalised square.

    Both take a uint8 ``(C, H, W)`` tensor (or a PIL image) and return float32
    ``(C, size, size)``, normalised with ``stats`` (``(mean, std)`` per channel).
    Training: zoom in by a random factor up to ``max_zoom`` (none by default) and
    take a random ``size x size`` crop (:class:`RandomZoomCrop`), then apply
    ``aug_tfms`` (e.g. :data:`transforms_side_on`).
    Validation, always the same output for the same input: resize the shorter
    side to ``size``, take the centre crop. Train on small images first, then
    call again with a larger ``size`` (lesson 2's progressive resizing).
    """
    size = _check_size(size)
    if max_zoom is not None and max_zoom < 1:
        raise ValueError(f"max_zoom must be at least 1 (1.1 zooms in up to 10%), got {max_zoom}")
    to_float = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]  # -> float32 in [0, 1]
    train = v2.Compose(
        [
            # on the decoded uint8 (C, H, W): resizing is cheap there, and all that
            # follows works on the small (C, size, size) crop
            RandomZoomCrop(size, max_zoom or 1.0),
            *to_float,
            *aug_tfms,  # flips, rotation, lighting on the float crop
            normalize(stats),
            v2.ToPureTensor(),  # a plain torch.Tensor, not a tv_tensors.Image
        ]
    )
    valid = v2.Compose(
        [
            v2.Resize(size, antialias=True),
            v2.CenterCrop(size),
            *to_float,
            normalize(stats),
            v2.ToPureTensor(),
        ]
    )
    return train, valid

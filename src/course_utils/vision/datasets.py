"""Datasets of image files: each item is ``(image, target)``, read from disk when asked for.

:class:`ImageFolderDataset` gives a class index (lessons 1-2), :class:`MultiLabelDataset`
a 0/1 vector with one column per tag (lesson 3). Both keep the list of files,
``ds.files[i]``, so the images a model gets most wrong can be shown later.

Decoding: JPEG, PNG, WebP and GIF go through torchvision's decoder
(``torchvision.io.decode_image``), about twice as fast as PIL on JPEGs here
(``benchmarks/bench_image_folder.py``); anything it cannot read (BMP, TIFF, odd
files) goes to PIL. torchvision 0.29 deprecates its decoders in favour of
TorchCodec: the warning is silenced around the call, and the day they are removed
every image simply goes through PIL. A file neither can read raises
:class:`CorruptImageError` naming the file.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset, get_worker_info
from torchvision.transforms.v2 import functional as TF

from course_utils.vision.folders import read_split

__all__ = [
    "CorruptImageError",
    "FileListDataset",
    "ImageFolderDataset",
    "MultiLabelDataset",
    "read_image",
]

MODES = ("RGB", "L")  # convert_mode: 3-channel colour, or 1-channel greyscale
TV_SUFFIXES = {  # what torchvision's decoder reads, per convert_mode (not greyscale WebP/GIF)
    "RGB": frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"}),
    "L": frozenset({".jpg", ".jpeg", ".png"}),
}

try:  # torchvision's decoders (deprecated in 0.29, to be removed): PIL does without them
    from torchvision.io import ImageReadMode, decode_image

    _TV_MODES = {"RGB": ImageReadMode.RGB, "L": ImageReadMode.GRAY}
except ImportError:  # pragma: no cover - a torchvision without image decoding
    decode_image = None


class CorruptImageError(ValueError):
    """A file could not be read as an image; the message names the file."""


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"convert_mode must be 'RGB' or 'L', got {mode!r}")
    return mode


def _decode_torchvision(data: bytes, mode: str) -> torch.Tensor | None:
    encoded = torch.frombuffer(bytearray(data), dtype=torch.uint8)  # (n_bytes,), writable
    try:
        with warnings.catch_warnings():  # "deprecated since torchvision 0.29": see the docstring
            warnings.simplefilter("ignore", DeprecationWarning)
            image = decode_image(encoded, mode=_TV_MODES[mode])  # (C, H, W) uint8
    except (RuntimeError, ValueError):
        return None  # let PIL try, and word the error if it fails too
    if image.ndim == 4:  # an animated GIF: (frames, C, H, W); keep the first frame, as PIL does
        image = image[0]
    if image.shape[0] != len(mode):  # e.g. WebP and GIF ignore "L": PIL converts properly
        return None
    if image.dtype != torch.uint8:  # 16-bit PNGs decode to uint16
        image = TF.to_dtype(image, torch.uint8, scale=True)
    return image


def _decode_pil(data: bytes, mode: str, path: Path) -> torch.Tensor:
    try:
        with Image.open(io.BytesIO(data)) as im:
            array = np.array(im.convert(mode))  # (H, W, 3) or (H, W) uint8; RGBA drops alpha
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise CorruptImageError(f"could not read {path} as an image: {e}") from e
    image = torch.from_numpy(array)
    image = image.permute(2, 0, 1) if image.ndim == 3 else image.unsqueeze(0)
    return image.contiguous()  # (C, H, W) uint8


def read_image(path: str | Path, convert_mode: str = "RGB", decoder: str = "auto") -> torch.Tensor:
    """Decode one image file to a ``(C, H, W)`` uint8 tensor, C = 3 (``"RGB"``) or 1 (``"L"``).

    ``decoder="auto"`` tries torchvision's decoder for JPEG/PNG/WebP/GIF and PIL for
    the rest or when it fails; ``"pil"`` always uses PIL. Raises
    :class:`CorruptImageError` naming the file when it is not a readable image.
    """
    path, mode = Path(path), _check_mode(convert_mode)
    if decoder not in ("auto", "pil"):
        raise ValueError(f"decoder must be 'auto' or 'pil', got {decoder!r}")
    try:
        data = path.read_bytes()  # read once, even if both decoders try
    except FileNotFoundError:
        # listed when the dataset was made, gone since: say so rather than skip the image
        why = f" (a link to {os.readlink(path)}, which does not exist)" if path.is_symlink() else ""
        raise FileNotFoundError(
            f"no image file at {path}{why}: restore it (a dataset lists its files when it "
            "is made: if the file was removed on purpose, make the dataset again)"
        ) from None
    if not data:
        raise CorruptImageError(f"could not read {path} as an image: the file is empty")
    if decoder == "auto" and decode_image is not None and path.suffix.lower() in TV_SUFFIXES[mode]:
        image = _decode_torchvision(data, mode)
        if image is not None:
            return image
    return _decode_pil(data, mode, path)


@contextmanager
def _one_thread():
    """Run per-image work on one thread when in the main process (``num_workers=0``).

    Intra-op threads do not pay on tensors this small, and on a busy 2-core machine
    they cost 2-3x (measured): DataLoader workers run on one thread for the same reason.
    """
    if get_worker_info() is not None:  # a worker: already one thread
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class FileListDataset(Dataset):
    """Images from a list of files, with one target per file (or none, for a test set).

    ``ds[i]`` is ``(image, target)``, or the image alone when ``targets`` is None.
    The image is ``transform(uint8 (C, H, W))``; without a transform it is float32
    (C, H, W) in [0, 1] (sizes differ between files, so a loader needs a transform
    that resizes).
    """

    def __init__(
        self,
        files: Sequence[str | Path],
        targets: torch.Tensor | None = None,
        classes: Sequence[str] | None = None,
        transform: Callable | None = None,
        convert_mode: str = "RGB",
        decoder: str = "auto",
    ):
        self.files = [Path(f) for f in files]
        if targets is not None and len(targets) != len(self.files):
            raise ValueError(f"{len(self.files)} files but {len(targets)} targets")
        self.targets, self.classes = targets, list(classes) if classes is not None else None
        self.transform, self.decoder = transform, decoder
        self.convert_mode = _check_mode(convert_mode)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def c(self) -> int | None:
        """The number of classes (the model's outputs), if known."""
        return None if self.classes is None else len(self.classes)

    def get_image(self, i: int) -> torch.Tensor:
        """Image ``i`` as decoded, before any transform: ``(C, H, W)`` uint8."""
        return read_image(self.files[i], self.convert_mode, self.decoder)

    def __getitem__(self, i: int):
        with _one_thread():
            image = self.get_image(i)  # (C, H, W) uint8
            if self.transform is not None:
                image = self.transform(image)  # (C, size, size) float32 with tfms_from_stats
            else:
                image = TF.to_dtype(image, torch.float32, scale=True)  # (C, H, W) in [0, 1]
        return image if self.targets is None else (image, self.targets[i])

    def subset(self, indices: Sequence[int]) -> FileListDataset:
        """A dataset of the same kind holding only ``indices`` (files and targets follow)."""
        indices = [int(i) for i in indices]
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.files = [self.files[i] for i in indices]
        if self.targets is not None:
            new.targets = self.targets[torch.as_tensor(indices, dtype=torch.long)]
        return new

    def __repr__(self) -> str:
        what = f"{len(self)} images"
        if self.classes is not None:
            what += f", {len(self.classes)} classes"
        return f"{type(self).__name__}({what})"


class ImageFolderDataset(FileListDataset):
    """Single-label images: ``ds[i]`` is ``(image, class index)``, the index an int64
    scalar tensor into ``ds.classes``."""

    def __init__(
        self,
        files: Sequence[str | Path],
        labels: Sequence[int],
        classes: Sequence[str],
        transform: Callable | None = None,
        convert_mode: str = "RGB",
        decoder: str = "auto",
    ):
        targets = torch.as_tensor(np.asarray(labels, dtype=np.int64))  # (N,) int64
        if len(targets) and (targets.min() < 0 or targets.max() >= len(classes)):
            raise ValueError(f"labels must index classes 0..{len(classes) - 1}")
        super().__init__(files, targets, classes, transform, convert_mode, decoder)

    @classmethod
    def from_folder(
        cls, folder: str | Path, classes: Sequence[str] | None = None, **kwargs
    ) -> ImageFolderDataset:
        """The images of ``folder/<class>/<image>`` (one split of the image-folder layout)."""
        folder = Path(folder)
        layout = f"{folder}/<class>/<image>"
        files, labels, classes = read_split(folder.parent, folder.name, layout, classes)
        return cls(files, labels, classes, **kwargs)

    @property
    def labels(self) -> torch.Tensor:
        """The class index of every file: ``(N,)`` int64."""
        return self.targets


class MultiLabelDataset(FileListDataset):
    """Multi-label images: ``ds[i]`` is ``(image, target)``, target a float32 ``(C,)`` vector
    with 1 for each tag of the image (column j is ``ds.classes[j]``)."""

    def __init__(
        self,
        files: Sequence[str | Path],
        targets,
        classes: Sequence[str],
        transform: Callable | None = None,
        convert_mode: str = "RGB",
        decoder: str = "auto",
    ):
        targets = torch.as_tensor(np.asarray(targets, dtype=np.float32))  # (N, C) of 0/1
        if targets.ndim != 2 or targets.shape[1] != len(classes):
            raise ValueError(
                f"multi-label targets must be (N, {len(classes)}), got {tuple(targets.shape)}"
            )
        super().__init__(files, targets, classes, transform, convert_mode, decoder)

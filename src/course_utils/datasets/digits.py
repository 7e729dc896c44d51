"""The 8x8 handwritten digits: the first real data the book trains on.

Used by Section 1: *NumPy for absolute dummies* (an image as an array) and
*MLP for dummies* (a two-layer network written by hand, then in PyTorch).

The images are the UCI "optdigits" test set, 1,797 digits written by 13 people
and reduced to 8x8 blocks of ink counts (0..16). scikit-learn ships them inside
its wheel (:func:`sklearn.datasets.load_digits`), so loading them needs no
network. They are the canonical data of these chapters, so both profiles,
``quick`` and ``full``, use the same images; nothing stands in for anything.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from course_utils.provenance import DataSource, record_data_source

__all__ = [
    "DATA_SOURCE_DESCRIPTION",
    "DATA_SOURCE_NAME",
    "DATA_SOURCE_ORIGIN",
    "IMAGE_SHAPE",
    "Digits",
    "load_digits",
]

IMAGE_SHAPE = (8, 8)
MAX_INK = 16  # pixel values in the raw data are ink counts 0..16
DATA_SOURCE_NAME = "8x8 handwritten digits"
DATA_SOURCE_ORIGIN = (
    "scikit-learn load_digits(), bundled in the scikit-learn wheel (UCI optdigits test set)"
)
DATA_SOURCE_DESCRIPTION = "the 1,797 small (8x8) handwritten digits that come with scikit-learn"


@dataclass(frozen=True)
class Digits:
    """The digits split into a training and a validation set.

    Images are flattened: row ``i`` of ``x_train`` is one 8x8 image read row by
    row, so ``x_train[i].reshape(8, 8)`` is the picture.
    """

    x_train: np.ndarray  # (N_train, 64) float32 in [0, 1]
    y_train: np.ndarray  # (N_train,) int64 labels 0..9
    x_valid: np.ndarray  # (N_valid, 64) float32 in [0, 1]
    y_valid: np.ndarray  # (N_valid,) int64 labels 0..9
    train_index: np.ndarray  # (N_train,) positions of the training images in the original data
    valid_index: np.ndarray  # (N_valid,) positions of the validation images in the original data

    classes = tuple(range(10))
    image_shape = IMAGE_SHAPE

    def as_tensors(self):
        """The four arrays as PyTorch tensors: ``(x_train, y_train, x_valid, y_valid)``.

        Images stay float32 and labels int64, the dtypes ``nn.Linear`` and
        ``nn.CrossEntropyLoss`` expect. The tensors share memory with the arrays.
        """
        import torch

        return tuple(
            torch.from_numpy(a) for a in (self.x_train, self.y_train, self.x_valid, self.y_valid)
        )


def load_digits(valid_fraction: float = 0.2, seed: int = 0) -> Digits:
    """Load the 1,797 digits, scaled to [0, 1], split at random into train and valid.

    ``valid_fraction`` of the images (rounded to a whole number) go to the
    validation set; the split depends only on ``seed``, so every run of a page
    sees the same images in the same sets. Records the data in the page's
    provenance.
    """
    _check_fraction(valid_fraction)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")

    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    x = (bunch.data / MAX_INK).astype(np.float32)  # (N, 64), ink counts 0..16 -> [0, 1]
    y = bunch.target.astype(np.int64)  # (N,)
    n = len(y)
    n_valid = round(n * valid_fraction)
    if not 0 < n_valid < n:
        raise ValueError(
            f"valid_fraction={valid_fraction} leaves {n_valid} of {n} images for validation; "
            "expected a fraction that puts at least one image in each set"
        )

    order = np.random.default_rng(seed).permutation(n)
    valid_index, train_index = np.sort(order[:n_valid]), np.sort(order[n_valid:])
    record_data_source(
        DataSource(
            name=DATA_SOURCE_NAME,
            origin=DATA_SOURCE_ORIGIN,
            items=n,
            description=DATA_SOURCE_DESCRIPTION,
        )
    )
    return Digits(
        x_train=x[train_index],
        y_train=y[train_index],
        x_valid=x[valid_index],
        y_valid=y[valid_index],
        train_index=train_index,
        valid_index=valid_index,
    )


def _check_fraction(valid_fraction: float) -> None:
    if isinstance(valid_fraction, bool) or not isinstance(valid_fraction, numbers.Real):
        raise TypeError(
            f"valid_fraction must be a number between 0 and 1 (exclusive), "
            f"got {type(valid_fraction).__name__}: {valid_fraction!r}"
        )
    if not 0 < valid_fraction < 1:
        raise ValueError(
            f"valid_fraction must be between 0 and 1 (exclusive), got {valid_fraction!r}"
        )

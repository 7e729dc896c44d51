"""Interpreting a classifier: which classes it confuses and which examples it gets wrong.

Lesson 1 looks at the most correct, most incorrect and most uncertain cats and
dogs; lesson 2 reads the confusion matrix. :class:`Interpretation` computes
those from predicted probabilities and targets and returns plain data (indices
into the dataset, probabilities, counts); plotting the images is done elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Examples", "Interpretation"]


@dataclass(frozen=True)
class Examples:
    """Selected examples, best match first: positions in the dataset and what was predicted."""

    indices: np.ndarray  # (k,) int positions in the loader's dataset order
    probs: np.ndarray  # (k,) probability given to the predicted class
    predicted: np.ndarray  # (k,) predicted class index
    actual: np.ndarray  # (k,) true class index


class Interpretation:
    """Interprets single-label predictions.

    ``probs`` are probabilities, (N, C) with rows summing to 1, or (N,) the
    probability of class 1 of a binary problem (dogs vs cats). ``targets`` are
    (N,) class indices. ``classes`` names the classes (default ``"0"``, ``"1"``, ...).
    """

    def __init__(self, probs, targets, classes: Sequence[str] | None = None):
        probs = torch.as_tensor(probs).detach().double().cpu().numpy()
        targets = torch.as_tensor(targets).detach().cpu().numpy()
        if probs.ndim == 1:  # binary: p is P(class 1)
            probs = np.stack([1 - probs, probs], axis=1)  # (N, 2)
        if probs.ndim != 2 or targets.ndim != 1 or len(probs) != len(targets):
            raise ValueError(
                "Interpretation expects probs (N, C) or (N,) and targets (N,), "
                f"got probs {probs.shape} and targets {targets.shape}"
            )
        n_classes = probs.shape[1]
        if probs.size and (
            probs.min() < 0 or probs.max() > 1 or not np.allclose(probs.sum(1), 1, atol=1e-3)
        ):
            raise ValueError(
                "Interpretation expects probabilities (rows of probs sum to 1), got values in "
                f"[{probs.min():.3g}, {probs.max():.3g}]; apply softmax to raw outputs "
                "(learn.get_preds() returns probabilities)"
            )
        if targets.size and (targets.min() < 0 or targets.max() >= n_classes):
            raise ValueError(
                f"targets must be class indices in 0..{n_classes - 1}, "
                f"found {targets.min()}..{targets.max()}"
            )
        if classes is not None and len(classes) != n_classes:
            raise ValueError(f"got {len(classes)} class names for {n_classes} classes")
        self.probs, self.targets = probs, targets.astype(np.int64)
        self.classes = (
            [str(c) for c in classes] if classes is not None else [str(i) for i in range(n_classes)]
        )
        self.preds = probs.argmax(axis=1)  # (N,) predicted class

    @classmethod
    def from_learner(cls, learn, dl=None) -> Interpretation:
        """Interpret ``learn``'s predictions on the validation set (or ``dl``)."""
        probs, targets = learn.get_preds(dl)
        return cls(probs, targets, getattr(learn.dls, "classes", None))

    @property
    def accuracy(self) -> float:
        """The fraction of examples predicted correctly."""
        return float((self.preds == self.targets).mean())

    def confusion_matrix(self) -> np.ndarray:
        """Counts ``cm[actual, predicted]``, (C, C): rows are the true classes."""
        c = len(self.classes)
        return np.bincount(self.targets * c + self.preds, minlength=c * c).reshape(c, c)

    def most_confused(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """Off-diagonal cells of the confusion matrix, largest first:
        ``(actual name, predicted name, count)`` for counts of at least ``min_count``."""
        cm = self.confusion_matrix()
        pairs = [
            (self.classes[a], self.classes[p], int(cm[a, p]))
            for a in range(len(cm))
            for p in range(len(cm))
            if a != p and cm[a, p] >= max(min_count, 1)
        ]
        return sorted(pairs, key=lambda pair: -pair[2])  # stable: ties keep class order

    def per_class_accuracy(self) -> dict[str, float]:
        """Each class's name -> the fraction of its examples predicted correctly (NaN if none)."""
        cm = self.confusion_matrix()
        totals = cm.sum(axis=1)
        return {
            name: float(cm[i, i] / totals[i]) if totals[i] else float("nan")
            for i, name in enumerate(self.classes)
        }

    def _select(self, mask: np.ndarray, key: np.ndarray, k: int) -> Examples:
        candidates = np.flatnonzero(mask)
        chosen = candidates[np.argsort(key[candidates], kind="stable")[:k]]  # smallest key first
        return Examples(
            indices=chosen,
            probs=self.probs[chosen, self.preds[chosen]],
            predicted=self.preds[chosen],
            actual=self.targets[chosen],
        )

    def _mask(self, correct: bool, actual: int | str | None) -> np.ndarray:
        mask = (self.preds == self.targets) == correct
        if actual is not None:
            index = self.classes.index(actual) if isinstance(actual, str) else actual
            mask &= self.targets == index
        return mask

    def most_confident_wrong(self, k: int = 4, actual: int | str | None = None) -> Examples:
        """The ``k`` wrong predictions made with the highest probability (optionally only
        examples whose true class is ``actual``, an index or a name)."""
        confidence = self.probs.max(axis=1)
        return self._select(self._mask(False, actual), -confidence, k)

    def most_confident_right(self, k: int = 4, actual: int | str | None = None) -> Examples:
        """The ``k`` right predictions made with the highest probability."""
        confidence = self.probs.max(axis=1)
        return self._select(self._mask(True, actual), -confidence, k)

    def most_uncertain(self, k: int = 4) -> Examples:
        """The ``k`` examples with the smallest margin between the two most probable classes;
        for a binary problem, the probability closest to 0.5."""
        top2 = np.sort(self.probs, axis=1)[:, -2:]  # (N, 2): second best, best
        margin = top2[:, 1] - top2[:, 0]
        return self._select(np.ones(len(margin), dtype=bool), margin, k)

"""The loaders a :class:`~course_utils.learner.Learner` trains on, bundled in one object.

Lesson 1 builds ``data`` for dogs vs cats and hands it to the learner; every
later lesson does the same with other data (image folders, multi-label CSVs,
tabular rows, text). Whatever made them, the learner only needs a training
loader, a validation loader and, for prediction, an optional test loader.
The 2018 course called this object ``ImageClassifierData`` / ``ModelData``,
with ``trn_dl`` and ``val_dl``; here the names are spelled out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch.utils.data import DataLoader

__all__ = ["DataLoaders"]


@dataclass
class DataLoaders:
    """Training, validation and (optional) test loaders, and the class names.

    Each loader yields ``(inputs, targets)`` batches; a test loader may yield
    inputs alone or ``(inputs, placeholder)`` pairs.
    """

    train_dl: DataLoader
    valid_dl: DataLoader
    test_dl: DataLoader | None = None
    classes: Sequence[str] | None = None  # label names; index i is class i
    is_multilabel: bool = False  # targets are 0/1 vectors, one column per class

    @property
    def c(self) -> int | None:
        """How many outputs the model's head needs: the number of classes, if known."""
        return None if self.classes is None else len(self.classes)

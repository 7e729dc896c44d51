"""``ImageData``: from a folder of images to the :class:`~course_utils.data.DataLoaders`
a :class:`~course_utils.learner.Learner` trains on.

Lesson 1::

    data = ImageData.from_paths(PATH, size=224, aug_tfms=transforms_side_on, max_zoom=1.1)
    learn = Learner(data, model)

Lesson 3 (Planet)::

    data = ImageData.from_csv(PATH, folder="train", csv_fname="labels.csv", size=64,
                              aug_tfms=transforms_top_down, max_zoom=1.05)

The training loader is shuffled (with a seeded generator: the same order every
run), the validation and test loaders are not. The datasets stay reachable,
``data.train_dl.dataset``, with their files (``.files[i]``) and classes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from course_utils.data import DataLoaders
from course_utils.profile import current_profile
from course_utils.vision.datasets import FileListDataset, ImageFolderDataset, MultiLabelDataset
from course_utils.vision.folders import (
    DatasetLayoutError,
    find_image_folders,
    list_images,
    read_csv_labels,
    split_indices,
)
from course_utils.vision.transforms import IMAGENET_STATS, tfms_from_stats, transforms_none

__all__ = ["ImageData", "default_num_workers", "make_loader", "stratified_subset"]


def default_num_workers() -> int:
    """How many loader processes decode and augment images beside training.

    0 when training on the CPU: measured on 2 cores (``benchmarks/bench_image_folder.py``
    and a ``Learner.fit`` epoch on the quick MNIST), 2 workers load images faster on
    their own but no faster while the training loop competes for the same cores, and
    0 keeps errors simple. With a GPU doing the training: up to 8, one core left over.
    """
    if current_profile().device() != "cuda":
        return 0
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def stratified_subset(
    labels: Sequence[int] | None, n: int, max_items: int, seed: int
) -> np.ndarray:
    """Sorted positions of at most ``max_items`` of ``n`` items, chosen at random with
    ``seed``, every class keeping its share (``labels`` None: plain random)."""
    if max_items >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if labels is None:
        return np.sort(rng.permutation(n)[:max_items])
    labels = np.asarray(labels)
    rank = np.empty(n)  # each item's place in a shuffled queue of its class, as a fraction
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        rank[members] = (np.arange(len(members)) + rng.random()) / len(members)
    # taking the smallest fractions takes the same share of every class
    return np.sort(np.argsort(rank, kind="stable")[:max_items])


def make_loader(
    ds, bs: int, shuffle: bool, num_workers: int, seed: int = 42, drop_last: bool = False
) -> DataLoader:
    """A DataLoader over ``ds``; a seeded shuffle, persistent workers when there are any."""
    return DataLoader(
        ds,
        batch_size=bs,
        shuffle=shuffle,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,  # no restart cost every epoch
        generator=torch.Generator().manual_seed(seed) if shuffle else None,
        drop_last=drop_last,
    )


def _check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _transforms(tfms, size: int, aug_tfms, max_zoom, convert_mode: str):
    if tfms is not None:
        if aug_tfms or max_zoom:
            raise ValueError("pass either tfms=(train, valid) or aug_tfms/max_zoom, not both")
        if not (isinstance(tfms, (tuple, list)) and len(tfms) == 2):
            raise ValueError("tfms must be a pair (train_tfms, valid_tfms) as from tfms_from_stats")
        return tfms
    stats = IMAGENET_STATS
    if convert_mode == "L":  # one channel: the mean of ImageNet's channel statistics
        stats = ([float(np.mean(stats[0]))], [float(np.mean(stats[1]))])
    return tfms_from_stats(stats, size, aug_tfms, max_zoom)


def _loaders(train_ds, valid_ds, test_ds, bs, num_workers, seed, multilabel) -> DataLoaders:
    if num_workers is None:
        num_workers = default_num_workers()
    # a last training batch of a single image would break BatchNorm (it needs 2 to train)
    drop_last = len(train_ds) % bs == 1 and len(train_ds) > 1
    return DataLoaders(
        train_dl=make_loader(train_ds, bs, True, num_workers, seed, drop_last),
        valid_dl=make_loader(valid_ds, bs, False, num_workers),
        test_dl=None if test_ds is None else make_loader(test_ds, bs, False, num_workers),
        classes=list(train_ds.classes),
        is_multilabel=multilabel,
    )


class ImageData:
    """Builds :class:`~course_utils.data.DataLoaders` of images (fastai's ``ImageClassifierData``).

    Transforms: pass ``tfms=(train_tfms, valid_tfms)`` from
    :func:`~course_utils.vision.transforms.tfms_from_stats`, or let ``size``,
    ``aug_tfms`` and ``max_zoom`` build them with the ImageNet statistics (``size``
    is used only then).
    ``max_items`` keeps a seeded random subset of the training images (each class
    keeps its share), as the quick profile does. ``num_workers=None``: see
    :func:`default_num_workers`.
    """

    @staticmethod
    def from_paths(
        path: str | Path,
        size: int = 224,
        bs: int = 64,
        tfms: tuple[Callable, Callable] | None = None,
        aug_tfms: Sequence[Callable] = transforms_none,
        max_zoom: float | None = None,
        trn_name: str = "train",
        val_name: str = "valid",
        test_name: str | None = None,
        num_workers: int | None = None,
        max_items: int | None = None,
        seed: int = 42,
        convert_mode: str = "RGB",
    ) -> DataLoaders:
        """Loaders for ``path/trn_name/<class>/``, ``path/val_name/<class>/`` and, with
        ``test_name``, the unlabelled ``path/test_name/`` (its batches are images alone)."""
        bs = _check_positive("bs", bs)
        train_tfms, valid_tfms = _transforms(tfms, size, aug_tfms, max_zoom, convert_mode)
        found = find_image_folders(path, trn_name, val_name, test_name)
        mode = {"convert_mode": convert_mode}
        train_ds = ImageFolderDataset(
            found.train_files, found.train_labels, found.classes, train_tfms, **mode
        )
        if max_items is not None:
            _check_positive("max_items", max_items)
            keep = stratified_subset(found.train_labels, len(train_ds), max_items, seed)
            train_ds = train_ds.subset(keep)
        valid_ds = ImageFolderDataset(
            found.valid_files, found.valid_labels, found.classes, valid_tfms, **mode
        )
        test_ds = None
        if found.test_files is not None:
            test_ds = FileListDataset(found.test_files, None, found.classes, valid_tfms, **mode)
        return _loaders(train_ds, valid_ds, test_ds, bs, num_workers, seed, multilabel=False)

    @staticmethod
    def from_csv(
        path: str | Path,
        folder: str = "train",
        csv_fname: str = "labels.csv",
        size: int = 224,
        bs: int = 64,
        tfms: tuple[Callable, Callable] | None = None,
        aug_tfms: Sequence[Callable] = transforms_none,
        max_zoom: float | None = None,
        valid_pct: float = 0.2,
        val_idxs: Sequence[int] | None = None,
        test_name: str | None = None,
        multilabel: bool | None = None,
        label_delim: str = " ",
        num_workers: int | None = None,
        max_items: int | None = None,
        seed: int = 42,
        convert_mode: str = "RGB",
    ) -> DataLoaders:
        """Loaders for images ``path/folder/<image>`` labelled by ``path/csv_fname``
        (``image_name,tags``; see :func:`~course_utils.vision.folders.read_csv_labels`).

        Validation: the rows at ``val_idxs`` (positions in the CSV, from 0), else a
        seeded random ``valid_pct`` of them. ``multilabel=None`` decides from the
        data, as fastai did: single-label if every row has exactly one tag (targets
        are class indices), multi-label otherwise (0/1 vectors, ``is_multilabel``).
        """
        bs = _check_positive("bs", bs)
        train_tfms, valid_tfms = _transforms(tfms, size, aug_tfms, max_zoom, convert_mode)
        labels = read_csv_labels(path, folder, csv_fname, label_delim=label_delim)
        one_tag = all(len(t) == 1 for t in labels.tags)
        if multilabel is None:
            multilabel = not one_tag
        elif not multilabel and not one_tag:
            counts = [len(t) for t in labels.tags]
            row = next(i for i, c in enumerate(counts) if c != 1) + 1
            raise DatasetLayoutError(
                f"multilabel=False needs exactly one tag per row of {csv_fname}; "
                f"row {row} has {counts[row - 1]}"
            )
        mode = {"convert_mode": convert_mode}
        if multilabel:
            full = MultiLabelDataset(labels.files, labels.targets(), labels.classes, **mode)
            strata = None
        else:
            index = {c: i for i, c in enumerate(labels.classes)}
            strata = [index[t[0]] for t in labels.tags]
            full = ImageFolderDataset(labels.files, strata, labels.classes, **mode)
        train_idx, valid_idx = split_indices(len(full), valid_pct, seed, val_idxs)
        if max_items is not None:
            _check_positive("max_items", max_items)
            sub = None if strata is None else [strata[i] for i in train_idx]
            train_idx = train_idx[stratified_subset(sub, len(train_idx), max_items, seed)]
        train_ds, valid_ds = full.subset(train_idx), full.subset(valid_idx)
        train_ds.transform, valid_ds.transform = train_tfms, valid_tfms
        test_ds = None
        if test_name:
            test_dir = Path(path) / test_name
            test_files = list_images(test_dir) if test_dir.is_dir() else []
            if not test_files:
                raise DatasetLayoutError(
                    f"no images in the test folder {test_dir} (expected PATH/{test_name}/<image>)"
                )
            test_ds = FileListDataset(test_files, None, labels.classes, valid_tfms, **mode)
        return _loaders(train_ds, valid_ds, test_ds, bs, num_workers, seed, multilabel)
